"""The chart (PNG) and the self-contained HTML report of a tension index.

The report embeds its chart as a base64 PNG and its styles inline, so it opens offline with no
external URL.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import pandas as pd

from .dates import parse_dates
from .io import atomic_write
from .labels import PROB_COLUMNS

TOP_QUOTES = 5  # quotes shown for each spike
CSS = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:13px;margin-bottom:1.5em}td,th{border-bottom:1px solid #ddd;
padding:3px 8px;text-align:left}img{max-width:100%}.hostile{color:#b00}.conciliatory{color:#070}"""


def plot_index(index: pd.DataFrame, path: str | Path | None = None, *, title: str = "Tension index",
               smooth_label: str = "trailing mean"):
    """Draw the tension line with its confidence band, quote counts as bars, spikes as red dots.

    Returns the PNG bytes; also writes them to ``path`` when given.

    Example:
        >>> png = plot_index(tension_index(scored))  # doctest: +SKIP
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax_n) = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True,
                                   gridspec_kw={"height_ratios": [3, 1]})
    dates = pd.to_datetime(index["date"])
    ax.fill_between(dates, index["ci_low"], index["ci_high"], alpha=0.25, color="tab:blue",
                    label="95% interval", step=None)
    ax.plot(dates, index["tension"], marker=".", color="tab:blue", label="tension")
    if "tension_smooth" in index:
        ax.plot(dates, index["tension_smooth"], color="tab:gray", lw=1, ls="--", label=smooth_label)
    spikes = index[index.get("spike", pd.Series(False, index=index.index)).fillna(False).astype(bool)]
    ax.scatter(pd.to_datetime(spikes["date"]), spikes["tension"], color="tab:red", zorder=5,
               label="spike")
    ax.axhline(50, color="black", lw=0.5)
    ax.set_ylim(0, 100)
    ax.set_ylabel("tension (0-100)")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    # bar width in days (matplotlib's date unit): most of one period, so weeks and months read as such
    step = dates.diff().median() if len(dates) > 1 else pd.NaT
    width = 0.8 * (step / pd.Timedelta(days=1) if pd.notna(step) else 1.0)
    ax_n.bar(dates, index["n_quotes"], width=width, color="tab:gray")
    ax_n.set_ylabel("quotes")
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    png = buf.getvalue()
    if path is not None:
        atomic_write(path, png)
    return png


def spike_quotes(scored: pd.DataFrame, index: pd.DataFrame, *, date_col: str = "date",
                 text_col: str = "text", top: int = TOP_QUOTES, freq: str = "D",
                 dayfirst: bool | None = None) -> dict[pd.Timestamp, pd.DataFrame]:
    """For each spike period, the quotes that pushed it up most (highest p_hostile - p_conciliatory).

    Only the rows the index counted (status ``ok`` or ``truncated``, when there is a status) are shown;
    a week or a month collects every quote inside it, as :func:`model.index.quote_periods` bins them.

    Example:
        >>> spike_quotes(scored, tension_index(scored))  # doctest: +SKIP
        {Timestamp('2025-10-10 00:00:00'): <DataFrame of up to 5 quotes>}
    """
    from .index import quote_periods

    scored = scored.reset_index(drop=True)  # positions: repeated index labels (a concat) are fine
    periods = quote_periods(scored, freq=freq, date_col=date_col, dayfirst=dayfirst)
    counted = scored.loc[periods.index]
    push = counted["p_hostile"].astype(float) - counted["p_conciliatory"].astype(float)
    out = {}
    for period in pd.to_datetime(index.loc[index["spike"].fillna(False).astype(bool), "date"]):
        rows = counted[periods == period].assign(_push=push[periods == period])
        out[period] = rows.sort_values("_push", ascending=False).head(top)
    return out


def render_report(scored: pd.DataFrame, index: pd.DataFrame, path: str | Path, *,
                  text_col: str = "text", date_col: str = "date", title: str = "Tension report",
                  smooth_label: str = "trailing mean", freq: str = "D",
                  dayfirst: bool | None = None) -> None:
    """Write one self-contained HTML file: chart, spikes with their quotes, the daily table.

    ``scored`` may come straight from a file: the probability columns are read as numbers. ``freq``
    and ``dayfirst`` must be those ``index`` was built with, so that each spike finds its quotes.

    Example:
        >>> render_report(scored, tension_index(scored), "out/report.html")  # doctest: +SKIP
    """
    scored = scored.assign(**{c: pd.to_numeric(scored[c], errors="coerce")
                              for c in PROB_COLUMNS if c in scored})
    png = base64.b64encode(plot_index(index, title=title, smooth_label=smooth_label)).decode("ascii")
    esc = html.escape
    unit = period_unit(freq)
    parts = [f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{esc(title)}</title>",
             f"<style>{CSS}</style></head><body><h1>{esc(title)}</h1>",
             _summary(scored, index, unit),
             f"<img id='chart' alt='tension chart' src='data:image/png;base64,{png}'>",
             "<h2>Spikes and the quotes that drove them</h2>"]
    spikes = spike_quotes(scored, index, date_col=date_col, text_col=text_col, freq=freq,
                          dayfirst=dayfirst)
    if not spikes:
        parts.append(f"<p>No {unit} stood out from its trailing baseline.</p>")
    for day, rows in spikes.items():
        row = index[pd.to_datetime(index["date"]) == day].iloc[0]
        parts.append(f"<h3>{day:%Y-%m-%d}: tension {row['tension']:.1f} (baseline "
                     f"{row['baseline']:.1f}, {int(row['n_quotes'])} quotes)</h3><table><tr>"
                     "<th>speaker</th><th>quote</th><th>label</th><th>p(conc.)</th><th>p(neutral)</th>"
                     "<th>p(hostile)</th></tr>")
        for _, q in rows.iterrows():
            speaker = q.get("speaker", q.get("actor", ""))
            parts.append(f"<tr><td>{esc(str(speaker))}</td><td>{esc(str(q[text_col]))}</td>"
                         f"<td class='{esc(str(q['label']))}'>{esc(str(q['label']))}</td>"
                         f"<td>{q['p_conciliatory']:.2f}</td><td>{q['p_neutral']:.2f}</td>"
                         f"<td>{q['p_hostile']:.2f}</td></tr>")
        parts.append("</table>")
    parts.append(f"<h2>The index, {unit} by {unit}</h2>")
    parts.append(_daily_table(index))
    parts.append("</body></html>")
    atomic_write(path, "\n".join(parts))


def period_unit(freq: str) -> str:
    """A word for one period of a pandas frequency: "day", "week", "month", else "period"."""
    return {"D": "day", "W": "week", "MS": "month", "ME": "month"}.get(freq, "period")


def _summary(scored: pd.DataFrame, index: pd.DataFrame, unit: str) -> str:
    valued = index[index["n_quotes"] > 0]
    return (f"<p>{len(scored)} quotes, {int(valued['n_quotes'].sum())} dated and scored, over "
            f"{len(index)} {unit}s ({len(index) - len(valued)} without quotes). Tension runs from 0 (all "
            "conciliatory) through 50 (balanced) to 100 (all hostile).</p>")


def _daily_table(index: pd.DataFrame) -> str:
    cols = [c for c in ("date", "n_quotes", "tension", "ci_low", "ci_high", "share_hostile",
                        "share_conciliatory", "tension_smooth", "spike") if c in index]
    table = index[cols].copy()
    table["date"] = pd.to_datetime(table["date"]).dt.strftime("%Y-%m-%d")
    return table.to_html(index=False, float_format=lambda x: f"{x:.2f}", na_rep="", border=0)
