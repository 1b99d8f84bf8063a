"""Read the labeled corpus from local files with ``datasets``.

``data/statements.jsonl`` holds every statement with its ``split``; ``data/contrast.jsonl`` holds minimal
pairs (``text_a``/``label_a``, ``text_b``/``label_b``) with theirs. Training may add the train pairs, each
side as one more statement.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from datasets import Dataset, concatenate_datasets, disable_progress_bars, load_dataset

from model.labels import LABEL2ID

STATEMENTS = "statements.jsonl"
CONTRAST = "contrast.jsonl"
AUGMENTED = "augmented.jsonl"
KEEP = ("text", "label", "difficulty", "rule", "group")

disable_progress_bars()  # one-line logs from training beat a wall of bars


def load_split(data_dir: str | Path, split: str, *, with_contrast: bool = False,
               with_augmented: bool = False, contrast_repeats: int = 1) -> Dataset:
    """Statements of one split as a Dataset with ``text``, ``label`` (string), ``labels`` (id), ...

    Example:
        >>> ds = load_split("data", "dev")  # doctest: +SKIP
    """
    data_dir = Path(data_dir)
    parts = [_select(_read(data_dir / STATEMENTS), split, "statement")]
    if with_contrast and (data_dir / CONTRAST).exists():
        pairs = load_pairs(data_dir, split)
        # each repeat gets its own pair numbers, so a pair batch holds one copy of a pair, not two
        parts += [pairs_as_statements(pairs, first=r * len(pairs)) for r in range(contrast_repeats)]
    if with_augmented and (data_dir / AUGMENTED).exists():
        parts.append(_select(_read(data_dir / AUGMENTED), split, "augmented"))
    ds = concatenate_datasets([p for p in parts if len(p)])
    return ds.map(lambda r: {"labels": LABEL2ID[r["label"]]})


def load_pairs(data_dir: str | Path, split: str) -> Dataset:
    """Contrast pairs of one split."""
    ds = _read(Path(data_dir) / CONTRAST)
    return ds.filter(lambda r: r["split"] == split)


def pairs_as_statements(pairs: Dataset, first: int = 0) -> Dataset:
    """Each pair's two sides as two statements, tagged ``source="contrast"`` and numbered ``pair``
    (``first``, ``first + 1``, ...; both sides share the number)."""
    rows: dict[str, list] = {k: [] for k in (*KEEP, "source", "pair")}
    for i, r in enumerate(pairs):
        for side in ("a", "b"):
            rows["text"].append(r[f"text_{side}"])
            rows["label"].append(r[f"label_{side}"])
            rows["difficulty"].append("hard")
            rows["rule"].append(r["rule"])
            rows["group"].append(r["group"])
            rows["source"].append("contrast")
            rows["pair"].append(first + i)
    return Dataset.from_dict(rows)


def fingerprint(data_dir: str | Path) -> dict:
    """What a model was trained on: a short sha256 of each corpus file and the statements per split.

    Saved in ``detente.json`` as ``corpus``, so a model's figures can be tied to its data.

    Example:
        >>> fingerprint("data")["statements_per_split"]["train"]  # doctest: +SKIP
        6452
    """
    out: dict = {"sha256": {}, "statements_per_split": {}, "pairs_per_split": {}}
    for name, counts in ((STATEMENTS, "statements_per_split"), (CONTRAST, "pairs_per_split"),
                         (AUGMENTED, None)):
        path = Path(data_dir) / name
        if not path.exists():
            continue
        raw = path.read_bytes()
        out["sha256"][name] = hashlib.sha256(raw).hexdigest()[:16]
        if counts:
            out[counts] = dict(Counter(json.loads(line)["split"]
                                       for line in raw.decode("utf-8").splitlines() if line.strip()))
    return out


def _read(path: Path) -> Dataset:
    if not path.exists():
        raise FileNotFoundError(f"no corpus file at {path}")
    if not path.read_text(encoding="utf-8").strip():
        return Dataset.from_dict({"split": []})
    return load_dataset("json", data_files=str(path), split="train")


def _select(ds: Dataset, split: str, source: str) -> Dataset:
    ds = ds.filter(lambda r: r["split"] == split)
    ds = ds.select_columns(list(KEEP))
    return ds.add_column("source", [source] * len(ds)).add_column("pair", [-1] * len(ds))
