"""Known answers for the tension index, worked by hand."""

import numpy as np
import pandas as pd
import pytest

from model import tension_index


def rows(*items):
    """(date, p_conciliatory, p_neutral, p_hostile) tuples to scored rows."""
    return pd.DataFrame(items, columns=["date", "p_conciliatory", "p_neutral", "p_hostile"])


def test_all_hostile_is_100():
    t = tension_index(rows(("2025-10-10", 0, 0, 1), ("2025-10-10", 0, 0, 1)))
    assert t["tension"].tolist() == [100.0]
    assert t["share_hostile"].tolist() == [1.0]
    assert t["n_quotes"].tolist() == [2]


def test_all_conciliatory_is_0():
    t = tension_index(rows(("2025-10-10", 1, 0, 0), ("2025-10-10", 1, 0, 0)))
    assert t["tension"].tolist() == [0.0]
    assert t["share_conciliatory"].tolist() == [1.0]


def test_mixed_day_by_hand():
    # quote tensions: 50*(1+0.8-0.1)=85, 50*(1+0.0-0.6)=20, 50*(1+0.2-0.2)=50 -> mean 51.666...
    t = tension_index(rows(("2025-10-10", 0.1, 0.1, 0.8), ("2025-10-10", 0.6, 0.4, 0.0),
                           ("2025-10-10", 0.2, 0.6, 0.2)))
    assert t["tension"].iloc[0] == pytest.approx(155 / 3)
    assert t["share_hostile"].iloc[0] == pytest.approx(1 / 3)
    assert t["ci_low"].iloc[0] <= t["tension"].iloc[0] <= t["ci_high"].iloc[0]


def test_empty_day_kept_with_no_value():
    t = tension_index(rows(("2025-10-10", 0, 0, 1), ("2025-10-12", 1, 0, 0)))
    assert t["date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-10-10", "2025-10-11", "2025-10-12"]
    assert t["n_quotes"].tolist() == [1, 0, 1]
    assert np.isnan(t["tension"].iloc[1]) and np.isnan(t["ci_low"].iloc[1])


def test_single_quote_day_has_full_interval():
    t = tension_index(rows(("2025-10-10", 0, 0, 1)))
    assert (t["ci_low"].iloc[0], t["ci_high"].iloc[0]) == (0.0, 100.0)


def test_thin_days_have_wider_intervals():
    rng = np.random.default_rng(1)
    many = [("2025-10-10", *p) for p in rng.dirichlet([1, 1, 1], 200)]
    few = [("2025-10-11", *p) for p in rng.dirichlet([1, 1, 1], 4)]
    t = tension_index(rows(*many, *few))
    width = (t["ci_high"] - t["ci_low"]).tolist()
    assert width[1] > width[0]


def test_groups_share_the_date_range():
    df = rows(("2025-10-10", 0, 0, 1), ("2025-10-11", 1, 0, 0), ("2025-10-11", 0, 0, 1))
    df["actor"] = ["CHN", "USA", "CHN"]
    t = tension_index(df, by="actor")
    assert t.columns[0] == "actor"
    chn = t[t["actor"] == "CHN"]
    usa = t[t["actor"] == "USA"]
    assert chn["tension"].tolist() == [100.0, 100.0]
    assert usa["n_quotes"].tolist() == [0, 1] and usa["tension"].iloc[1] == 0.0


def test_dyad_is_unordered():
    df = rows(("2025-10-10", 0, 0, 1), ("2025-10-10", 1, 0, 0))
    df["actor"], df["target"] = ["CHN", "USA"], ["USA", "CHN"]
    t = tension_index(df, by="dyad")
    assert t["dyad"].tolist() == ["CHN-USA"] and t["tension"].tolist() == [50.0]


def test_unusable_rows_excluded():
    df = rows(("2025-10-10", 0, 0, 1), ("2025-10-10", 1, 0, 0), ("not a date", 1, 0, 0))
    df["status"] = ["ok", "empty_text", "bad_date"]
    t = tension_index(df)
    assert t["n_quotes"].tolist() == [1] and t["tension"].tolist() == [100.0]


@pytest.mark.parametrize("fmt", ["2025-10-10", "2025-10-10T08:30:00Z", "10 Oct 2025", "2025/10/10",
                                 "Oct 10, 2025 14:00"])
def test_date_formats(fmt):
    t = tension_index(rows((fmt, 0, 0, 1)))
    assert t["date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-10-10"]


def test_spike_flagged_against_trailing_baseline():
    calm = [(f"2025-10-{d:02d}", 0.5, 0.3, 0.2) for d in range(1, 11) for _ in range(3)]
    storm = [("2025-10-11", 0.0, 0.1, 0.9)] * 3
    t = tension_index(rows(*calm, *storm))
    assert t["spike"].tolist() == [False] * 10 + [True]
    assert t["baseline"].iloc[-1] == pytest.approx(35.0)


def test_smoothing_columns():
    t = tension_index(rows(("2025-10-10", 0, 0, 1), ("2025-10-11", 1, 0, 0)), smooth_window=2,
                      ewm_span=3)
    assert t["tension_smooth"].tolist() == [100.0, 50.0]
    assert "tension_ewm" in t


def test_weekly_frequency():
    t = tension_index(rows(("2025-10-06", 0, 0, 1), ("2025-10-08", 1, 0, 0)), freq="W")
    assert t["n_quotes"].tolist() == [2] and t["tension"].tolist() == [50.0]


@pytest.mark.parametrize("freq,first,n", [("W", "2025-10-12", 10), ("MS", "2025-10-01", 3),
                                          ("3D", "2025-10-10", 21)])
def test_every_quote_lands_in_a_period(freq, first, n):
    # partial first and last weeks or months are periods too; groups share them
    t = tension_index(rows(("2025-10-10", 0, 0, 1), ("2025-10-20", 1, 0, 0), ("2025-11-03", 0, 1, 0),
                           ("2025-12-02", 0, 0, 1), ("2025-12-09", 1, 0, 0)).assign(
        actor=list("ABABA")), freq=freq, by="actor")
    assert t.groupby("actor")["n_quotes"].sum().to_dict() == {"A": 3, "B": 2}
    assert t.groupby("actor").size().tolist() == [n, n]
    assert str(t["date"].iloc[0].date()) == first


def test_missing_columns_error():
    with pytest.raises(ValueError, match="p_hostile"):
        tension_index(pd.DataFrame({"date": ["2025-10-10"]}))


def test_thin_day_jump_is_not_a_spike():
    calm = [(f"2025-10-{d:02d}", 0.5, 0.3, 0.2) for d in range(1, 11) for _ in range(3)]
    lone = [("2025-10-11", 0.0, 0.1, 0.9), ("2025-10-11", 0.6, 0.2, 0.2)]  # wide interval
    t = tension_index(rows(*calm, *lone))
    assert t["tension"].iloc[-1] > t["baseline"].iloc[-1] + 10
    assert not t["spike"].iloc[-1]


def test_blank_group_cells_form_one_named_group():
    rows = pd.DataFrame({"date": ["2025-10-08"] * 4, "p_hostile": [1.0, 0, 0.5, 0.2],
                         "p_conciliatory": [0, 1.0, 0.2, 0.3], "actor": ["CHN", "", None, "USA"],
                         "target": ["USA", "CHN", "USA", " "]})
    by_actor = tension_index(rows, by="actor")
    assert dict(zip(by_actor["actor"], by_actor["n_quotes"])) == {"(unnamed)": 2, "CHN": 1, "USA": 1}
    by_dyad = tension_index(rows, by="dyad")
    assert set(by_dyad["dyad"]) == {"(unnamed)-CHN", "(unnamed)-USA", "CHN-USA"}


@pytest.mark.parametrize("freq", ["W", "MS", "3D"])
def test_quote_periods_match_the_index(freq):
    from model.index import quote_periods

    dates = pd.date_range("2025-09-03", "2025-11-20", freq="2D").strftime("%Y-%m-%d")
    rows = pd.DataFrame({"date": dates, "p_hostile": 0.5, "p_conciliatory": 0.2})
    counts = quote_periods(rows, freq=freq).value_counts()
    table = tension_index(rows, freq=freq).set_index("date")
    table = table[table["n_quotes"] > 0]
    assert counts.sort_index().tolist() == table["n_quotes"].tolist()
    assert list(counts.sort_index().index) == list(pd.to_datetime(table.index))


def test_weekly_spike_lists_the_quotes_of_its_week():
    from model.report import spike_quotes

    calm = [(d, "calm", 0.1, 0.6) for d in pd.date_range("2025-08-06", periods=6, freq="7D")
            for _ in range(2)]
    hot = [(pd.Timestamp("2025-09-17"), f"hot {i}", 0.95, 0.01) for i in range(3)]  # a Wednesday
    scored = pd.DataFrame(calm + hot, columns=["date", "text", "p_hostile", "p_conciliatory"])
    scored = scored.assign(date=scored["date"].dt.strftime("%Y-%m-%d"), p_neutral=0.0)
    index = tension_index(scored, freq="W")
    assert index["spike"].sum() == 1
    (week, quotes), = spike_quotes(scored, index, freq="W").items()
    assert str(week.date()) == "2025-09-21" and sorted(quotes["text"]) == ["hot 0", "hot 1", "hot 2"]


@pytest.mark.parametrize("dtype", ["category", "string", "Int64"])
def test_blank_groups_in_typed_columns(dtype):
    values = ["1", None, "2"] if dtype != "Int64" else [1, None, 2]
    rows = pd.DataFrame({"date": ["2025-10-08"] * 3, "p_hostile": [1.0, 0.0, 0.5],
                         "p_conciliatory": [0.0, 1.0, 0.2], "actor": pd.Series(values, dtype=dtype)})
    assert tension_index(rows, by="actor")["n_quotes"].tolist() == [1, 1, 1]


def test_spike_quotes_with_repeated_index_labels():
    from model.report import spike_quotes

    calm = pd.DataFrame({"date": pd.date_range("2025-09-01", periods=10).strftime("%Y-%m-%d"),
                         "text": "calm", "p_hostile": 0.1, "p_conciliatory": 0.6, "p_neutral": 0.3})
    hot = pd.DataFrame({"date": ["2025-09-11"] * 3, "text": ["a", "b", "c"], "p_hostile": 0.95,
                        "p_conciliatory": 0.01, "p_neutral": 0.04})
    scored = pd.concat([calm, calm.assign(text="calm too"), hot])  # labels 0-9 twice, then 0-2
    (day, quotes), = spike_quotes(scored, tension_index(scored)).items()
    assert str(day.date()) == "2025-09-11" and sorted(quotes["text"]) == ["a", "b", "c"]


@pytest.mark.parametrize("freq", ["0D", "-2W", "h", "2min", "M"])
def test_bad_frequencies_are_refused(freq):
    rows = pd.DataFrame({"date": ["2025-10-08"], "p_hostile": [1.0], "p_conciliatory": [0.0]})
    with pytest.raises(ValueError, match="freq|frequency"):
        tension_index(rows, freq=freq)
