"""Batch scoring: every row out once and in order, statuses, bad input, atomic writes."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.io import InputError
from model.score import score_file

SAMPLE = [
    {"id": "1", "date": "2025-10-10", "speaker": "MOFA", "text": "we welcome the agreement"},
    {"id": "2", "date": "2025-10-11", "speaker": "USTR", "text": "we will impose a tariff"},
    {"id": "3", "date": "not a date", "speaker": "MOFA", "text": "stop interfering"},
    {"id": "4", "date": "2025-10-12", "speaker": "MOFA", "text": "   "},
    {"id": "5", "date": "", "speaker": "MOFA", "text": "the delegation arrived"},
    {"id": "6", "date": "2025-10-12", "speaker": "MOFA", "text": "word " * 300},
]


def write_csv(path, records):
    pd.DataFrame(records).to_csv(path, index=False)
    return str(path)


def test_statuses_and_columns(tmp_path, tiny_clf):
    out = tmp_path / "out.csv"
    summary = score_file(write_csv(tmp_path / "in.csv", SAMPLE), str(out), model=tiny_clf)
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert df["id"].tolist() == [r["id"] for r in SAMPLE]
    assert df["status"].tolist() == ["ok", "ok", "bad_date", "empty_text", "no_date", "truncated"]
    assert {"label", "p_conciliatory", "p_neutral", "p_hostile", "speaker"} <= set(df.columns)
    assert df.loc[3, "label"] == "" and df.loc[3, "p_hostile"] == ""
    probs = df.loc[df.status != "empty_text", ["p_conciliatory", "p_neutral", "p_hostile"]].astype(float)
    assert ((probs.sum(axis=1) - 1).abs() < 1e-5).all()
    assert summary.read == 6 and summary.scored == 5
    assert "empty_text 1" in str(summary) and "bad_date 1" in str(summary)


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_formats_round_trip(tmp_path, tiny_clf, ext):
    src = tmp_path / f"in.{ext}"
    frame = pd.DataFrame(SAMPLE[:3]).rename(columns={"text": "quote", "date": "published"})
    if ext == "csv":
        frame.to_csv(src, index=False)
    elif ext == "jsonl":
        frame.to_json(src, orient="records", lines=True)
    else:
        frame.to_parquet(src)
    out = tmp_path / f"out.{ext}"
    score_file(str(src), str(out), model=tiny_clf)
    back = {"csv": lambda p: pd.read_csv(p, dtype=str), "parquet": pd.read_parquet,
            "jsonl": lambda p: pd.read_json(p, lines=True, dtype=False)}[ext](out)
    assert back["id"].astype(str).tolist() == ["1", "2", "3"]
    assert back["status"].tolist() == ["ok", "ok", "bad_date"]


def test_parquet_column_empty_in_first_chunk(tmp_path, tiny_clf):
    # the first chunk's texts are all empty (label null) and its 'note' is null (Arrow type null)
    records = [{"text": "", "date": "2025-10-10", "note": None}] * 2 + [
        {"text": "we welcome the agreement", "date": "2025-10-11", "note": "n"}] * 2
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out.parquet"
    score_file(str(src), str(out), model=tiny_clf, chunk_size=2)
    back = pd.read_parquet(out)
    assert back["status"].tolist() == ["empty_text"] * 2 + ["ok"] * 2
    assert back["note"].tolist()[2:] == ["n", "n"] and back["label"].notna().tolist() == [0, 0, 1, 1]


def test_input_label_column_kept(tmp_path, tiny_clf):
    rows = [{"text": "we welcome the agreement", "label": "gold-conciliatory"}]
    out = tmp_path / "o.csv"
    score_file(write_csv(tmp_path / "i.csv", rows), str(out), model=tiny_clf)
    df = pd.read_csv(out)
    assert df["input_label"].tolist() == ["gold-conciliatory"] and df["label"].iloc[0] != "gold"


texts = st.lists(st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "we welcome it"])),
                 min_size=1, max_size=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=texts, chunk=st.integers(1, 7))
def test_every_row_once_in_order_any_chunk(tmp_path_factory, tiny_clf, texts, chunk):
    folder = tmp_path_factory.mktemp("prop")
    records = [{"id": i, "text": t} for i, t in enumerate(texts)]
    src = folder / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    outs = []
    for size in (chunk, 1000):
        out = folder / f"out{size}.jsonl"
        summary = score_file(str(src), str(out), model=tiny_clf, chunk_size=size)
        outs.append([json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()])  # must hold: no raw U+2028 etc.
        assert summary.read == len(records)
    a, b = outs
    assert [r["id"] for r in a] == list(range(len(records)))
    assert [r["text"] for r in a] == texts
    for x, y in zip(a, b):
        assert x["status"] == y["status"] and x["label"] == y["label"]
        if x["p_hostile"] is not None:
            assert abs(x["p_hostile"] - y["p_hostile"]) < 1e-5


def _error(tmp_path, tiny_clf, name, content, **kw):
    src = tmp_path / name
    if isinstance(content, bytes):
        src.write_bytes(content)
    else:
        src.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as err:
        score_file(str(src), str(tmp_path / "out.csv"), model=tiny_clf, **kw)
    assert not (tmp_path / "out.csv").exists()
    return str(err.value)


def test_missing_file(tmp_path, tiny_clf):
    with pytest.raises(InputError, match="no such file"):
        score_file(str(tmp_path / "nope.csv"), str(tmp_path / "o.csv"), model=tiny_clf)


def test_unknown_extension(tmp_path, tiny_clf):
    assert "unknown extension '.xlsx'" in _error(tmp_path, tiny_clf, "q.xlsx", "x")


def test_no_text_column(tmp_path, tiny_clf):
    msg = _error(tmp_path, tiny_clf, "q.csv", "date,speaker\n2025-01-01,x\n")
    assert "no text column" in msg and "date, speaker" in msg


def test_named_text_column_missing(tmp_path, tiny_clf):
    assert "no text column 'body2'" in _error(tmp_path, tiny_clf, "q.csv", "text\nhi there\n",
                                               text_col="body2")


def test_malformed_csv_line(tmp_path, tiny_clf):
    msg = _error(tmp_path, tiny_clf, "q.csv", "date,text\n2025-01-01,fine\n2025-01-02,a,b\n")
    assert msg.startswith(str(tmp_path / "q.csv") + ":3:3:") and "expected 2 fields, saw 3" in msg


def test_malformed_jsonl_line(tmp_path, tiny_clf):
    msg = _error(tmp_path, tiny_clf, "q.jsonl", '{"text": "fine"}\n{"text": oops}\n')
    assert ":2:10:" in msg and "malformed JSON" in msg


def test_jsonl_not_an_object(tmp_path, tiny_clf):
    assert ":1:1: expected a JSON object" in _error(tmp_path, tiny_clf, "q.jsonl", "[1, 2]\n")


def test_not_utf8(tmp_path, tiny_clf):
    msg = _error(tmp_path, tiny_clf, "q.csv", "text\nfine\ncaf\xe9 cr\xe8me\n".encode("latin-1"))
    assert ":3:4:" in msg and "not utf-8" in msg and "--encoding" in msg


def test_other_encoding_accepted(tmp_path, tiny_clf):
    src = tmp_path / "q.csv"
    src.write_bytes("text\ncaf\xe9 talks\n".encode("latin-1"))
    score_file(str(src), str(tmp_path / "o.csv"), model=tiny_clf, encoding="latin-1")
    assert pd.read_csv(tmp_path / "o.csv")["text"].tolist() == ["caf\xe9 talks"]


@pytest.mark.parametrize("name,content", [("q.csv", ""), ("q.csv", "text\n"), ("q.jsonl", "\n\n")])
def test_empty_files(tmp_path, tiny_clf, name, content):
    msg = _error(tmp_path, tiny_clf, name, content)
    assert "empty" in msg or "no rows" in msg


def test_not_parquet(tmp_path, tiny_clf):
    assert "not a readable Parquet file" in _error(tmp_path, tiny_clf, "q.parquet", "text\nhello\n")


def test_skip_bad_lines_to_rejects(tmp_path, tiny_clf):
    src = tmp_path / "q.csv"
    src.write_text("date,text\n2025-01-01,fine\n2025-01-02,a,b\n2025-01-03,also fine\n")
    out = tmp_path / "o.csv"
    summary = score_file(str(src), str(out), model=tiny_clf, on_bad_lines="skip")
    assert summary.rejected == 1 and summary.read == 2
    rejects = pd.read_csv(str(out) + ".rejects.csv")
    assert rejects["line"].tolist() == [3] and rejects["raw"].tolist() == ["2025-01-02,a,b"]
    assert pd.read_csv(out)["text"].tolist() == ["fine", "also fine"]


def _writing_from_a_pipe(cmd: list[str], folder, stderr) -> subprocess.Popen:
    """Start ``cmd`` scoring rows that come through a pipe this test keeps open, and return it once its
    temporary file holds bytes: the run is then surely mid-way, waiting for more rows, on any machine (a
    whole file raced fast ones, finishing before the signal landed)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=stderr)
    proc.stdin.write(b"text\n" + b"we welcome the agreement and the talks\n" * 120)
    proc.stdin.flush()
    deadline = time.time() + 120
    while time.time() < deadline and not [p for p in folder.iterdir() if p.name.endswith(".part")
                                          and p.stat().st_size > 0]:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else proc.returncode
        time.sleep(0.05)
    return proc


def test_kill_mid_run_leaves_no_partial_output(tmp_path, tiny_model_dir):
    out = tmp_path / "out.csv"
    code = ("from model.score import score_file; from model.loader import load_model;"
            f"score_file('-', {str(out)!r}, model=load_model({str(tiny_model_dir)!r}), chunk_size=50)")
    proc = _writing_from_a_pipe([sys.executable, "-c", code], tmp_path, subprocess.DEVNULL)
    parts = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdin.close()
    assert parts, "the run never started writing"
    assert not out.exists()


def test_existing_output_survives_failed_run(tmp_path, tiny_clf):
    out = tmp_path / "o.csv"
    out.write_text("previous,result\n")
    src = tmp_path / "q.csv"
    src.write_text("text\nfine\n" + "x,y\n")
    with pytest.raises(InputError):
        score_file(str(src), str(out), model=tiny_clf)
    assert out.read_text() == "previous,result\n"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]


def test_output_has_ordinary_permissions(tmp_path, tiny_clf):
    out = tmp_path / "o.csv"
    score_file(write_csv(tmp_path / "i.csv", SAMPLE[:2]), str(out), model=tiny_clf)
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def test_umask_is_read_without_changing_it(tmp_path, tiny_clf):
    from model.io import _umask

    old = os.umask(0o027)
    try:
        assert _umask() == 0o027
        assert _umask() == 0o027  # reading twice leaves it set
        out = tmp_path / "o.csv"
        score_file(write_csv(tmp_path / "i.csv", SAMPLE[:2]), str(out), model=tiny_clf)
        assert out.stat().st_mode & 0o777 == 0o640
    finally:
        os.umask(old)


def test_day_first_file_reads_day_first_across_chunks(tmp_path, tiny_clf):
    rows = [{"date": d, "text": "we welcome the agreement"}
            for d in ("03/04/2025", "15/09/2025", "04/05/2025", "31/12/2025", "13/14/2025")]
    out = tmp_path / "out.csv"
    score_file(write_csv(tmp_path / "in.csv", rows), str(out), model=tiny_clf, chunk_size=2)
    assert pd.read_csv(out)["status"].tolist() == ["ok", "ok", "ok", "ok", "bad_date"]
    mixed = rows[:2] + [{"date": "09/15/2025", "text": "x"}]
    with pytest.raises(InputError, match="mix day-first"):
        score_file(write_csv(tmp_path / "mixed.csv", mixed), str(tmp_path / "m.csv"), model=tiny_clf)
    assert not (tmp_path / "m.csv").exists()
    summary = score_file(str(tmp_path / "mixed.csv"), str(tmp_path / "m.csv"), model=tiny_clf,
                         dayfirst=True)
    assert summary.statuses["bad_date"] == 1


def test_byte_order_mark_and_spreadsheet_quirks(tmp_path, tiny_clf):
    # Excel's "CSV UTF-8": a BOM, CRLF, trailing unnamed columns, a line of spaces
    path = tmp_path / "excel.csv"
    path.write_bytes("\ufefftext,date,,\r\nwe welcome it,2025-10-10,,\r\n   \r\nstop it,x,,\r\n"
                     .encode("utf-8"))
    out = tmp_path / "out.csv"
    summary = score_file(str(path), str(out), model=tiny_clf)
    df = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert summary.read == 2 and df["status"].tolist() == ["ok", "bad_date"]
    assert list(df.columns[:4]) == ["text", "date", "column_3", "column_4"]
    jsonl = tmp_path / "bom.jsonl"
    jsonl.write_bytes('\ufeff{"text": "we welcome it", "date": "2025-10-10"}\n'.encode("utf-8"))
    assert score_file(str(jsonl), str(tmp_path / "j.csv"), model=tiny_clf).read == 1


def test_input_column_names_never_collide(tmp_path, tiny_clf):
    rows = [{"text": "we welcome it", "label": "a", "input_label": "b"}]
    out = tmp_path / "out.parquet"
    score_file(write_csv(tmp_path / "in.csv", rows), str(out), model=tiny_clf)
    df = pd.read_parquet(out)
    assert (df["input_input_label"].iloc[0], df["input_label"].iloc[0]) == ("a", "b")


def test_summary_names_where_rejects_went(tmp_path, tiny_clf):
    path = tmp_path / "in.csv"
    path.write_text("text,date\nfine,2025-10-10\na,b,c\n")
    summary = score_file(str(path), str(tmp_path / "o.csv"), model=tiny_clf, on_bad_lines="skip")
    assert str(summary).endswith(f"1 malformed lines set aside in {tmp_path / 'o.csv'}.rejects.csv")


def test_sigterm_removes_the_temporary_file(tmp_path, tiny_model_dir):
    out = tmp_path / "out.csv"
    proc = _writing_from_a_pipe([sys.executable, "-m", "model.cli", "score", "-", "-o", str(out), "--model",
                                 str(tiny_model_dir), "--chunk-size", "50", "--no-progress"],
                                tmp_path, subprocess.PIPE)
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)  # stdin stays open until then: an end of input must not race the signal
    finally:
        proc.kill()
        proc.stdin.close()
    err = proc.stderr.read()
    assert proc.returncode == 128 + signal.SIGTERM and b"terminated" in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
