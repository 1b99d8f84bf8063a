"""Corpus assembly: duplicates, near-duplicate grouping, stable splits, adjudication, loose pairs."""

import json

from training.corpus import (PAIR_SPLITS, STATEMENT_SPLITS, apply_adjudication, assign_splits, build,
                             demote_loose_pairs, split_for)


def stmt(text, group, label="neutral"):
    return {"text": text, "label": label, "group": group, "speaker": "s", "actor": "UN",
            "target": None, "topic": "other", "register": "briefing", "date": None,
            "difficulty": "easy", "rule": None, "translated": False}


def pair(a, b, group, la="neutral", lb="hostile"):
    return {"text_a": a, "label_a": la, "text_b": b, "label_b": lb, "edit": "other", "rule": "2",
            "speaker": "s", "actor": "UN", "target": None, "topic": "other", "register": "briefing",
            "group": group}


def test_split_for_is_stable_and_proportional():
    groups = [f"g{i}" for i in range(4000)]
    splits = [split_for(g, STATEMENT_SPLITS) for g in groups]
    assert splits == [split_for(g, STATEMENT_SPLITS) for g in groups]
    share = {s: splits.count(s) / len(splits) for s in ("train", "dev", "test")}
    assert abs(share["test"] - 0.10) < 0.02 and abs(share["dev"] - 0.10) < 0.02
    assert sum(split_for(g, PAIR_SPLITS) == "train" for g in groups) / len(groups) < 0.75


def test_near_duplicates_share_a_split():
    rows = [stmt(f"the ministers met in geneva on monday to discuss the grain corridor {i}", f"g{i}")
            for i in range(40)]
    assign_splits(rows, [])
    assert len({r["split"] for r in rows}) == 1


def test_a_pair_is_linked_through_either_side():
    # the first side is the near duplicate: both sides of a pair must be compared, not just the last
    text = "once the sanctions are lifted the country is ready to return to full compliance"
    rows = [stmt(text + f" {i}", f"g{i}") for i in range(40)]
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()
    pairs = [pair(text + " 0", " ".join(f"{words[i]}{k}" for k in range(5)), f"p{i}") for i in range(12)]
    assign_splits(rows, pairs)
    assert len({r["split"] for r in rows + pairs}) == 1


def test_a_pair_repeating_a_statement_is_dropped(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "b1_statements.jsonl").write_text(json.dumps(stmt("We are ready to talk today.", "b1/s")) + "\n")
    (raw / "b2_pairs.jsonl").write_text(
        json.dumps(pair("we are ready to talk today", "we are not ready to talk today", "b2/p")) + "\n")
    statements, pairs = build(raw, tmp_path)
    assert len(statements) == 1 and pairs == []


def test_adjudication_relabels_drops_and_prunes_pairs():
    rows = [stmt("keep me", "g1"), stmt("drop me", "g2"), stmt("flip me", "g3")]
    pairs = [pair("we note the remarks", "we condemn the remarks", "p1"),
             pair("talks on friday", "talks on friday, as agreed", "p2", "neutral", "conciliatory")]
    decisions = [{"text": "drop me", "outcome": "dropped", "final": None},
                 {"text": "Flip me!", "outcome": "adopted_second", "final": "hostile"},
                 {"text": "talks on friday", "outcome": "adopted_second", "final": "conciliatory"},
                 {"text": "keep me", "outcome": "agreed", "final": "neutral"}]
    kept, kept_pairs = apply_adjudication(rows, pairs, decisions)
    assert [(r["text"], r["label"]) for r in kept] == [("keep me", "neutral"), ("flip me", "hostile")]
    assert [p["group"] for p in kept_pairs] == ["p1"]  # p2's sides now share a label


def test_loose_pairs_become_statements():
    minimal, loose = demote_loose_pairs([
        pair("the talks will resume on friday", "the talks will resume on friday as agreed", "p1"),
        pair("we note it", "our patience with these reckless provocations is exhausted", "p2")])
    assert [p["group"] for p in minimal] == ["p1"]
    assert [r["label"] for r in loose] == ["neutral", "hostile"] and loose[0]["difficulty"] == "hard"


def test_build_end_to_end(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    rows = [stmt(f"statement number {i} about topic {i * 7}", f"b1/g{i % 9}") for i in range(30)]
    rows.append(stmt("Statement number 0 about topic 0!", "b1/dup"))  # exact duplicate after normalising
    (raw / "b1_statements.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (raw / "b1_pairs.jsonl").write_text(json.dumps(pair("we note it today", "we condemn it today",
                                                        "b1/p")) + "\n")
    statements, pairs = build(raw, tmp_path)
    assert len(statements) == 30 and statements[0]["id"] == "s00001"
    assert pairs[0]["pair_id"] == "p0001" and (tmp_path / "statements.jsonl").exists()


def _write(raw, name, rows):
    (raw / f"{name}_statements.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_adding_batches_keeps_ids_and_splits_and_held_out_stays_out_of_train(tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    # one old scenario that the hash sends to test; the new batch's group name hashes to train
    assert split_for("b7/accord-12", STATEMENT_SPLITS) == "test"
    assert split_for("b16/a", STATEMENT_SPLITS) == "train"
    _write(raw, "b7", [stmt(f"the ministers discussed item {i} of the pandemic accord text", "b7/accord-12")
                       for i in range(6)])
    first, _ = build(raw, tmp_path)
    before = {r["text"]: (r["id"], r["split"]) for r in first}
    # a later batch sorts before b7 by name and repeats one of b7's texts near verbatim
    _write(raw, "b16", [stmt("the ministers discussed item 3 of the pandemic accord text today", "b16/a"),
                        stmt("the ministers discussed item 3 of the pandemic accord text", "b16/y"),
                        *[stmt(f"a new scenario line {i} about fisheries quotas", f"b16/n{i}")
                          for i in range(20)]])
    _write(raw, "h1", [stmt(f"held out remark {i} on river water sharing", f"h1/s{i}") for i in range(80)])
    second, _ = build(raw, tmp_path)
    after = {r["text"]: (r["id"], r["split"]) for r in second}
    assert all(after[t] == v for t, v in before.items())  # no old id or split moved
    dup = [r for r in second if r["text"] == "the ministers discussed item 3 of the pandemic accord text"]
    assert len(dup) == 1 and dup[0]["group"] == "b7/accord-12"  # the exact duplicate keeps its first writer
    near = next(r for r in second if r["group"] == "b16/a")
    assert near["split"] == before["the ministers discussed item 3 of the pandemic accord text"][1]
    held = [r for r in second if r["group"].startswith("h1/")]
    assert {r["split"] for r in held} == {"dev", "test"}
    assert len({r["id"] for r in second}) == len(second)
