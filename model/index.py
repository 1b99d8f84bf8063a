"""The per-day tension index: pure functions from scored quotes to a table.

For each period (and group), over the quotes scored with a usable date::

    tension = 50 * (1 + mean(p_hostile - p_conciliatory))

so 0 means every quote surely conciliatory, 50 balanced (or all neutral), 100 every quote surely
hostile. ``ci_low``/``ci_high`` are a percentile bootstrap interval of that mean (scipy); a period with a
single quote gets the whole range [0, 100], since one quote says nothing about the spread. Periods
without quotes are kept with ``n_quotes`` 0 and no value.

Spikes: a period is a spike when it has at least ``spike_min_quotes`` quotes, its trailing baseline (mean
tension of the previous ``spike_window`` periods that have a value, at least 3 of them) is known, its
whole confidence interval lies above that baseline (``ci_low > baseline``, so a thin day needs a far
larger jump than a crowded one), and it rises at least ``spike_min_rise`` points above it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import bootstrap

from .dates import parse_dates, shown_order
from .labels import LABELS, PROB_COLUMNS

INDEX_COLUMNS = ("date", "n_quotes", "tension", "ci_low", "ci_high", "share_hostile",
                 "share_conciliatory")
USABLE_STATUSES = ("ok", "truncated")


def quote_tension(scored: pd.DataFrame) -> pd.Series:
    """Each quote's tension on the 0-100 scale: ``50 * (1 + p_hostile - p_conciliatory)``."""
    return 50.0 * (1.0 + scored["p_hostile"].astype(float) - scored["p_conciliatory"].astype(float))


def tension_index(
    scored: pd.DataFrame,
    *,
    by: str | Sequence[str] | None = None,
    freq: str = "D",
    date_col: str = "date",
    confidence: float = 0.95,
    n_resamples: int = 1000,
    smooth_window: int | None = 7,
    ewm_span: float | None = None,
    spike_window: int = 14,
    spike_min_rise: float = 10.0,
    spike_min_quotes: int = 2,
    seed: int = 0,
    dayfirst: bool | None = None,
) -> pd.DataFrame:
    """Tension per period (and per group) from scored quotes.

    Args:
        scored: rows with ``p_hostile``, ``p_conciliatory``, a date column and optionally ``status``
            (only ``ok`` and ``truncated`` rows count) and ``label``.
        by: a column, a list of columns, or ``"dyad"`` (``actor`` and ``target`` as an unordered
            pair, e.g. ``CHN-USA``), to get one series per group; blank or missing cells form
            one group named ``"(unnamed)"``.
        freq: a pandas period alias: ``"D"`` days, ``"W"`` weeks, ``"MS"`` months.
        smooth_window: trailing mean over this many periods as ``tension_smooth`` (None: off).
        ewm_span: exponentially weighted mean as ``tension_ewm`` (None: off).
        dayfirst: the order of numeric dates like ``03/04/2025`` (None: as the column shows it,
            else month-first; :func:`model.dates.parse_dates`). A time-zone offset is dropped: a
            quote counts on the day it was written where it was said.

    Returns:
        One row per period (per group): ``date``, ``n_quotes``, ``tension``, ``ci_low``,
        ``ci_high``, ``share_hostile``, ``share_conciliatory``, the smoothing columns, ``baseline``
        and ``spike``; the group columns first when ``by`` is given.

    Example:
        >>> rows = pd.DataFrame({"date": ["2025-10-10"], "p_hostile": [1.0], "p_conciliatory": [0.0]})
        >>> float(tension_index(rows)["tension"].iloc[0])
        100.0
    """
    check_freq(freq)
    frame = _usable(scored, date_col, dayfirst)
    keys = _group_keys(frame, by)
    # every group gets the same periods, labelled as pandas bins them (a month by its first day, a week by
    # its last), from the first dated quote's bin to the last one's
    bins = _bins(freq, frame)
    periods = (frame.set_index("_period").resample(freq, **bins).size().index if len(frame)
               else pd.DatetimeIndex([]))
    tables = []
    groups = frame.groupby(keys, sort=True, dropna=False) if keys else [((), frame)]
    for key, rows in groups:
        table = _series(rows, periods, pd.Grouper(freq=freq, **bins), confidence, n_resamples,
                        seed)
        table = _add_smoothing(table, smooth_window, ewm_span)
        table = _add_spikes(table, spike_window, spike_min_rise, spike_min_quotes)
        key = key if isinstance(key, tuple) else (key,)
        for col, value in zip(keys, key):
            table.insert(keys.index(col), col, value)
        tables.append(table)
    if not tables:
        return pd.DataFrame(columns=[*keys, *INDEX_COLUMNS])
    return pd.concat(tables, ignore_index=True)


def quote_periods(scored: pd.DataFrame, *, freq: str = "D", date_col: str = "date",
                  dayfirst: bool | None = None) -> pd.Series:
    """The period each counted quote falls in, labelled as :func:`tension_index` labels it.

    Indexed like ``scored``; rows the index leaves out (unusable status, no date) are not in it.

    Example:
        >>> rows = pd.DataFrame({"date": ["2025-10-08"], "p_hostile": [1.0], "p_conciliatory": [0.0]})
        >>> str(quote_periods(rows, freq="W").iloc[0].date())
        '2025-10-12'
    """
    # positions, not labels, so that a frame with repeated index labels (a concat) works too
    frame = _usable(scored.reset_index(drop=True), date_col, dayfirst)
    grouper = pd.Grouper(key="_period", freq=freq, **_bins(freq, frame))
    periods = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    for label, rows in frame.groupby(grouper):
        periods[rows.index] = label
    periods.index = scored.index[periods.index.to_numpy()]
    return periods


def check_freq(freq: str) -> None:
    """A period of a day or longer, as a pandas offset alias ("D", "W", "MS", "3D"); else ValueError.

    Example:
        >>> check_freq("h")
        Traceback (most recent call last):
        ValueError: freq 'h' is shorter than a day; the index counts days, weeks or months
    """
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        raise ValueError(f"{freq!r} is not a pandas frequency; use D, W or MS (months)") from None
    if offset.n < 1:
        raise ValueError(f"freq {freq!r} must count forward (1 or more periods)")
    if isinstance(offset, pd.offsets.Tick) and pd.Timedelta(offset) < pd.Timedelta(days=1):
        raise ValueError(f"freq {freq!r} is shorter than a day; the index counts days, weeks or months")


def _bins(freq: str, frame: pd.DataFrame) -> dict:
    """Bins of multi-day ticks ("3D") start at the first date, for every group alike."""
    offset = pd.tseries.frequencies.to_offset(freq)
    tick = isinstance(offset, (pd.offsets.Tick, pd.offsets.Day))  # pandas 3: Day is no Tick
    return {"origin": frame["_period"].min()} if tick and len(frame) else {}


def _usable(scored: pd.DataFrame, date_col: str, dayfirst: bool | None = None) -> pd.DataFrame:
    missing = {date_col, "p_hostile", "p_conciliatory"} - set(scored.columns)
    if missing:
        raise ValueError(f"scored rows lack column(s): {', '.join(sorted(missing))}")
    # the day order comes from the whole column, as `detente score` read it, before rows are dropped
    if dayfirst is None:
        dayfirst = bool(shown_order(scored[date_col]))
    frame = scored.copy()
    if "status" in frame:
        frame = frame[frame["status"].isin(USABLE_STATUSES)]
    frame["_period"] = parse_dates(frame[date_col], dayfirst).dt.normalize()
    frame = frame[frame["_period"].notna() & frame["p_hostile"].notna()]
    frame["_tension"] = quote_tension(frame)
    return frame


def _group_keys(frame: pd.DataFrame, by) -> list[str]:
    if by is None:
        return []
    if by == "dyad" and "dyad" not in frame.columns:
        if not {"actor", "target"} <= set(frame.columns):
            raise ValueError("by='dyad' needs 'actor' and 'target' columns")
        pair = frame[["actor", "target"]].apply(_named).astype(str)
        frame["dyad"] = [("-".join(sorted(p))) for p in pair.itertuples(index=False)]
    keys = [by] if isinstance(by, str) else list(by)
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise ValueError(f"no column {missing[0]!r} to group by")
    for key in keys:
        frame[key] = _named(frame[key])
    return keys


UNNAMED = "(unnamed)"  # the group of rows whose group cell is blank or missing


def _named(values: pd.Series) -> pd.Series:
    """Blank, whitespace and missing cells as one group, :data:`UNNAMED`, rather than "", None and NaN."""
    text = values.astype("string").str.strip()
    # object first: a categorical or nullable column would refuse a value it does not hold
    return values.astype(object).where((text.notna() & text.ne("")).to_numpy(bool), UNNAMED)


def _series(rows: pd.DataFrame, periods: pd.DatetimeIndex, grouper: pd.Grouper, confidence: float,
            n_resamples: int, seed: int) -> pd.DataFrame:
    """One group's table over every period in range, empty periods included."""
    label = rows["label"] if "label" in rows else _argmax_label(rows)
    rows = rows.assign(_hostile=label.eq("hostile"), _concil=label.eq("conciliatory"))
    grouped = rows.set_index("_period").groupby(grouper)
    stats = grouped.agg(n_quotes=("_tension", "size"), tension=("_tension", "mean"),
                        share_hostile=("_hostile", "mean"), share_conciliatory=("_concil", "mean"))
    intervals = {p: _interval(g["_tension"].to_numpy(), confidence, n_resamples, seed)
                 for p, g in grouped if len(g)}
    stats = stats.reindex(periods) if len(periods) else stats
    stats["n_quotes"] = stats["n_quotes"].fillna(0).astype(int)
    stats["ci_low"] = [intervals.get(p, (np.nan, np.nan))[0] for p in stats.index]
    stats["ci_high"] = [intervals.get(p, (np.nan, np.nan))[1] for p in stats.index]
    stats.index.name = "date"
    return stats.reset_index()[list(INDEX_COLUMNS)]


def _argmax_label(rows: pd.DataFrame) -> pd.Series:
    cols = dict(zip(PROB_COLUMNS, LABELS))
    present = [c for c in cols if c in rows]
    return rows[present].astype(float).idxmax(axis=1).map(cols)


def _interval(values: np.ndarray, confidence: float, n_resamples: int, seed: int) -> tuple[float, float]:
    if len(values) < 2:
        return 0.0, 100.0
    if np.ptp(values) == 0:
        return float(values[0]), float(values[0])
    res = bootstrap((values,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                    method="percentile", rng=np.random.default_rng(seed), vectorized=True)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _add_smoothing(table: pd.DataFrame, window: int | None, span: float | None) -> pd.DataFrame:
    if window:
        table["tension_smooth"] = table["tension"].rolling(window, min_periods=1).mean()
    if span:
        table["tension_ewm"] = table["tension"].ewm(span=span, ignore_na=True).mean()
    return table


def _add_spikes(table: pd.DataFrame, window: int, min_rise: float, min_quotes: int) -> pd.DataFrame:
    table["baseline"] = table["tension"].shift(1).rolling(window, min_periods=3).mean()
    rise = table["tension"] - table["baseline"]
    table["spike"] = ((table["n_quotes"] >= min_quotes) & (table["ci_low"] > table["baseline"])
                      & (rise >= min_rise))
    return table
