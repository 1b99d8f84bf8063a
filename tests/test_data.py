"""The labeled corpus: schema, uniqueness, leakage between splits, balance and coverage floors."""

import json
import re
from collections import Counter
from itertools import combinations
from pathlib import Path

import pytest

from training.corpus import is_held_out, jaccard, normalise, trigrams

DATA = Path(__file__).resolve().parent.parent / "data"
LABELS = {"conciliatory", "neutral", "hostile"}
RULES = {str(i) for i in range(1, 14)} | {"irony", "understatement"}
TOPICS = {"trade", "export_controls", "territory", "maritime", "sanctions", "military", "nuclear",
          "human_rights", "elections", "energy", "climate", "migration", "health", "technology",
          "visits", "other"}
REGISTERS = {"briefing", "speech", "joint_statement", "readout", "interview", "social_media",
             "un_speech", "ministry_statement", "op_ed"}
FIELDS = {"id", "text", "label", "speaker", "actor", "target", "topic", "register", "date",
          "difficulty", "rule", "group", "split"}
PAIR_FIELDS = {"pair_id", "text_a", "label_a", "text_b", "label_b", "edit", "rule", "group", "split"}
ORGS = {"UN", "EU", "NATO", "AU", "ASEAN", "G7", "G20", "BRICS"}


def read(name):
    return [json.loads(x) for x in (DATA / name).read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.fixture(scope="module")
def rows():
    return read("statements.jsonl")


@pytest.fixture(scope="module")
def pairs():
    return read("contrast.jsonl")


def test_schema_and_values(rows):
    for r in rows:
        assert FIELDS <= set(r), r.get("id")
        assert r["label"] in LABELS and r["split"] in {"train", "dev", "test"}
        assert r["topic"] in TOPICS and r["register"] in REGISTERS
        assert r["difficulty"] in {"easy", "hard"}
        assert (r["rule"] in RULES) if r["difficulty"] == "hard" else r["rule"] is None
        assert r["date"] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["date"])
        assert r["actor"] and r["group"] and r["speaker"]
        assert 4 <= len(r["text"].split()) <= 90, r["id"]


def test_ids_unique(rows, pairs):
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({p["pair_id"] for p in pairs}) == len(pairs)


def test_no_exact_duplicates(rows):
    counts = Counter(normalise(r["text"]) for r in rows)
    assert [t for t, n in counts.items() if n > 1] == []


def test_groups_never_cross_splits(rows, pairs):
    split_of = {}
    for r in [*rows, *pairs]:
        assert split_of.setdefault(r["group"], r["split"]) == r["split"], r["group"]


def _texts(rows, pairs, split):
    out = [r["text"] for r in rows if r["split"] == split]
    return out + [p[f"text_{s}"] for p in pairs if p["split"] == split for s in "ab"]


@pytest.mark.parametrize("held_out", ["dev", "test"])
def test_no_near_duplicates_across_splits(rows, pairs, held_out):
    train = [trigrams(t) for t in _texts(rows, pairs, "train")]
    index = {}
    for i, grams in enumerate(train):
        for g in grams:
            index.setdefault(g, []).append(i)
    for text in _texts(rows, pairs, held_out):
        grams = trigrams(text)
        for j in {j for g in grams for j in index.get(g, ())}:
            assert jaccard(grams, train[j]) <= 0.7, text


def test_size_and_balance(rows):
    assert len(rows) >= 4000
    share = Counter(r["label"] for r in rows)
    for label in LABELS:
        assert 0.28 <= share[label] / len(rows) <= 0.40, (label, share)
    splits = Counter(r["split"] for r in rows)
    corpus_writers = [r for r in rows if not is_held_out(r["batch"])]
    share_train = Counter(r["split"] for r in corpus_writers)["train"] / len(corpus_writers)
    assert 0.75 <= share_train <= 0.85, share_train
    assert min(splits["dev"], splits["test"]) / len(rows) >= 0.08


def test_hard_case_floors(rows):
    assert sum(r["difficulty"] == "hard" for r in rows) / len(rows) >= 0.30
    rules = Counter(r["rule"] for r in rows)
    for rule in [str(i) for i in range(2, 14)] + ["irony", "understatement"]:
        assert rules[rule] >= 40, (rule, rules[rule])


def test_breadth(rows):
    actors = {r["actor"] for r in rows}
    assert len(actors) >= 40 and ORGS <= actors
    assert len({r["topic"] for r in rows} - {"other"}) >= 12
    assert len({r["register"] for r in rows}) >= 8
    lengths = [len(r["text"].split()) for r in rows]
    assert sum(10 <= n <= 40 for n in lengths) / len(lengths) >= 0.6
    assert min(lengths) <= 6 and max(lengths) >= 60
    assert sum(r.get("translated", False) for r in rows) >= 200


def test_contrast_pairs(pairs, rows):
    assert len(pairs) >= 300
    for p in pairs:
        assert PAIR_FIELDS <= set(p)
        assert p["label_a"] in LABELS and p["label_b"] in LABELS and p["label_a"] != p["label_b"]
        assert p["split"] in {"train", "dev", "test"}
    held = [p for p in pairs if p["split"] == "test"]
    assert len(held) >= 40
    assert len({p["actor"] for p in pairs}) >= 30
    assert len({p["rule"] for p in pairs}) >= 12
    statements = {normalise(r["text"]) for r in rows}
    assert not [p for p in pairs if normalise(p["text_a"]) in statements
                or normalise(p["text_b"]) in statements]


def test_pairs_are_minimal(pairs):
    """A minimal pair shares most of its words: the shorter side keeps at least half of them."""
    from training.corpus import word_overlap

    for p in pairs:
        assert word_overlap(p["text_a"], p["text_b"]) >= 0.5, p["pair_id"]


def test_augmented_is_tagged_and_separate():
    path = DATA / "augmented.jsonl"
    if not path.exists():
        pytest.skip("no generated augmentations in this corpus")
    for r in read("augmented.jsonl"):
        assert r.get("generated") is True and r["split"] == "train"


def test_data_card_is_current():
    from training.datacard import render_stats

    card = (DATA / "README.md").read_text(encoding="utf-8")
    section = card.split("<!-- stats:start -->")[1].split("<!-- stats:end -->")[0]
    assert section.strip() == render_stats(DATA).strip(), "run: python -m training.datacard --write"


def test_guide_examples_cover_every_label():
    examples = read("guide_examples.jsonl")
    assert {e["label"] for e in examples} == LABELS and len(examples) >= 12


def test_held_out_writers_never_reach_train(rows):
    """Batches h* were written by independent writers for evaluation: dev and test only, a real share."""
    held = [r for r in rows if is_held_out(r["batch"])]
    assert len(held) >= 500
    splits = Counter(r["split"] for r in held)
    assert splits["train"] == 0
    assert splits["test"] >= 0.5 * len(held) and splits["dev"] >= 0.25 * len(held)
    for label in LABELS:
        assert 0.28 <= sum(r["label"] == label for r in held if r["split"] == "test") / splits["test"] <= 0.40


def test_echo_audit_removed_lines_stay_out(rows, pairs):
    """Lines the audit found echoing real remarks never come back: their ids are gone, and each
    replacement is in the corpus, in a split the old line's scenario already had."""
    audit = read("annotation/echo_audit.jsonl")
    by_id = {r["id"]: r for r in rows} | {p["pair_id"]: p for p in pairs}
    assert len({a["old_id"] for a in audit}) == len(audit)
    for a in audit:
        assert a["old_id"] not in by_id, f"{a['old_id']} was removed by the echo audit"
        assert a["action"] in {"replaced", "dropped"} and a["verdict"] in {"verbatim", "close"}
        if a["action"] == "replaced":
            assert by_id[a["new_id"]]["split"] == a["split"], a
        else:
            assert a["new_id"] is None


def test_readme_and_model_card_figures_are_current():
    """The README's figures block and the model card are rendered from the bundled metrics.json."""
    from training.card import FIGURES_END, FIGURES_START, render_card, render_readme_figures

    folder = DATA.parent / "model" / "default"
    if not (folder / "metrics.json").exists():
        pytest.skip("no bundled metrics")
    test = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    readme = (DATA.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split(FIGURES_START)[1].split(FIGURES_END)[0]
    hint = "run: python -m training.card model/default --readme README.md"
    assert block.strip() == render_readme_figures(test).strip(), hint
    assert (folder / "README.md").read_text(encoding="utf-8").strip() == render_card(folder).strip(), hint


def test_targets_line_names_met_and_missed():
    from training.card import targets_line

    test = {"macro_f1": 0.93, "margin_over_best_baseline": 0.05, "contrast": {"pair_accuracy": 0.81},
            "ece": 0.02, "guide_examples": {"correct": 23, "n": 24}}
    line = targets_line(test)
    met, missed = line.split("Missed:")
    assert "contrast pairs at least 0.80" in met and "macro-F1 at least 0.90" in met
    assert "margin" in missed and "guide example" in missed and "calibration" not in missed
