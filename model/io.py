"""Reading and writing quote files in chunks: CSV, JSONL and Parquet, by extension or ``-`` for stdio.

Every problem in a user's file becomes an :class:`InputError` naming the file, line and column, which the
CLI prints as one line with exit code 2. Outputs are written to a temporary file beside the target and
renamed into place, so a killed run leaves no file or a whole one.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pandas as pd

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
TEXT_NAMES = ("text", "quote", "statement", "content", "body", "sentence", "message")
DATE_NAMES = ("date", "published", "published_at", "publish_date", "pub_date", "datetime",
              "timestamp", "created_at", "day", "time")
BAD_LINES = ("error", "skip")
# Unicode line breaks that str.splitlines() and many JSONL readers split on: escaped in JSONL output.
LINE_BREAKS = {ord(c): f"\\u{ord(c):04x}" for c in "\x85\u2028\u2029"}


class InputError(Exception):
    """A problem with the user's input, reported as ``file:line:column: message``."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.path, self.line, self.column = message, path, line, column

    def __str__(self) -> str:
        where = ":".join(str(x) for x in (self.path, self.line, self.column) if x is not None)
        return f"{where}: {self.message}" if where else self.message


@dataclass
class Rejects:
    """Malformed lines skipped with ``--on-bad-lines skip``: kept in memory, written once at the end."""

    rows: list[tuple[int, str, str]]

    def add(self, line: int, reason: str, raw: str) -> None:
        self.rows.append((line, reason, raw))


def detect_format(path: str, fmt: str | None = None) -> str:
    """``csv``, ``jsonl`` or ``parquet`` from an explicit format or the file's extension."""
    if fmt:
        if fmt not in set(FORMATS.values()):
            raise InputError(f"unknown format {fmt!r}; use csv, jsonl or parquet", path=path)
        return fmt
    if path == "-":
        return "csv"
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"unknown extension {suffix or '(none)'!r}; use .csv, .jsonl or .parquet "
                         "(or --format)", path=path)
    return FORMATS[suffix]


def find_column(columns: list[str], wanted: str | None, names: tuple[str, ...], what: str,
                path: str, required: bool) -> str | None:
    """The column the user named, or the first column matching a common name (case-insensitive)."""
    if wanted is not None:
        if wanted not in columns:
            raise InputError(f"no {what} column {wanted!r}; columns are: {', '.join(columns)}", path=path)
        return wanted
    lower = {c.lower(): c for c in columns}
    for name in names:
        if name in lower:
            return lower[name]
    if required:
        raise InputError(f"no {what} column found (looked for {', '.join(names)}); columns are: "
                         f"{', '.join(columns)}; name one with --{what}-col", path=path)
    return None


def read_chunks(path: str, *, fmt: str | None = None, chunk_size: int = 2048,
                encoding: str = "utf-8", on_bad_lines: str = "error",
                rejects: Rejects | None = None) -> Iterator[pd.DataFrame]:
    """Yield the file's rows as DataFrames of at most ``chunk_size`` rows, in order.

    CSV and JSONL values stay as read (CSV cells are strings); blank lines are not rows.

    Example:
        >>> next(read_chunks("data/samples/quotes.csv")).columns[:2].tolist()  # doctest: +SKIP
        ['id', 'date']
    """
    fmt = detect_format(path, fmt)
    if on_bad_lines not in BAD_LINES:
        raise ValueError(f"on_bad_lines must be one of {BAD_LINES}")
    if fmt == "parquet":
        yield from _read_parquet(path, chunk_size)
        return
    reader = _read_csv if fmt == "csv" else _read_jsonl
    n = 0
    with _open_text(path, encoding) as f:
        try:
            for chunk in reader(f, path, chunk_size, on_bad_lines, rejects):
                n += len(chunk)
                yield chunk
        except UnicodeDecodeError as e:
            raise _decode_error(path, encoding, e) from None
    if n == 0:
        raise InputError("the file holds no rows to score", path=path)


@contextlib.contextmanager
def _open_text(path: str, encoding: str) -> Iterator[IO[str]]:
    try:
        codec = codecs.lookup(encoding)
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}") from None
    if codec.name == "utf-8":
        # Excel's "CSV UTF-8" starts with a byte-order mark, which would stick to the first column's name
        encoding = "utf-8-sig"
    if path == "-":
        yield io.TextIOWrapper(sys.stdin.buffer, encoding=encoding, newline="")
        return
    try:
        f = open(path, encoding=encoding, newline="")
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except (IsADirectoryError, PermissionError) as e:
        raise InputError(f"cannot read: {e.strerror}", path=path) from None
    with f:
        yield f


def _read_csv(f: IO[str], path: str, chunk_size: int, on_bad_lines: str,
              rejects: Rejects | None) -> Iterator[pd.DataFrame]:
    reader = csv.reader(f)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("the file is empty", path=path) from None
    except csv.Error as e:
        raise InputError(f"malformed CSV: {e}", path=path, line=reader.line_num) from None
    # a spreadsheet's trailing empty columns have no name; give them their position ("column_4")
    header = [h if h.strip() else f"column_{i}" for i, h in enumerate(header, 1)]
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise InputError(f"duplicate column names: {', '.join(dup)}", path=path, line=1)
    rows: list[list[str]] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            _bad_line(f"malformed CSV: {e}", path, reader.line_num, 1, "", on_bad_lines, rejects)
            continue
        if not row or len(header) > 1 and len(row) == 1 and not row[0].strip():
            continue  # a blank line, or one of spaces only, is not a row (in a one-column file it is)
        if len(row) != len(header):
            _bad_line(f"expected {len(header)} fields, saw {len(row)}", path, reader.line_num,
                      min(len(row), len(header)) + 1, _csv_line(row), on_bad_lines, rejects)
            continue
        rows.append(row)
        if len(rows) == chunk_size:
            yield pd.DataFrame(rows, columns=header, dtype=object)
            rows = []
    if rows:
        yield pd.DataFrame(rows, columns=header, dtype=object)


def _read_jsonl(f: IO[str], path: str, chunk_size: int, on_bad_lines: str,
                rejects: Rejects | None) -> Iterator[pd.DataFrame]:
    records: list[dict] = []
    for lineno, line in enumerate(f, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            _bad_line(f"malformed JSON: {e.msg}", path, lineno, e.colno, line.rstrip("\r\n"),
                      on_bad_lines, rejects)
            continue
        if not isinstance(record, dict):
            _bad_line("expected a JSON object", path, lineno, 1, line.rstrip("\r\n"), on_bad_lines,
                      rejects)
            continue
        records.append(record)
        if len(records) == chunk_size:
            yield pd.DataFrame.from_records(records)
            records = []
    if records:
        yield pd.DataFrame.from_records(records)


def _read_parquet(path: str, chunk_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path == "-":
        raise InputError("Parquet cannot be read from stdin; pass a file", path=path)
    try:
        pf = pq.ParquetFile(path)
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"not a readable Parquet file: {e}", path=path) from None
    if pf.metadata.num_rows == 0:
        raise InputError("the file holds no rows to score", path=path)
    for batch in pf.iter_batches(batch_size=chunk_size):
        yield batch.to_pandas()


def _bad_line(message: str, path: str, line: int, column: int, raw: str, on_bad_lines: str,
              rejects: Rejects | None) -> None:
    if on_bad_lines == "error":
        raise InputError(message + " (use --on-bad-lines skip to set such lines aside)",
                         path=path, line=line, column=column)
    if rejects is not None:
        rejects.add(line, message, raw)


def _csv_line(row: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(row)
    return buf.getvalue().rstrip("\r\n")


def _decode_error(path: str, encoding: str, err: UnicodeDecodeError) -> InputError:
    """Locate the first undecodable byte by line and column (re-reading the file in binary)."""
    if path != "-":
        with open(path, "rb") as f:
            for lineno, raw in enumerate(f, 1):
                try:
                    raw.decode(encoding)
                except UnicodeDecodeError as e:
                    return InputError(f"bytes that are not {encoding} (byte {raw[e.start:e.start+1]!r});"
                                      " pass --encoding", path=path, line=lineno, column=e.start + 1)
    return InputError(f"bytes that are not {encoding}: {err.reason}; pass --encoding", path=path)


class ChunkWriter:
    """Write DataFrame chunks to CSV, JSONL or Parquet, atomically (temp file, then rename)."""

    def __init__(self, path: str, fmt: str | None = None) -> None:
        self.path, self.fmt = path, detect_format(path, fmt)
        self.columns: list[str] | None = None
        self._parquet = None
        self._header_written = False
        if path == "-":
            if self.fmt == "parquet":
                raise InputError("Parquet cannot be written to stdout; pass a file", path=path)
            self._tmp, self._f = None, sys.stdout
            return
        fd, self._tmp = _temp_beside(path)
        if self.fmt == "parquet":
            self._f = os.fdopen(fd, "wb")
        else:
            self._f = os.fdopen(fd, "w", encoding="utf-8", newline="")

    def write(self, chunk: pd.DataFrame) -> None:
        if self.columns is None:
            self.columns = list(chunk.columns)
        extra = [c for c in chunk.columns if c not in self.columns]
        if extra and self.fmt != "jsonl":
            raise InputError(f"column {extra[0]!r} first appears after the first {len(self.columns)} "
                             "columns were written; write JSONL output instead", path=self.path)
        if self.fmt == "csv":
            chunk.reindex(columns=self.columns).to_csv(
                self._f, header=not self._header_written, index=False, lineterminator="\n")
            self._header_written = True
        elif self.fmt == "jsonl":
            for record in chunk.to_dict(orient="records"):
                line = json.dumps({k: _jsonable(v) for k, v in record.items()}, ensure_ascii=False)
                self._f.write(line.translate(LINE_BREAKS) + "\n")
        else:
            self._write_parquet(chunk.reindex(columns=self.columns))

    def _write_parquet(self, chunk: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(chunk, preserve_index=False)
        if self._parquet is None:
            # a column with no value in the first chunk has Arrow type null, to which no later value
            # casts; string takes any later value
            fields = [f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema]
            self._parquet = pq.ParquetWriter(self._f, pa.schema(fields, metadata=table.schema.metadata))
        try:
            table = table.cast(self._parquet.schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as e:
            raise InputError(f"a column changes type after the first chunk ({e}); write CSV or JSONL "
                             "output instead, or a larger --chunk-size", path=self.path) from None
        self._parquet.write_table(table)

    def close(self) -> None:
        """Finish the file and move it into place."""
        if self._parquet is not None:
            self._parquet.close()
        if self._tmp is None:
            self._f.flush()
            return
        _move_into_place(self._f, self._tmp, self.path)

    def abort(self) -> None:
        """Drop the temporary file; the target is left as it was."""
        if self._parquet is not None:  # else its finaliser later writes to the closed file
            with contextlib.suppress(Exception):
                self._parquet.close()
        if self._tmp is not None:
            self._f.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)


def _temp_beside(path: str | Path) -> tuple[int, str]:
    """A temporary file in the target's folder, so that the final rename stays on one filesystem."""
    target = Path(path)
    if target.is_dir():
        raise InputError("output path is a folder", path=str(path))
    target.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")


def _move_into_place(f: IO, tmp: str, path: str | Path) -> None:
    """Flush and fsync the temporary file, give it the usual permissions, rename it over ``path``."""
    f.flush()
    os.fsync(f.fileno())
    f.close()
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600
    os.replace(tmp, path)


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc): os.umask can only
    read by setting, and another thread creating a file in between would get mode 0o666."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    with _UMASK_LOCK:  # elsewhere the set-and-restore is at least not raced by this module
        mask = os.umask(0)
        os.umask(mask)
    return mask


def _jsonable(value):
    if value is None or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write a whole file at once: a temporary file beside it, fsynced, then renamed over it.

    Example:
        >>> atomic_write("out/report.html", "<html></html>")  # doctest: +SKIP
    """
    fd, tmp = _temp_beside(path)
    f = os.fdopen(fd, "wb")
    try:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
        _move_into_place(f, tmp, path)
    except BaseException:
        f.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_rejects(rejects: Rejects, path: str) -> None:
    """Write skipped lines (line number, reason, raw text) as CSV, atomically."""
    writer = ChunkWriter(path, "csv")
    try:
        writer.write(pd.DataFrame(rejects.rows, columns=["line", "reason", "raw"]))
        writer.close()
    except BaseException:
        writer.abort()
        raise
