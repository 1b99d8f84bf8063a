"""Scoring speed on this machine: ``detente bench`` (one run, same quotes, same threads for each way).

Measures quotes per second and peak memory for
1. the naive way: ``transformers.pipeline("text-classification", model=<folder>, batch_size=32)`` over
   the quotes in file order (loaded in float32, as the bundled fp16 weights would otherwise run in fp16);
2. ``predict`` in fp32 (length-sorted, per-batch padding);
3. ``predict`` in the model's default precision (``precision="auto"``: a fast path whose dev gate
   passed and which this CPU runs natively, else fp32);
plus label agreement of 2 and 3 with 1. Each way runs in its own subprocess so peak memory is its own.
Then scores CSV files of two sizes with a tiny random model to show memory does not grow with the file.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from model.io import atomic_write
from model.labels import LABELS

DATA = Path(__file__).resolve().parent.parent / "data" / "statements.jsonl"
MIN_WORDS, MAX_WORDS = 4, 150


def make_quotes(n: int = 2000, seed: int = 0) -> list[str]:
    """n quotes of 4 to 150 words (log-uniform lengths), stitched from corpus statements in order."""
    rng = random.Random(seed)
    texts = [json.loads(x)["text"] for x in DATA.read_text(encoding="utf-8").splitlines() if x]
    rng.shuffle(texts)
    words = " ".join(texts).split()
    out, pos = [], 0
    for _ in range(n):
        k = int(round(np.exp(rng.uniform(np.log(MIN_WORDS), np.log(MAX_WORDS)))))
        if pos + k > len(words):
            pos = 0
        out.append(" ".join(words[pos : pos + k]))
        pos += k
    return out


def _run_way(way: str, model_path: str, quotes_file: str, threads: int) -> dict:
    """Child process: load, warm up, time one pass, report labels and peak RSS."""
    import torch

    torch.set_num_threads(threads)
    quotes = json.loads(Path(quotes_file).read_text(encoding="utf-8"))
    if way == "pipeline":
        from transformers import AutoTokenizer, pipeline

        from model.loader import load_network

        # given a folder, the pipeline would build a mean-pooling model as a [CLS] classifier with a
        # random pooler, so it gets the network the folder declares and does the rest itself
        clf = pipeline("text-classification", model=load_network(Path(model_path)), batch_size=32,
                       tokenizer=AutoTokenizer.from_pretrained(model_path, local_files_only=True),
                       truncation=True, max_length=512)
        clf(quotes[:32])
        t0 = time.perf_counter()
        labels = [r["label"] for r in clf(quotes)]
    else:
        from model import load_model, predict

        precision = "fp32" if way == "predict_fp32" else "auto"
        model = load_model(model_path, precision=precision, threads=threads)
        predict(quotes[:32], model=model)
        t0 = time.perf_counter()
        labels = [p.label for p in predict(quotes, model=model)]
        way = f"{way} ({model.precision})"
    seconds = time.perf_counter() - t0
    return {"way": way, "seconds": seconds, "quotes_per_second": len(quotes) / seconds,
            "labels": labels, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _memory_child(rows: int, threads: int) -> dict:
    """Child process: score a CSV of `rows` short quotes with a tiny random model; report peak RSS."""
    import pandas as pd
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from model.loader import bundled_path, load_model
    from model.score import score_file

    torch.set_num_threads(threads)
    tmp = Path(tempfile.mkdtemp())
    tok = AutoTokenizer.from_pretrained(bundled_path(), local_files_only=True)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, num_labels=len(LABELS),
                        id2label=dict(enumerate(LABELS)), label2id={l: i for i, l in enumerate(LABELS)})
    BertForSequenceClassification(config).save_pretrained(tmp / "tiny")
    tok.save_pretrained(tmp / "tiny")
    base = ["we welcome the agreement", "the delegation arrived this morning",
            "we strongly condemn the provocation", "no comment"]
    pd.DataFrame({"id": range(rows), "date": "2025-10-10",
                  "text": [base[i % 4] + f" {i}" for i in range(rows)]}).to_csv(tmp / "in.csv", index=False)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    score_file(str(tmp / "in.csv"), str(tmp / "out.csv"), model=load_model(tmp / "tiny", precision="fp32"))
    return {"rows": rows, "seconds": time.perf_counter() - t0, "peak_rss_mb_before": before,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _child(args: list[str]) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    out = subprocess.run([sys.executable, "-m", "training.bench", *args], capture_output=True,
                         text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_bench(model: str | None = None, *, n: int = 2000, threads: int = 2, out: str = "bench.json",
              memory_rows: tuple[int, int] = (20000, 200000)) -> dict:
    """Run every way in turn on the same quotes and write the JSON report; prints a table."""
    from model.loader import resolve_path

    path = str(resolve_path(model).resolve())
    quotes = make_quotes(n)
    qfile = Path(tempfile.mkdtemp()) / "quotes.json"
    qfile.write_text(json.dumps(quotes), encoding="utf-8")
    ways = [_child(["--way", w, path, str(qfile), str(threads)])
            for w in ("pipeline", "predict_fp32", "predict_default")]
    naive = ways[0]
    for w in ways:
        w["agreement_with_naive"] = float(np.mean([a == b for a, b in zip(w["labels"], naive["labels"])]))
        w["speedup"] = w["quotes_per_second"] / naive["quotes_per_second"]
    memory = [_child(["--memory", str(r), str(threads)]) for r in memory_rows]
    report = {"n_quotes": n, "threads": threads, "cpu_count": os.cpu_count(), "model": path,
              "words_min_max": [min(len(q.split()) for q in quotes), max(len(q.split()) for q in quotes)],
              "ways": [{k: v for k, v in w.items() if k != "labels"} for w in ways],
              "memory": memory,
              "memory_growth_mb": memory[-1]["peak_rss_mb"] - memory[0]["peak_rss_mb"]}
    atomic_write(out, json.dumps(report, indent=2) + "\n")
    print(format_bench(report))
    return report


def format_bench(report: dict) -> str:
    lines = [f"{report['n_quotes']} quotes of {report['words_min_max'][0]}-{report['words_min_max'][1]}"
             f" words, {report['threads']} threads",
             f"{'way':32}{'quotes/s':>10}{'speedup':>9}{'agree':>8}{'peak MB':>9}"]
    for w in report["ways"]:
        lines.append(f"{w['way']:32}{w['quotes_per_second']:10.1f}{w['speedup']:8.2f}x"
                     f"{w['agreement_with_naive']:8.3f}{w['peak_rss_mb']:9.0f}")
    for m in report["memory"]:
        lines.append(f"score_file {m['rows']:>7} rows (tiny model): peak {m['peak_rss_mb']:.0f} MB, "
                     f"{m['seconds']:.1f} s")
    lines.append(f"memory growth {report['memory_growth_mb']:+.0f} MB")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1] == "--way":
        result = _run_way(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        result = _memory_child(int(sys.argv[2]), int(sys.argv[3]))
    print(json.dumps(result))
