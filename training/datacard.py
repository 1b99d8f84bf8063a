"""The data card's figures, computed from the corpus files: ``python -m training.datacard [--write]``.

Prints the statistics section of ``data/README.md``; ``--write`` replaces the section between the
``stats`` markers in place. A test checks the card is current.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

from model.io import atomic_write
from model.labels import LABELS

from .corpus import is_held_out

START, END = "<!-- stats:start -->", "<!-- stats:end -->"
SECOND_PASS = "annotation/second_pass.jsonl"
ECHO_AUDIT = "annotation/echo_audit.jsonl"
PRE_AUDIT = "annotation/echo_audit_before_assembly.jsonl"


def _read(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def _table(title: str, counts: Counter, total: int, top: int | None = None) -> list[str]:
    lines = [f"| {title} | n | share |", "|---|---:|---:|"]
    for key, n in counts.most_common(top):
        lines.append(f"| {key} | {n} | {n / total:.1%} |")
    return lines + [""]


def _agree(rows: list[dict]) -> dict:
    a, b = [r["label_first"] for r in rows], [r["label_second"] for r in rows]
    return {"n": len(rows), "agreement": sum(x == y for x, y in zip(a, b)) / len(rows),
            "kappa": cohen_kappa_score(a, b, labels=list(LABELS))}


def agreement(data_dir: Path) -> dict:
    """Raw agreement and Cohen's kappa between the writers' labels and the blind second pass."""
    path = data_dir / SECOND_PASS
    if not path.exists():
        return {}
    rows = _read(path)
    out = _agree(rows)
    subsets = {kind: [r for r in rows if r["kind"] == kind] for kind in ("statement", "contrast")}
    subsets["held-out writers' statement"] = [r for r in rows if is_held_out(r.get("batch", ""))]
    out.update({name: _agree(sub) for name, sub in subsets.items() if sub})
    out["outcomes"] = Counter(r["outcome"] for r in rows if r["label_first"] != r["label_second"])
    out["by_batch"] = {b: {"n": len(sub), "agreement": _agree(sub)["agreement"],
                           "dropped": sum(r["outcome"] == "dropped" for r in sub)}
                       for b, sub in _by(rows, "batch").items()}
    return out


def _by(rows: list[dict], key: str) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r)
    return groups


def render_stats(data_dir: str | Path) -> str:
    """The statistics section of the data card as Markdown."""
    data_dir = Path(data_dir)
    rows = _read(data_dir / "statements.jsonl")
    pairs = _read(data_dir / "contrast.jsonl")
    n = len(rows)
    lines = [f"**{n} statements** and **{len(pairs)} contrast pairs**.", ""]
    lines += ["| split | " + " | ".join(LABELS) + " | total |", "|---|" + "---:|" * (len(LABELS) + 1)]
    for split in ("train", "dev", "test"):
        c = Counter(r["label"] for r in rows if r["split"] == split)
        lines.append(f"| {split} | " + " | ".join(str(c[l]) for l in LABELS) + f" | {sum(c.values())} |")
    c = Counter(r["label"] for r in rows)
    lines += ["| all | " + " | ".join(f"{c[l]} ({c[l] / n:.1%})" for l in LABELS) + f" | {n} |", ""]
    held = [r for r in rows if is_held_out(r["group"])]
    if held:
        lines += ["| writers | " + " | ".join(("train", "dev", "test")) + " |", "|---|---:|---:|---:|"]
        for name, sub in (("corpus writers (b*)", [r for r in rows if not is_held_out(r["group"])]),
                          ("held-out writers (h*)", held)):
            c = Counter(r["split"] for r in sub)
            lines.append(f"| {name} | {c['train']} | {c['dev']} | {c['test']} |")
        lines.append("")
    lines += _table("difficulty", Counter(r["difficulty"] for r in rows), n)
    lines += _table("rule (hard cases)", Counter(r["rule"] for r in rows if r["rule"]), n)
    lines += _table("register", Counter(r["register"] for r in rows), n)
    lines += _table("topic", Counter(r["topic"] for r in rows), n)
    actors = Counter(r["actor"] for r in rows)
    lines += [f"{len(actors)} actors; the 30 most frequent:", ""] + _table("actor", actors, n, 30)
    words = sorted(len(r["text"].split()) for r in rows)
    mid = sum(10 <= w <= 40 for w in words)
    lines += [f"Length in words: min {words[0]}, median {words[n // 2]}, max {words[-1]}; "
              f"{mid / n:.1%} between 10 and 40. Translation-flavoured: "
              f"{sum(bool(r.get('translated')) for r in rows)}. Groups (scenarios): "
              f"{len({r['group'] for r in rows})}.", ""]
    lines += ["| contrast pairs | " + " | ".join(("train", "dev", "test")) + " |", "|---|---:|---:|---:|"]
    for edit, _ in Counter(p["edit"] for p in pairs).most_common():
        c = Counter(p["split"] for p in pairs if p["edit"] == edit)
        lines.append(f"| {edit} | {c['train']} | {c['dev']} | {c['test']} |")
    c = Counter(p["split"] for p in pairs)
    lines += [f"| all | {c['train']} | {c['dev']} | {c['test']} |", ""]
    lines += _agreement_lines(agreement(data_dir))
    lines += _echo_audit_lines(data_dir / ECHO_AUDIT)
    lines += _pre_audit_lines(data_dir / PRE_AUDIT)
    return "\n".join(lines)


def _echo_audit_lines(path: Path) -> list[str]:
    """Counts of the lines removed for echoing real remarks (the audit section of the card)."""
    if not path.exists():
        return []
    rows = _read(path)
    verdict = Counter(r["verdict"] for r in rows)
    split = Counter(r["split"] for r in rows)
    action = Counter(r["action"] for r in rows)
    high = sum(r["confidence"] == "high" for r in rows)
    return [f"Echo audit: {len(rows)} lines removed ({verdict['verbatim']} verbatim, "
            f"{verdict['close']} close; {high} with high confidence; train {split['train']}, "
            f"dev {split['dev']}, test {split['test']}): {action['replaced']} replaced, "
            f"{action['dropped']} dropped.", ""]


def _pre_audit_lines(path: Path) -> list[str]:
    """Counts of the texts flagged in new batches and kept out of the corpus before it was assembled."""
    if not path.exists():
        return []
    rows = _read(path)
    pairs = {r["flag_id"].rstrip("ab") for r in rows if r["kind"] == "pair"}
    by_batch = Counter(r["batch"] for r in rows)
    return [f"Echo audit of new batches before assembly: {len(rows)} texts flagged "
            f"({sum(r['verdict'] == 'verbatim' for r in rows)} verbatim; "
            f"{sum(r['confidence'] == 'high' for r in rows)} with high confidence); "
            f"{sum(r['kind'] == 'statement' for r in rows)} statements and {len(pairs)} pairs kept out. "
            "By batch: " + ", ".join(f"{b} {n}" for b, n in sorted(by_batch.items(),
                                                                   key=lambda kv: int(kv[0][1:]))) + ".", ""]


def _batch_agreement_lines(by_batch: dict[str, dict]) -> list[str]:
    """Agreement of the blind pass per writing batch, with how many disagreements were dropped."""
    lines = ["| batch | texts relabelled | agreement | dropped |", "|---|---:|---:|---:|"]
    for b in sorted(by_batch, key=lambda b: (b[0], int(b[1:]))):
        k = by_batch[b]
        lines.append(f"| {b} | {k['n']} | {k['agreement']:.1%} | {k['dropped']} |")
    return lines + [""]


def _agreement_lines(a: dict) -> list[str]:
    if not a:
        return ["No second annotation pass recorded yet.", ""]
    lines = [f"Blind second pass: {a['n']} texts, raw agreement {a['agreement']:.1%}, "
             f"Cohen's kappa {a['kappa']:.3f}."]
    for kind in ("statement", "contrast", "held-out writers' statement"):
        if kind in a:
            k = a[kind]
            lines.append(f"- {kind} texts: {k['n']}, agreement {k['agreement']:.1%}, kappa {k['kappa']:.3f}")
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(a["outcomes"].items()))
    return lines + [f"- disagreements resolved: {outcomes}", ""] + _batch_agreement_lines(a["by_batch"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--write", action="store_true", help="update data/README.md in place")
    args = parser.parse_args()
    stats = render_stats(args.data_dir)
    if not args.write:
        print(stats)
        return
    card = Path(args.data_dir) / "README.md"
    text = card.read_text(encoding="utf-8")
    head, rest = text.split(START)
    tail = rest.split(END)[1]
    atomic_write(card, f"{head}{START}\n{stats}\n{END}{tail}")


if __name__ == "__main__":
    main()
