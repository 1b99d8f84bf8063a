"""Dates as a reader means them: one day order per file, the day as written, clear errors."""

import pandas as pd
import pytest

from model.dates import DateOrder, parse_dates
from model.io import InputError


def days(values, **kw):
    return [None if pd.isna(t) else str(t.date()) for t in parse_dates(pd.Series(values), **kw)]


def test_one_order_for_the_whole_column():
    # read value by value, 03/04 would be month-first beside a day-first 15/09
    assert days(["15/09/2025", "03/04/2025"]) == ["2025-09-15", "2025-04-03"]
    assert days(["09/15/2025", "03/04/2025"]) == ["2025-09-15", "2025-03-04"]
    assert days(["03/04/2025"]) == ["2025-03-04"]  # nothing tells: month-first, as pandas reads it
    assert days(["03.04.25", "3-4-2025"], dayfirst=True) == ["2025-04-03", "2025-04-03"]


def test_a_date_against_the_chosen_order_is_unreadable():
    assert days(["09/15/2025", "03/04/2025"], dayfirst=True) == [None, "2025-04-03"]


def test_both_orders_in_one_column_is_an_error():
    with pytest.raises(InputError, match="mix day-first .*15/09/2025.* month-first .*09/15/2025"):
        parse_dates(pd.Series(["15/09/2025", "09/15/2025"]))


def test_the_day_is_the_day_written_not_utc():
    assert days(["2025-09-16T23:30:00-05:00", "2025-09-16 23:30Z", "2025-09-16 23:30 +0530",
                 "2025-09-17T00:30:00+02:00"]) == ["2025-09-16"] * 3 + ["2025-09-17"]
    aware = pd.Series(pd.to_datetime(["2025-09-16 23:30"]).tz_localize("America/New_York"))
    assert days(aware) == ["2025-09-16"]


def test_other_formats_still_read():
    assert days(["2025-09-16", "16 September 2025", "Sep 16, 2025", "2025/09/16", "", None, "soon"]) \
        == ["2025-09-16"] * 4 + [None, None, None]


def test_chunks_keep_the_first_order_shown():
    order = DateOrder()
    assert order.resolve(pd.Series(["2025-01-01"])) is False  # nothing shown yet
    assert order.resolve(pd.Series(["25/12/2025"])) is True
    assert order.resolve(pd.Series(["03/04/2025"])) is True
    with pytest.raises(InputError, match="--dayfirst"):
        order.resolve(pd.Series(["12/25/2025"]))


def test_day_first_after_dates_read_month_first_is_an_error():
    order = DateOrder()
    order.resolve(pd.Series(["03/04/2025"]))
    with pytest.raises(InputError, match="earlier ones were read month-first"):
        order.resolve(pd.Series(["25/12/2025"]))
    assert DateOrder(dayfirst=False).resolve(pd.Series(["25/12/2025"])) is False  # as asked


def test_offsets_after_am_pm_are_dropped_too():
    assert days(["2025-09-16 11:30 PM -05:00", "09/16/2025 11:30 p.m. +0200"]) == ["2025-09-16"] * 2


def test_index_reads_the_order_from_every_row_as_score_does():
    from model.index import tension_index

    # the only day-first date sits on a row the index drops (empty text); score saw it, so must index
    scored = pd.DataFrame({"date": ["15/09/2025", "03/04/2025"], "status": ["empty_text", "ok"],
                           "p_hostile": [None, 0.9], "p_conciliatory": [None, 0.05]})
    assert str(tension_index(scored)["date"].iloc[0])[:10] == "2025-04-03"
