"""Batch scoring of a quote file: every input row comes out once, in order, with a status.

Run: ``detente score quotes.csv -o scored.csv``. Statuses, in order of precedence:
``empty_text`` (not scored), ``bad_date`` (scored, date unreadable), ``no_date`` (scored, date blank),
``truncated`` (scored on its first ``max_length`` tokens), ``ok``.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .io import ChunkWriter, InputError, Rejects, find_column, read_chunks, write_rejects
from .dates import DateOrder, parse_dates
from .io import DATE_NAMES, TEXT_NAMES, detect_format
from .labels import LABELS, PROB_COLUMNS
from .loader import Classifier, load_model
from .predict import DEFAULT_BATCH_SIZE, predict_proba

STATUSES = ("ok", "truncated", "no_date", "bad_date", "empty_text")
OUTPUT_COLUMNS = ("label", *PROB_COLUMNS, "status")
DEFAULT_CHUNK_SIZE = 4096


@dataclass
class ScoreSummary:
    """What a scoring run read, scored and set aside."""

    read: int = 0
    scored: int = 0
    statuses: Counter = field(default_factory=Counter)
    rejected: int = 0
    rejects_path: str | None = None

    def __str__(self) -> str:
        counts = ", ".join(f"{s} {self.statuses[s]}" for s in STATUSES if self.statuses[s])
        text = f"read {self.read} rows, scored {self.scored}" + (f" ({counts})" if counts else "")
        return text + (f"; {self.rejected} malformed lines set aside in {self.rejects_path}"
                       if self.rejected else "")


def score_frame(frame: pd.DataFrame, text_col: str, date_col: str | None, clf: Classifier,
                batch_size: int = DEFAULT_BATCH_SIZE, dayfirst: bool | None = None) -> pd.DataFrame:
    """Score one chunk: the input columns (renamed ``input_*`` on a clash) plus the output columns.

    ``dayfirst`` decides whether a date such as ``03/04/2025`` is readable (``bad_date`` if not): see
    :func:`model.dates.parse_dates`.

    Example:
        >>> score_frame(pd.DataFrame({"text": ["We welcome this."]}), "text", None, clf)  # doctest: +SKIP
    """
    raw = frame[text_col]
    texts = raw.where(raw.notna(), "").astype(str)
    empty = texts.str.strip().eq("").to_numpy()
    status = np.full(len(frame), "ok", dtype=object)
    probs = np.full((len(frame), len(LABELS)), np.nan)
    keep = np.flatnonzero(~empty)
    if len(keep):
        p, truncated = predict_proba(texts.iloc[keep].tolist(), model=clf, batch_size=batch_size)
        probs[keep] = p
        status[keep[truncated]] = "truncated"
    if date_col is not None:
        cell = frame[date_col]
        blank = (cell.isna() | cell.astype(str).str.strip().eq("")).to_numpy()
        bad = parse_dates(cell, dayfirst).isna().to_numpy() & ~blank
        status[blank] = "no_date"
        status[bad] = "bad_date"
    status[empty] = "empty_text"
    out = frame.rename(columns=_renames(list(frame.columns)))
    labels = np.array(LABELS, dtype=object)[np.nan_to_num(probs, nan=-1).argmax(1)]
    out["label"] = np.where(empty, None, labels)
    for i, col in enumerate(PROB_COLUMNS):
        out[col] = probs[:, i]
    out["status"] = status
    return out


def _renames(columns: list) -> dict:
    """Input columns that clash with an output column: ``label`` -> ``input_label`` (or
    ``input_input_label`` if the file already has an ``input_label``)."""
    taken, renames = set(columns), {}
    for c in columns:
        if c in OUTPUT_COLUMNS:
            name = f"input_{c}"
            while name in taken:
                name = f"input_{name}"
            renames[c] = name
            taken.add(name)
    return renames


def score_file(input_path: str, output_path: str, *, model: Classifier | None = None,
               text_col: str | None = None, date_col: str | None = None,
               input_format: str | None = None, output_format: str | None = None,
               encoding: str = "utf-8", on_bad_lines: str = "error", rejects_path: str | None = None,
               chunk_size: int = DEFAULT_CHUNK_SIZE, batch_size: int = DEFAULT_BATCH_SIZE,
               dayfirst: bool | None = None, progress: bool | None = None) -> ScoreSummary:
    """Score a CSV/JSONL/Parquet file chunk by chunk and write it atomically.

    Args:
        input_path, output_path: files (format by extension) or ``-`` for stdin/stdout.
        text_col, date_col: column names; found by common names when None. Every input column
            is written out, so an id column comes out as it went in.
        on_bad_lines: ``"error"`` stops at a malformed line; ``"skip"`` sets it aside in
            ``rejects_path`` (default: ``OUTPUT.rejects.csv``) and counts it.
        dayfirst: the order of numeric dates like ``03/04/2025``; None takes the order the file
            shows (the first chunk that shows one decides, and a file showing both is an error),
            else month-first. ``detente index`` must read the scored file the same way.
        progress: a progress bar on stderr; default when stderr is a terminal.

    Returns:
        A :class:`ScoreSummary`.

    Raises:
        InputError: unreadable input, no text column, a malformed line, bad bytes, an empty file.

    Example:
        >>> print(score_file("data/samples/quotes.csv", "scored.csv"))  # doctest: +SKIP
        read 240 rows, scored 240 (ok 240)
    """
    clf = model if model is not None else load_model()
    rejects = Rejects([])
    order = DateOrder(dayfirst)
    summary = ScoreSummary()
    writer = None
    bar = _progress(progress)
    try:
        chunks = read_chunks(input_path, fmt=input_format, chunk_size=chunk_size, encoding=encoding,
                             on_bad_lines=on_bad_lines, rejects=rejects)
        for chunk in chunks:
            if writer is None:
                cols = [str(c) for c in chunk.columns]
                text_col = find_column(cols, text_col, TEXT_NAMES, "text", input_path, True)
                date_col = find_column(cols, date_col, DATE_NAMES, "date", input_path, False)
                writer = ChunkWriter(output_path, output_format or _stdio_format(
                    input_path, output_path, input_format))
            try:
                chunk_order = order.resolve(chunk[date_col]) if date_col is not None else None
            except InputError as e:
                raise InputError(e.message, path=input_path) from None
            scored = score_frame(chunk, text_col, date_col, clf, batch_size, chunk_order)
            writer.write(scored)
            summary.read += len(chunk)
            summary.statuses.update(scored["status"])
            bar.update(len(chunk))
        summary.scored = summary.read - summary.statuses["empty_text"]
        summary.rejected = len(rejects.rows)
        if rejects.rows:
            summary.rejects_path = rejects_path or _rejects_default(output_path)
            write_rejects(rejects, summary.rejects_path)
        writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        bar.close()
    return summary


def _stdio_format(input_path: str, output_path: str, input_format: str | None) -> str | None:
    """Writing to stdout: keep JSONL if the input was JSONL (by ``--format`` or extension), else CSV."""
    if output_path != "-":
        return None
    return "jsonl" if detect_format(input_path, input_format) == "jsonl" else "csv"


def _rejects_default(output_path: str) -> str:
    return "rejects.csv" if output_path == "-" else f"{output_path}.rejects.csv"


def _progress(enabled: bool | None):
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(unit=" rows", disable=not enabled, file=sys.stderr, desc="scoring")


__all__ = ["score_file", "score_frame", "ScoreSummary", "InputError", "STATUSES"]
