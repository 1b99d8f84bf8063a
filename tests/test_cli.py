"""The CLI, in-process, with the tiny fixture model."""

import json

import pandas as pd
import pytest

from model.cli import main

QUOTES = [
    {"date": f"2025-10-{d:02d}", "speaker": "MOFA", "actor": a, "target": t, "text": text}
    for d in range(1, 15)
    for a, t, text in [("CHN", "USA", "we welcome the agreement"),
                       ("USA", "CHN", "we will impose a tariff of 100 percent"),
                       ("CHN", "USA", "the delegation arrived this morning")]
]


@pytest.fixture
def quotes_csv(tmp_path):
    path = tmp_path / "quotes.csv"
    pd.DataFrame(QUOTES).to_csv(path, index=False)
    return path


def test_score_index_report(tmp_path, quotes_csv, tiny_model_dir, capsys):
    scored = tmp_path / "scored.jsonl"
    assert main(["score", str(quotes_csv), "-o", str(scored), "--model", str(tiny_model_dir),
                 "--no-progress"]) == 0
    assert "read 42 rows, scored 42" in capsys.readouterr().err
    rows = [json.loads(x) for x in scored.read_text().splitlines()]
    assert len(rows) == 42 and all(r["status"] == "ok" for r in rows)

    index, png = tmp_path / "index.csv", tmp_path / "index.png"
    assert main(["index", str(scored), "-o", str(index), "--plot", str(png)]) == 0
    table = pd.read_csv(index)
    assert len(table) == 14 and (table["n_quotes"] == 3).all()
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert main(["index", str(scored), "-o", str(tmp_path / "dyad.csv"), "--by", "dyad"]) == 0
    assert set(pd.read_csv(tmp_path / "dyad.csv")["dyad"]) == {"CHN-USA"}

    html = tmp_path / "report.html"
    assert main(["report", str(quotes_csv), "-o", str(html), "--model", str(tiny_model_dir),
                 "--index", str(tmp_path / "i2.csv")]) == 0
    page = html.read_text()
    assert "data:image/png;base64," in page and "http://" not in page and "https://" not in page
    assert "2025-10-14" in page


def test_score_stdin_stdout(tmp_path, quotes_csv, tiny_model_dir, capsys, monkeypatch):
    import io
    import sys

    data = quotes_csv.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["score", "-", "-o", "-", "--model", str(tiny_model_dir), "--no-progress"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("p_hostile,status") and len(out) == 43


def test_stdout_keeps_jsonl_named_by_format(tmp_path, tiny_model_dir, capsys, monkeypatch):
    import io
    import sys

    lines = "".join(json.dumps(q) + "\n" for q in QUOTES[:3])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines.encode())))
    assert main(["score", "-", "--format", "jsonl", "-o", "-", "--model", str(tiny_model_dir),
                 "--no-progress"]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert len(out) == 3 and out[0]["status"] == "ok"


def test_report_reads_its_input_options_and_scored_files(tmp_path, tiny_model_dir, capsys):
    # a Latin-1 file with a malformed line, then the report of an already scored CSV (spikes shown)
    src = tmp_path / "q.csv"
    calm, jab = "caf\xe9 talks went well", "we condemn this"
    body = "date,speaker,text\n" + "".join(f"2025-10-{d:02d},M,{jab if d == 12 else calm}\n"
                                           for d in range(1, 13) for _ in range(3))
    src.write_bytes((body + "2025-10-12,M,one,field too many\n").encode("latin-1"))
    html = tmp_path / "r.html"
    args = ["report", str(src), "-o", str(html), "--model", str(tiny_model_dir),
            "--scored", str(tmp_path / "s.csv")]
    assert main(args) == 2
    assert "utf-8" in capsys.readouterr().err
    assert main(args + ["--encoding", "latin-1", "--on-bad-lines", "skip"]) == 0
    assert "1 malformed lines set aside" in capsys.readouterr().err
    assert (tmp_path / "r.html.rejects.csv").exists() and html.exists()
    assert "café" in (tmp_path / "s.csv").read_text(encoding="utf-8")
    scored = pd.read_csv(tmp_path / "s.csv")
    scored.loc[scored["date"] == "2025-10-12", ["p_conciliatory", "p_neutral", "p_hostile"]] = [0, 0, 1]
    scored.loc[scored["date"] != "2025-10-12", ["p_conciliatory", "p_neutral", "p_hostile"]] = [1, 0, 0]
    scored.to_csv(tmp_path / "s.csv", index=False)
    assert main(["report", str(tmp_path / "s.csv"), "-o", str(html)]) == 0
    assert "2025-10-12: tension 100.0" in html.read_text()


def test_index_finds_the_date_column_and_checks_options_first(tmp_path, capsys):
    scored = pd.DataFrame({"published": ["2025-10-01", "2025-10-02"], "actor": ["A", "B"],
                           "p_conciliatory": [1.0, 0.0], "p_neutral": [0.0, 0.0],
                           "p_hostile": [0.0, 1.0], "status": ["ok", "ok"]})
    scored.to_csv(tmp_path / "s.csv", index=False)
    out = tmp_path / "i.csv"
    assert main(["index", str(tmp_path / "s.csv"), "-o", str(out), "--by", "actor",
                 "--plot", str(tmp_path / "p.png")]) == 2
    assert not out.exists()
    assert main(["index", str(tmp_path / "s.csv"), "-o", str(out)]) == 0
    assert pd.read_csv(out)["tension"].tolist() == [0.0, 100.0]


def test_predict_command(tiny_model_dir, capsys):
    assert main(["predict", "we welcome the agreement", "--model", str(tiny_model_dir)]) == 0
    assert capsys.readouterr().out.count("\t") == 2


def test_every_precision_the_loader_knows_is_offered(tiny_model_dir, capsys):
    from model.cli import PRECISIONS
    from model.loader import PRECISIONS as LOADER_PRECISIONS

    assert PRECISIONS == LOADER_PRECISIONS
    with pytest.warns(UserWarning, match="gate"):  # the tiny model has no bf16 gate
        assert main(["predict", "we welcome the agreement", "--model", str(tiny_model_dir),
                     "--precision", "bf16"]) == 0


@pytest.mark.parametrize("args,needle", [
    (["score", "missing.csv", "-o", "x.csv"], "missing.csv: no such file"),
    (["score", "q.txt", "-o", "x.csv"], "unknown extension"),
    (["predict", " "], "position 0 is empty"),
])
def test_user_errors_exit_2_one_line(tmp_path, monkeypatch, tiny_model_dir, capsys, args, needle):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "q.txt").write_text("text\nhi\n")
    assert main(args + ["--model", str(tiny_model_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and err.startswith("detente: error:")


def test_sizes_must_be_positive(tiny_model_dir, capsys):
    with pytest.raises(SystemExit):
        main(["predict", "hi", "--batch-size", "0"])
    assert "must be at least 1" in capsys.readouterr().err


def test_cli_defaults_match_the_library():
    from model import cli
    from model.predict import DEFAULT_BATCH_SIZE
    from model.score import DEFAULT_CHUNK_SIZE

    assert (cli.DEFAULT_BATCH_SIZE, cli.DEFAULT_CHUNK_SIZE) == (DEFAULT_BATCH_SIZE, DEFAULT_CHUNK_SIZE)


def test_bad_model_folder_exit_2(tmp_path, quotes_csv, capsys):
    assert main(["score", str(quotes_csv), "-o", str(tmp_path / "o.csv"), "--model",
                 str(tmp_path / "nomodel")]) == 2
    assert "no model folder" in capsys.readouterr().err


def test_train_and_evaluate_commands(tmp_path, tiny_model_dir, tiny_data_dir, capsys):
    out = tmp_path / "m"
    assert main(["train", "--base-model", str(tiny_model_dir), "--data-dir", str(tiny_data_dir),
                 "--output-dir", str(out), "--epochs", "1", "--threads", "1", "--head-seed", "3"]) == 0
    assert (out / "model.safetensors").exists()
    assert json.loads((out / "training_config.json").read_text())["head_seed"] == 3
    report = tmp_path / "r.json"
    assert main(["evaluate", "--model", str(out), "--data-dir", str(tiny_data_dir), "--out",
                 str(report)]) == 0
    data = json.loads(report.read_text())
    assert {"macro_f1", "ece", "contrast", "baselines", "by_rule", "by_difficulty", "by_writers",
            "by_length", "bootstrap"} <= set(data)
    lo, hi = data["bootstrap"]["macro_f1_ci95"]
    assert lo <= data["macro_f1"] <= hi
    assert sum(v["n"] for v in data["by_writers"].values()) == data["n"]
    assert set(data["baselines"]) == {"majority", "lexicon", "tfidf_lr"}
    assert "macro-F1" in capsys.readouterr().out


def test_index_reads_day_first_dates_and_checks_freq_and_smooth(tmp_path, capsys):
    scored = tmp_path / "scored.csv"
    pd.DataFrame({"date": ["03/04/2025", "04/04/2025"], "p_hostile": [0.9, 0.1],
                  "p_conciliatory": [0.05, 0.8], "status": "ok"}).to_csv(scored, index=False)
    out = tmp_path / "index.csv"
    assert main(["index", str(scored), "-o", str(out), "--dayfirst"]) == 0
    assert pd.read_csv(out)["date"].tolist() == ["2025-04-03", "2025-04-04"]
    assert main(["index", str(scored), "-o", str(out), "--monthfirst"]) == 0
    assert len(pd.read_csv(out)) == 32  # 4 March to 4 April
    for bad in (["--freq", "M"], ["--smooth", "-1"]):
        with pytest.raises(SystemExit) as e:
            main(["index", str(scored), "-o", str(out), *bad])
        assert e.value.code == 2
