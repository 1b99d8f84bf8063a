"""Assemble the written batches into the corpus: ids, near-duplicate grouping and group-disjoint splits.

Run once after writing: ``python -m training.corpus RAW_DIR --out data``. Reads ``*_statements.jsonl``
and ``*_pairs.jsonl`` from RAW_DIR (one pair of files per writing batch), drops exact duplicates
(after normalising case and punctuation), joins groups whose statements are near duplicates (word
3-gram Jaccard above 0.5) so they always share a split, then assigns whole groups to splits by a hash of
the group's name, so adding batches later never moves an existing group to another split.

Batches whose name starts with ``h`` are held-out writers: independent writers, briefed to write in the
shape of real remarks, who never saw the corpus. Their groups go to dev or test only, never to train, so
the test split measures the model on writing it has not learned the habits of (a group that is a near
duplicate of a training batch's group follows that group instead).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path

NEAR_DUP = 0.5
# a minimal pair: the shorter side shares at least half its words with the other
MIN_SHARED = 0.5
STATEMENT_SPLITS = (("test", 0.10), ("dev", 0.10))  # the rest is train
PAIR_SPLITS = (("test", 0.15), ("dev", 0.15))
HELD_OUT_PREFIX = "h"
HELD_OUT_SPLITS = (("test", 0.65),)  # the rest is dev: calibration and model selection see the new writers
SEED = 20251012


def normalise(text: str) -> str:
    """Lower case, letters and digits only, single spaces: the key for exact duplicates."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def trigrams(text: str) -> set[tuple[str, ...]]:
    words = normalise(text).split()
    return {tuple(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        self.parent[self.find(a)] = self.find(b)


def near_duplicate_pairs(texts: list[tuple[str, str]], threshold: float = NEAR_DUP):
    """(key_a, key_b, score) for texts whose 3-gram Jaccard exceeds the threshold.

    A key may carry several texts (both sides of a contrast pair): each text is compared on its own,
    so a pair is linked through either side.
    """
    grams = [(key, trigrams(text)) for key, text in texts]
    postings: dict[tuple, list[int]] = defaultdict(list)
    for i, (_, g) in enumerate(grams):
        for gram in g:
            postings[gram].append(i)
    seen = set()
    for i, (key, g) in enumerate(grams):
        for j in {j for gram in g for j in postings[gram] if j > i}:
            other, g2 = grams[j]
            if other == key or (key, other) in seen:
                continue
            score = jaccard(g, g2)
            if score > threshold:
                seen.add((key, other))
                yield key, other, score


def read_batches(raw: Path) -> tuple[list[dict], list[dict]]:
    statements, pairs = [], []
    for path in sorted(raw.glob("*_statements.jsonl")):
        statements += [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    for path in sorted(raw.glob("*_pairs.jsonl")):
        pairs += [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return statements, pairs


def dedupe(statements: list[dict]) -> list[dict]:
    seen, out = set(), []
    for row in statements:
        key = normalise(row["text"])
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def batch_of(group: str) -> str:
    """The writing batch a group belongs to: ``b7/pandemic-accord`` -> ``b7``."""
    return group.split("/")[0]


def is_held_out(group: str) -> bool:
    """True for a group (or a batch name) written by the held-out writers."""
    return batch_of(group).startswith(HELD_OUT_PREFIX)


def seniority(group: str) -> tuple[int, str]:
    """Older batches first (b7 before b16): when a new batch's text joins an old group, the old group's
    split decides, so adding batches never moves an existing group."""
    digits = re.sub(r"\D", "", batch_of(group))
    return (int(digits) if digits else 0, group)


def split_for(group: str, plan: tuple[tuple[str, float], ...], seed: int = SEED,
              rest: str = "train") -> str:
    """A split drawn from a hash of the group's name: stable when other groups are added later."""
    digest = hashlib.sha1(f"{seed}:{group}".encode("utf-8")).hexdigest()
    u = int(digest[:8], 16) / 0xFFFFFFFF
    for name, share in plan:
        if u < share:
            return name
        u -= share
    return rest


def assign_splits(statements: list[dict], pairs: list[dict], seed: int = SEED) -> None:
    """Set ``split`` on every row; rows linked by group or near-duplicate text share a split."""
    uf = UnionFind()
    texts = []
    for i, row in enumerate(statements):
        uf.union(f"s{i}", "g:" + row["group"])
        texts.append((f"s{i}", row["text"]))
    for i, row in enumerate(pairs):
        uf.union(f"p{i}", "g:" + row["group"])
        texts += [(f"p{i}", row["text_a"]), (f"p{i}", row["text_b"])]
    for a, b, _ in near_duplicate_pairs(texts):
        uf.union(a, b)
    components: dict[str, list[str]] = defaultdict(list)
    for key in [f"s{i}" for i in range(len(statements))] + [f"p{i}" for i in range(len(pairs))]:
        components[uf.find(key)].append(key)
    split_of = {}
    for members in components.values():
        groups = sorted({(statements if m[0] == "s" else pairs)[int(m[1:])]["group"] for m in members},
                        key=seniority)
        kind = "s" if any(m.startswith("s") for m in members) else "p"
        if all(is_held_out(g) for g in groups):
            split = split_for(groups[0], HELD_OUT_SPLITS, seed, rest="dev")
        else:
            groups = [g for g in groups if not is_held_out(g)]
            split = split_for(groups[0], STATEMENT_SPLITS if kind == "s" else PAIR_SPLITS, seed)
        for m in members:
            split_of[m] = split
    for i, row in enumerate(statements):
        row["split"] = split_of[f"s{i}"]
    for i, row in enumerate(pairs):
        row["split"] = split_of[f"p{i}"]


STATEMENT_FIELDS = ("id", "text", "label", "speaker", "actor", "target", "topic", "register", "date",
                    "difficulty", "rule", "group", "split", "translated", "batch")
PAIR_FIELDS = ("pair_id", "text_a", "label_a", "text_b", "label_b", "edit", "rule", "speaker", "actor",
               "target", "topic", "register", "group", "split", "batch")


def apply_adjudication(statements: list[dict], pairs: list[dict], decisions: list[dict]):
    """Relabel or drop what the second-pass adjudication settled; a pair whose sides end up with the
    same label, or with a dropped side, is dropped whole."""
    by_text = {normalise(d["text"]): d for d in decisions if d["outcome"] != "agreed"}

    def settle(text: str, label: str) -> str | None:
        d = by_text.get(normalise(text))
        return label if d is None else d["final"]

    statements = [{**r, "label": settle(r["text"], r["label"])} for r in statements]
    kept_pairs = []
    for p in pairs:
        a, b = settle(p["text_a"], p["label_a"]), settle(p["text_b"], p["label_b"])
        if a and b and a != b:
            kept_pairs.append({**p, "label_a": a, "label_b": b})
    return [r for r in statements if r["label"]], kept_pairs


def word_overlap(a: str, b: str) -> float:
    """Share of the shorter text's distinct words that the other text also has."""
    wa, wb = set(normalise(a).split()), set(normalise(b).split())
    return len(wa & wb) / max(min(len(wa), len(wb)), 1)


def demote_loose_pairs(pairs: list[dict]) -> tuple[list[dict], list[dict]]:
    """Pairs that rewrite too much are not minimal: their two sides become ordinary hard statements."""
    minimal, statements = [], []
    for p in pairs:
        if word_overlap(p["text_a"], p["text_b"]) >= MIN_SHARED:
            minimal.append(p)
            continue
        for side in "ab":
            statements.append({k: p.get(k) for k in ("speaker", "actor", "target", "topic", "register",
                                                     "group")}
                              | {"text": p[f"text_{side}"], "label": p[f"label_{side}"], "date": None,
                                 "difficulty": "hard", "rule": p["rule"], "translated": False})
    return minimal, statements


def build(raw: Path, out: Path, adjudication: Path | None = None) -> tuple[list[dict], list[dict]]:
    statements, pairs = read_batches(raw)
    if adjudication is not None and adjudication.exists():
        decisions = [json.loads(x) for x in adjudication.read_text(encoding="utf-8").splitlines() if x]
        statements, pairs = apply_adjudication(statements, pairs, decisions)
    pairs, loose = demote_loose_pairs(pairs)
    statements += loose
    # oldest batch first, held-out writers last: an exact duplicate keeps its first writer's row
    statements.sort(key=lambda r: (is_held_out(r["group"]), seniority(r["group"])))
    statements = dedupe([{**r, "text": r["text"].strip(), "batch": batch_of(r["group"])}
                         for r in statements])
    # a pair whose side repeats a statement word for word is a duplicate too: the statement stays
    seen = {normalise(r["text"]) for r in statements}
    pairs = [{**r, "batch": batch_of(r["group"])} for r in pairs
             if normalise(r["text_a"]) not in seen and normalise(r["text_b"]) not in seen]
    assign_splits(statements, pairs)
    assign_ids(statements, out / "statements.jsonl", "id", "s{:05d}", lambda r: normalise(r["text"]))
    assign_ids(pairs, out / "contrast.jsonl", "pair_id", "p{:04d}",
               lambda r: normalise(r["text_a"]) + " || " + normalise(r["text_b"]))
    statements.sort(key=lambda r: r["id"])  # id order: a rebuild appends, so diffs stay readable
    pairs.sort(key=lambda r: r["pair_id"])
    write_jsonl(out / "statements.jsonl", [{k: r.get(k) for k in STATEMENT_FIELDS} for r in statements])
    write_jsonl(out / "contrast.jsonl", [{k: r.get(k) for k in PAIR_FIELDS} for r in pairs])
    return statements, pairs


def assign_ids(rows: list[dict], previous: Path, field: str, fmt: str, key) -> None:
    """Keep the id a text had in the previous build; new texts get fresh ids after the highest one."""
    known = {}
    if previous.exists():
        for line in previous.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                known[key(r)] = r[field]
    nxt = max((int(i[1:]) for i in known.values()), default=0)
    for row in rows:
        row[field] = known.get(key(row))
        if row[field] is None:
            nxt += 1
            row[field] = fmt.format(nxt)
    ids = [r[field] for r in rows]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate {field} after assignment")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    tmp.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--out", type=Path, default=Path("data"))
    parser.add_argument("--adjudication", type=Path, default=Path("data/annotation/second_pass.jsonl"))
    args = parser.parse_args()
    statements, pairs = build(args.raw, args.out, args.adjudication)
    counts = defaultdict(int)
    for r in statements:
        counts[r["split"]] += 1
    pc = defaultdict(int)
    for r in pairs:
        pc[r["split"]] += 1
    print(f"{len(statements)} statements {dict(counts)}; {len(pairs)} pairs {dict(pc)}")


if __name__ == "__main__":
    main()
