"""Evaluate a model folder on a split: ``detente evaluate --model model/default --split test``.

Writes a JSON report and prints a table: accuracy, macro-F1, per-class scores, confusion matrix,
macro-F1 by difficulty and rule, expected calibration error, contrast-pair accuracy, the guide's own
examples, and three baselines on the same split. Statements by the held-out writers (batches ``h*``, see
``training/corpus.py``) are also reported on their own, with bootstrap intervals for macro-F1, the
margin over the best baseline and the calibration error.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from model.calibration import apply_confidence_map
from model.labels import LABEL2ID, LABELS
from model.loader import load_model
from model.predict import predict_proba

from .baselines import lexicon_predict, majority_predict, tfidf_lr
from .calibrate import expected_calibration_error
from .corpus import is_held_out
from .data import load_pairs, load_split

GUIDE_EXAMPLES = "guide_examples.jsonl"


def classification_metrics(y: np.ndarray, pred: np.ndarray) -> dict:
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=range(len(LABELS)), zero_division=0)
    return {
        "n": int(len(y)),
        "accuracy": float(accuracy_score(y, pred)),
        "macro_f1": float(f1_score(y, pred, average="macro", labels=range(len(LABELS)), zero_division=0)),
        "per_class": {lab: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                            "support": int(s[i])} for i, lab in enumerate(LABELS)},
        "confusion": confusion_matrix(y, pred, labels=range(len(LABELS))).tolist(),
    }


def grouped_f1(y: np.ndarray, pred: np.ndarray, keys: list) -> dict:
    out = {}
    for key in sorted({str(k) for k in keys}):
        m = np.array([str(k) == key for k in keys])
        out[key] = {"n": int(m.sum()), "macro_f1": float(f1_score(
            y[m], pred[m], average="macro", labels=sorted(set(y[m])), zero_division=0)),
            "accuracy": float((y[m] == pred[m]).mean())}
    return out


def writers(group: str) -> str:
    """Held-out writers never contributed to train; corpus writers did (other scenarios)."""
    return "held_out_writers" if is_held_out(group) else "corpus_writers"


def length_band(text: str) -> str:
    n = len(text.split())
    return "short (<=15 words)" if n <= 15 else "medium (16-40)" if n <= 40 else "long (>40)"


def bootstrap_ci(y: np.ndarray, probs: np.ndarray, other: np.ndarray, n: int = 1000,
                 seed: int = 0) -> dict:
    """95% percentile intervals for macro-F1, for its margin over ``other`` (paired resampling) and for
    the expected calibration error."""
    rng = np.random.default_rng(seed)
    pred = probs.argmax(1)
    f1s, margins, eces = [], [], []
    for _ in range(n):
        i = rng.integers(0, len(y), len(y))
        f = f1_score(y[i], pred[i], average="macro", labels=range(len(LABELS)), zero_division=0)
        g = f1_score(y[i], other[i], average="macro", labels=range(len(LABELS)), zero_division=0)
        f1s.append(f)
        margins.append(f - g)
        eces.append(expected_calibration_error(probs[i], y[i]))
    ci = {name: [float(v) for v in np.percentile(vals, [2.5, 97.5])]
          for name, vals in (("macro_f1_ci95", f1s), ("margin_ci95", margins), ("ece_ci95", eces))}
    return ci


def pair_sides(pairs) -> tuple[list[str], np.ndarray]:
    """Both sides of every pair as one list (all a sides, then all b sides) and their gold label ids."""
    if len(pairs) == 0:
        return [], np.zeros(0, dtype=int)
    texts = list(pairs["text_a"]) + list(pairs["text_b"])
    return texts, np.array([LABEL2ID[x] for x in list(pairs["label_a"]) + list(pairs["label_b"])], dtype=int)


def pair_accuracy(predict_ids, pairs) -> dict:
    """Share of pairs with both sides right; ``predict_ids`` maps texts to label ids."""
    if len(pairs) == 0:
        return {"n_pairs": 0, "pair_accuracy": None}
    texts, gold = pair_sides(pairs)
    pred = np.asarray(predict_ids(texts))
    ok = pred == gold
    n = len(pairs)
    both = ok[:n] & ok[n:]
    edits = list(pairs["edit"])
    by_edit = {e: float(both[[x == e for x in edits]].mean()) for e in sorted(set(edits))}
    # the usual miss: one label for both sides, the edit not seen (the sides' gold labels always differ)
    out = {"n_pairs": n, "pair_accuracy": float(both.mean()), "side_accuracy": float(ok.mean()),
           "missed": int((~both).sum()), "missed_same_label": int((~both & (pred[:n] == pred[n:])).sum()),
           "by_edit": by_edit}
    if "batch" in pairs.column_names:  # which writing batches hold the hard pairs
        batches = np.array(pairs["batch"])
        out["by_batch"] = {
            b: {"n": int((batches == b).sum()), "pair_accuracy": float(both[batches == b].mean())}
            for b in sorted(set(batches), key=lambda b: (len(b), b))}
    return out


def evaluate(model_path: str | None = None, data_dir: str = "data", split: str = "test",
             precision: str = "fp32") -> dict:
    """Score a split and its baselines; returns the report as a dict.

    Example:
        >>> report = evaluate("model/default", "data", "test")  # doctest: +SKIP
    """
    clf = load_model(model_path, precision=precision)
    ds = load_split(data_dir, split).to_dict()
    y = np.array(ds["labels"])
    # one forward pass: tempered probabilities, then the confidence map as predict_proba applies it
    tempered, _ = predict_proba(ds["text"], model=replace(clf, confidence_map=None))
    probs = tempered if clf.confidence_map is None else apply_confidence_map(tempered, *clf.confidence_map)
    pred = probs.argmax(1)
    train = load_split(data_dir, "train", with_contrast=True).to_dict()
    tfidf = tfidf_lr(train["text"], train["labels"])
    pairs = load_pairs(data_dir, split)
    baselines = {"majority": lambda t: majority_predict(train["labels"], len(t)), "lexicon": lexicon_predict,
                 "tfidf_lr": tfidf.predict}
    base_pred = {name: np.asarray(fn(ds["text"])) for name, fn in baselines.items()}
    side_texts, side_gold = pair_sides(pairs)
    # the model's pair-side labels, computed once: the contrast figures and the selection metric share them
    side_pred = predict_proba(side_texts, model=clf)[0].argmax(1) if side_texts else np.zeros(0, dtype=int)
    report = {
        "split": split, "model": display_path(clf.path), "precision": clf.precision,
        **classification_metrics(y, pred),
        "by_difficulty": grouped_f1(y, pred, ds["difficulty"]),
        "by_rule": grouped_f1(y, pred, [r or "none" for r in ds["rule"]]),
        "ece": expected_calibration_error(probs, y),
        "contrast": pair_accuracy(lambda _: side_pred, pairs),
        "guide_examples": guide_examples(clf, data_dir),
        "baselines": {name: {**classification_metrics(y, p),
                             "contrast_pair_accuracy": pair_accuracy(baselines[name], pairs)["pair_accuracy"]}
                      for name, p in base_pred.items()},
    }
    if side_texts:  # what training selects epochs on (on dev): statements and pair sides together
        report["statements_and_pair_sides_macro_f1"] = float(f1_score(
            np.concatenate([y, side_gold]), np.concatenate([pred, side_pred]), average="macro",
            labels=range(len(LABELS)), zero_division=0))
    if clf.confidence_map is not None:  # what the dev-fitted confidence map adds
        report["ece_temperature_only"] = expected_calibration_error(tempered, y)
    best_name = max(report["baselines"], key=lambda k: report["baselines"][k]["macro_f1"])
    report["margin_over_best_baseline"] = report["macro_f1"] - report["baselines"][best_name]["macro_f1"]
    report["best_baseline"] = best_name
    best_pred = base_pred[best_name]
    report["bootstrap"] = bootstrap_ci(y, probs, best_pred)
    report["by_length"] = grouped_f1(y, pred, [length_band(t) for t in ds["text"]])
    source = [writers(g) for g in ds["group"]]
    report["by_writers"] = grouped_f1(y, pred, source)
    for key, base in grouped_f1(y, best_pred, source).items():
        report["by_writers"][key][f"{best_name}_macro_f1"] = base["macro_f1"]
        m = np.array([s == key for s in source])
        report["by_writers"][key]["ece"] = expected_calibration_error(probs[m], y[m])
    return report


def display_path(path) -> str:
    """The model folder relative to the working directory when it lies below it: a report committed
    with the model should not carry one machine's absolute paths."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def guide_examples(clf, data_dir: str) -> dict:
    path = Path(data_dir) / GUIDE_EXAMPLES
    if not path.exists():
        return {"n": 0}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    pred = predict_proba([r["text"] for r in rows], model=clf)[0].argmax(1)
    wrong = [r["text"] for r, p in zip(rows, pred) if LABELS[p] != r["label"]]
    return {"n": len(rows), "correct": len(rows) - len(wrong), "wrong": wrong}


def guide_gate(clf, data_dir: str) -> dict:
    """The release gate on the guide's own examples: ``guide_examples`` plus ``passed`` (all right, or
    no guide file). Training records it in ``detente.json``; ``training.card --install-from`` enforces it.
    """
    result = guide_examples(clf, data_dir)
    return {"passed": result.get("correct", 0) == result["n"], **result}


WRITERS = {"held_out_writers": "Held-out writers (batches h*, never in train)",
           "corpus_writers": "Corpus writers (other scenarios of theirs are in train)"}


def robustness_lines(report: dict) -> list[str]:
    """Bootstrap intervals, the two writer populations and length bands, one line each (terminal and
    model card share them)."""
    lines, best = [], report.get("best_baseline", "best baseline")
    if "bootstrap" in report:
        ci = report["bootstrap"]
        (lo, hi), (mlo, mhi), (elo, ehi) = ci["macro_f1_ci95"], ci["margin_ci95"], ci["ece_ci95"]
        lines.append(f"Bootstrap 95% intervals: macro-F1 [{lo:.3f}, {hi:.3f}]; margin over {best} "
                     f"[{mlo:+.3f}, {mhi:+.3f}]; ECE [{elo:.3f}, {ehi:.3f}]")
    for key, v in report.get("by_writers", {}).items():
        lines.append(f"{WRITERS.get(key, key)}: n={v['n']}, macro-F1 {v['macro_f1']:.3f}, "
                     f"{best} {v.get(best + '_macro_f1', float('nan')):.3f}, ECE {v['ece']:.3f}")
    if "by_length" in report:
        lines.append("By length: " + ", ".join(f"{k} {v['macro_f1']:.3f} (n={v['n']})"
                                               for k, v in report["by_length"].items()))
    return lines


def format_table(report: dict) -> str:
    """A plain-text summary of a report for the terminal."""
    lines = [f"split={report['split']} n={report['n']} precision={report['precision']}",
             f"{'':14}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
    for lab, m in report["per_class"].items():
        lines.append(f"{lab:14}{m['precision']:10.3f}{m['recall']:10.3f}{m['f1']:10.3f}{m['support']:9d}")
    lines.append(f"accuracy {report['accuracy']:.3f}  macro-F1 {report['macro_f1']:.3f}  "
                 f"ECE {report['ece']:.3f}" + (f" (temperature alone {report['ece_temperature_only']:.3f})"
                                               if "ece_temperature_only" in report else ""))
    c = report["contrast"]
    if c.get("n_pairs"):
        lines.append(f"contrast pairs {c['n_pairs']}: both right {c['pair_accuracy']:.3f}; of "
                     f"{c['missed']} missed, {c['missed_same_label']} with one label for both sides")
        if "statements_and_pair_sides_macro_f1" in report:
            lines.append("statements and pair sides together (training's selection metric): macro-F1 "
                         f"{report['statements_and_pair_sides_macro_f1']:.3f}")
    g = report["guide_examples"]
    if g.get("n"):
        lines.append(f"guide examples {g['correct']}/{g['n']}")
    lines.append("confusion (rows gold, cols predicted; " + ", ".join(LABELS) + "):")
    lines += ["  " + " ".join(f"{v:5d}" for v in row) for row in report["confusion"]]
    lines.append("by difficulty: " + ", ".join(
        f"{k} {v['macro_f1']:.3f} (n={v['n']})" for k, v in report["by_difficulty"].items()))
    lines.append("by rule: " + ", ".join(
        f"{k} {v['accuracy']:.2f}" for k, v in report["by_rule"].items()) + " (accuracy)")
    lines.append("baselines macro-F1 (pair accuracy): " + ", ".join(
        f"{k} {v['macro_f1']:.3f} ({v.get('contrast_pair_accuracy') or 0:.3f})"
        for k, v in report["baselines"].items())
        + f"; model margin {report['margin_over_best_baseline']:+.3f}")
    lines += robustness_lines(report)
    return "\n".join(lines)
