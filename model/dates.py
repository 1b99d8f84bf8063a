"""Reading a quote file's dates: one day order per file, and the day as written.

Two things a per-value parser gets wrong. Numeric dates such as ``03/04/2025`` are day-first in most of
the world and month-first in the US; read value by value, ``15/09/2025`` comes out as 15 September and
``03/04/2025`` as 4 March in the same column, both with status ``ok``. Here one order holds for a whole
file: the one asked for (``dayfirst``), else the one the file shows (a first number over 12 means
day-first, a second number over 12 month-first), else month-first, pandas' own default. A file that
shows both orders is an error that names an example of each. And a time-zone offset is dropped, not
converted: a remark made at 23:30 in New York belongs to that day, not to the next day in UTC.
"""

from __future__ import annotations

import pandas as pd

from .io import InputError

# day/month/year or month/day/year with / . or - between, then the end, a space, a T or a comma
_NUMERIC = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4}|\d{2})(?=$|[\sT,])"
# an offset or zone name right after a clock time: 23:30Z, 23:30:00-05:00, 11:30 PM +0530, 11:30 UTC
_OFFSET = (r"(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:\s*[AaPp]\.?[Mm]\.?)?)"
           r"\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$")


def shown_order(values: pd.Series) -> bool | None:
    """True if the column's numeric dates can only be day-first, False if only month-first, None if
    every one reads both ways (or there are none).

    Raises:
        InputError: the column holds both (``15/09/2025`` and ``09/15/2025``).

    Example:
        >>> shown_order(pd.Series(["03/04/2025", "15/09/2025"]))
        True
    """
    return _order(values, _numeric_parts(_text(values)))


def _numeric_parts(text: pd.Series) -> pd.DataFrame:
    """Columns 0-3: the first number, the second, the year and the rest of each numeric date (else NA)."""
    return text.str.extract(_NUMERIC + r"((?s:.*))$")


def _order(values: pd.Series, parts: pd.DataFrame) -> bool | None:
    first, second = pd.to_numeric(parts[0]), pd.to_numeric(parts[1])
    # a value with both numbers over 12 fits neither order: it is unreadable, not evidence
    day_first = values[((first > 12) & (second <= 12)).fillna(False).to_numpy(bool)]
    month_first = values[((second > 12) & (first <= 12)).fillna(False).to_numpy(bool)]
    if len(day_first) and len(month_first):
        raise InputError(f"the dates mix day-first ({day_first.iloc[0]!r}) and month-first "
                         f"({month_first.iloc[0]!r}) order; pass --dayfirst or --monthfirst "
                         "(dates that do not fit it get status bad_date)")
    return True if len(day_first) else False if len(month_first) else None


class DateOrder:
    """The day order of one file read in chunks: decided by the first chunk that shows one, then kept.

    A chunk that shows the other order raises :class:`InputError`, as does a day-first chunk after
    ambiguous dates were already read month-first (output is written atomically, so nothing half-done
    is left; ``--dayfirst`` reads the file).

    Example:
        >>> order = DateOrder()
        >>> order.resolve(pd.Series(["25/12/2025"]))
        True
    """

    def __init__(self, dayfirst: bool | None = None) -> None:
        self.dayfirst, self.given, self.assumed = dayfirst, dayfirst is not None, False

    def resolve(self, values: pd.Series) -> bool:
        if self.given:
            return bool(self.dayfirst)
        parts = _numeric_parts(_text(values))
        shown = _order(values, parts)
        if shown is None:
            self.assumed |= self.dayfirst is None and bool(parts[0].notna().any())
            return bool(self.dayfirst)
        if self.dayfirst is not None and shown != self.dayfirst or shown and self.assumed:
            raise InputError("later dates are day-first, earlier ones were read month-first; pass "
                             "--dayfirst or --monthfirst")
        self.dayfirst = shown
        return shown


def parse_dates(values: pd.Series, dayfirst: bool | None = None) -> pd.Series:
    """Naive timestamps of the dates as written; unreadable values become NaT.

    Args:
        values: strings, dates or timestamps (time-zone aware ones keep their local wall time).
        dayfirst: the order of numeric dates like ``03/04/2025``; None reads it off the values
            (:func:`shown_order`), month-first when they do not tell.

    Example:
        >>> parse_dates(pd.Series(["15/09/2025", "03/04/2025", "2025-09-16T23:30:00-05:00"])).dt.day.tolist()
        [15, 3, 16]
    """
    text = _text(values).str.replace(_OFFSET, r"\1", regex=True, case=False)
    parts = _numeric_parts(text)  # the offset is at the end: the numbers are the ones shown_order reads
    if dayfirst is None:
        dayfirst = bool(_order(values, parts))
    numeric = parts[0].notna()
    if numeric.any():
        day, month = (parts[0], parts[1]) if dayfirst else (parts[1], parts[0])
        year = parts[2].where(parts[2].str.len() == 4,
                              parts[2].map(lambda y: f"{20 if int(y) < 69 else 19}{y}", na_action="ignore"))
        iso = year + "-" + month.str.zfill(2) + "-" + day.str.zfill(2)
        text = text.where(~numeric, iso + parts[3])
    # every value now reads one way; "mixed" takes the rest (ISO, "15 September 2025", "Sep 15, 2025");
    # utc=True only keeps one dtype if an offset the pattern missed is left: naive values stay as written
    return pd.to_datetime(text, errors="coerce", format="mixed", utc=True).dt.tz_convert(None)


def _text(values: pd.Series) -> pd.Series:
    return values.astype("string").str.strip()
