"""Two models on the same items: which statements and pairs each gets right that the other misses.

A difference in macro-F1 of a few thousandths on ~1,000 statements is within noise; counting the items
on which the two models disagree (and which way) shows whether a new model is better or merely
different, before a release is decided on dev.

Run: ``python -m training.compare runs/new model/default --split dev``.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from model.loader import load_model
from model.predict import predict_proba

from .data import load_pairs, load_split
from .evaluate import pair_sides


def right_answers(model: str | None, data_dir: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Per statement and per contrast pair of ``split``: did the model get it (both sides) right?

    Example:
        >>> statements, pairs = right_answers("model/default", "data", "dev")  # doctest: +SKIP
    """
    clf = load_model(model, precision="fp32")
    statements = load_split(data_dir, split)
    texts, gold = pair_sides(load_pairs(data_dir, split))  # all a sides, then all b sides
    right = [predict_proba(list(x), model=clf)[0].argmax(1) == np.asarray(y)
             for x, y in ((statements["text"], statements["labels"]), (texts, gold))]
    n = len(gold) // 2
    return right[0], right[1][:n] & right[1][n:]


def compare(model_a: str | None, model_b: str | None, data_dir: str = "data",
            split: str = "dev") -> dict:
    """Accuracy of each model and the items only one of them gets right, for statements and pairs.

    Example:
        >>> compare("runs/new", "model/default")["pairs"]["only_a"]  # doctest: +SKIP
        28
    """
    a, b = right_answers(model_a, data_dir, split), right_answers(model_b, data_dir, split)
    return {name: {"n": int(len(x)), "accuracy_a": float(x.mean()) if len(x) else None,
                   "accuracy_b": float(y.mean()) if len(y) else None,
                   "only_a": int((x & ~y).sum()), "only_b": int((y & ~x).sum())}
            for name, x, y in (("statements", a[0], b[0]), ("pairs", a[1], b[1]))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_a", help="model folder (A)")
    parser.add_argument("model_b", help="model folder (B), or 'default' for the bundled model")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--split", default="dev", choices=["train", "dev", "test"])
    args = parser.parse_args()
    print(json.dumps(compare(args.model_a, args.model_b, args.data_dir, args.split), indent=2))


if __name__ == "__main__":
    main()
