"""Write a model folder's card (README.md) from its saved metadata and evaluation reports.

Release a run as the bundled model::

    python -m training.card model/default --install-from runs/release
    detente evaluate --model model/default --split test --out model/default/metrics.json
    python -m training.card model/default

``--install-from`` refuses a run that gets any of the guide's own examples wrong (``--force`` overrides).
Every figure in the card comes from ``detente.json`` and ``metrics.json``; ``--readme README.md`` also
rewrites the project README's figures block from the same ``metrics.json``, so neither can go stale.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from model.io import atomic_write
from model.loader import META_FILE

from .evaluate import robustness_lines


def _on_corpus(meta: dict) -> str:
    """Which corpus a rerun needs: its fingerprint when the model saved one (older models did not)."""
    corpus = meta.get("corpus")
    if not corpus:
        return "on the corpus it was trained on (the README's Training section names it)"
    digest = corpus["sha256"].get("statements.jsonl", "?")
    pairs = corpus["sha256"].get("contrast.jsonl", "?")
    return (f"on the corpus it was trained on (`detente.json` 'corpus': statements.jsonl sha256 {digest}..., "
            f"contrast.jsonl {pairs}...)")


def render_card(folder: Path) -> str:
    meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    config = json.loads((folder / "training_config.json").read_text(encoding="utf-8"))
    test = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    heads = meta.get("head_comparison", {})
    comparison_file = folder / "head_comparison.json"
    note = ""
    if not heads and comparison_file.exists():
        saved = json.loads(comparison_file.read_text(encoding="utf-8"))
        heads, note = saved["heads"], saved.get("note", "")
    base = test["baselines"]
    c = test["contrast"]
    lines = [
        "# detente default model", "",
        "Labels a diplomatic quote `conciliatory`, `neutral` or `hostile` (the guide: `data/README.md`,",
        "fixed by `shared/LABELS.md`), with probabilities calibrated on dev (temperature scaling"
        + (", then a monotone map of the top label's confidence)." if meta.get("confidence_map") else ").")
        , "",
        "## Model",
        f"- Base: all-MiniLM-L6-v2 (6 layers, hidden 384), fine-tuned end to end; head: **{meta['head']}**"
        + (" ([CLS] token through the BERT pooler)." if meta["head"] == "cls" else
           " (masked mean pooling). Load it with `model.load_model` (or `model.heads.BertMeanPoolClassifier`"
           "); transformers' `AutoModelForSequenceClassification` would build a [CLS] classifier with a "
           "random pooler instead."),
    ]
    if heads:
        lines.append("- Head comparison (same data, seed and schedule; dev macro-F1): " + ", ".join(
            f"{h} {v['dev_macro_f1']:.3f}" for h, v in heads.items()) + f"; kept **{meta['head']}**."
            + (f" {note}" if note else ""))
    soup = meta.get("soup")
    if soup:
        members = soup["members"]
        head_seed = config.get("head_seed")
        shared = (f", all starting from one classifier head (drawn with seed {head_seed})"
                  if head_seed is not None else "")
        head_flag = f" --head-seed {head_seed}" if head_seed is not None else ""
        lines.append(
            f"- A weight average (model soup, `training/soup.py`) of {len(members)} runs identical but for "
            f"the seed ({', '.join(str(m['seed']) for m in members)}){shared}; its recipe is this folder's "
            f"`training_config.json` (`--soup {len(members)} --seed {members[0]['seed']}{head_flag}` and the "
            f"settings saved there), and `detente train --config` on that file runs it {_on_corpus(meta)}. "
            "Dev macro-F1 of the members "
            + ", ".join(f"{m['dev_macro_f1']:.3f}" for m in members)
            + f"; of the average {meta['dev_macro_f1']:.3f}.")
    trained = (f"Each member trained up to {config['epochs']} epochs (best kept by dev macro-F1)" if soup
               else f"Trained {len(meta['history'])} epochs (best kept by dev macro-F1 "
                    f"{meta['dev_macro_f1']:.3f})")
    lines += [
        f"- {trained}, "
        f"lr {config['learning_rate']}, batch {config['batch_size']}, seed {config['seed']}, class "
        f"weighting {config['class_weighting']}, train max length {config['max_length']} tokens, "
        f"forward pass in {config.get('train_precision', 'fp32')}"
        + (", word embeddings frozen" if config.get("freeze_embeddings") else "") + "; "
        f"{meta['train_seconds'] / 60:.1f} min on {meta['torch_threads']} CPU threads"
        + (" (all members together)." if soup else "."),
        f"- Temperature {meta['temperature']:.3f}"
        + (f", then an isotonic map of the top label's confidence ({len(meta['confidence_map']['x'])} "
           f"breakpoints), both fitted on {meta['confidence_map']['n']} dev statements; labels are never "
           "changed by it" if meta.get("confidence_map") else "")
        + f"; inference truncates at {meta['max_length']} tokens.",
        "- Weights stored as fp16 safetensors, run in fp32, bf16 or int8. Accuracy gates on the dev "
        "statements (label agreement with fp32 and macro-F1 drop): " + "; ".join(
            f"{p} agreement {g['agreement']:.3f} (needs {g['min_agreement']}), macro-F1 "
            f"{g[f'dev_macro_f1_{p}']:.3f} vs {g['dev_macro_f1_fp32']:.3f}: "
            f"**{'passed' if g['passed'] else 'failed'}**"
            for p in ("int8", "bf16") if (g := meta.get(f"{p}_gate"))) + ". `load_model()` runs the "
        "first fast path that passed (bf16 only on CPUs with native bf16), else fp32.",
        "", f"## Figures on the held-out {test['split']} split ({test['n']} statements, {test['precision']})",
        "Reproduce: `detente evaluate --model model/default --split test`.", "",
        "| | macro-F1 | accuracy | contrast pairs both right |", "|---|---:|---:|---:|",
        f"| this model | {test['macro_f1']:.3f} | {test['accuracy']:.3f} | {c['pair_accuracy']:.3f} |",
    ]
    lines += [f"| baseline: {k} | {v['macro_f1']:.3f} | {v['accuracy']:.3f} | "
              f"{v.get('contrast_pair_accuracy') or 0:.3f} |" for k, v in base.items()]
    lines += ["", f"- Margin over the best baseline: {test['margin_over_best_baseline']:+.3f} macro-F1.",
              f"- Expected calibration error: {test['ece']:.3f}" + (
                  f" (with the temperature alone, no confidence map: {test['ece_temperature_only']:.3f})"
                  if "ece_temperature_only" in test else "") + ".",
              f"- Contrast pairs ({c['n_pairs']} held-out minimal pairs): both sides right "
              f"{c['pair_accuracy']:.3f}; single sides {c['side_accuracy']:.3f}" + (
                  f"; of the {c['missed']} missed, {c['missed_same_label']} get one label for both "
                  "sides" if "missed" in c else "") + ".",
              f"- The guide's own examples: {test['guide_examples'].get('correct', 0)}/"
              f"{test['guide_examples']['n']} right" + (
                  "; wrong: " + "; ".join(f'"{w}"' for w in test["guide_examples"]["wrong"])
                  if test["guide_examples"].get("wrong") else "") + ".",
              "- Per class: " + ", ".join(f"{k} F1 {v['f1']:.3f}" for k, v in test["per_class"].items()),
              "- By difficulty: " + ", ".join(f"{k} {v['macro_f1']:.3f} (n={v['n']})"
                                              for k, v in test["by_difficulty"].items()),
              ]
    if test.get("by_rule"):
        # rules are the guide's numbers (data/README.md) plus "irony", "understatement" and "none"
        order = sorted(test["by_rule"], key=lambda r: (not r.isdigit(), int(r) if r.isdigit() else 0, r))
        lines.append("- By the guide rule that decides the statement (accuracy): " + ", ".join(
            f"{r} {test['by_rule'][r]['accuracy']:.3f} (n={test['by_rule'][r]['n']})" for r in order))
    lines += [f"- {line}." for line in robustness_lines(test)]
    lines += ["", "## Intended use and limits",
              "For analysts tracking the tone of official statements between states over time, in "
              "aggregate. A single label is a reading of one quote's wording toward its counterpart, not "
              "a judgement of policy. Limits: trained on English statements written for this project "
              "(inspired by real events, 2014-2026), so quotes far from that register (long speeches, "
              "slang, other languages) are less reliable; irony and understatement remain the weakest "
              "cases; the counterpart is not given to the model, so a statement hostile to one party and "
              "warm to another gets one label.", ""]
    return "\n".join(lines)


FIGURES_START, FIGURES_END = "<!-- figures:start -->", "<!-- figures:end -->"


def render_readme_figures(test: dict) -> str:
    """The project README's figures block, from a test-split ``metrics.json``."""
    w, b, ci = test["by_writers"], test["baselines"], test["bootstrap"]
    corpus, held = w["corpus_writers"], w["held_out_writers"]
    best = test["best_baseline"]
    names = {"tfidf_lr": "TF-IDF + logistic regression", "lexicon": "guide lexicon",
             "majority": "majority class"}
    (lo, hi), (mlo, mhi), (elo, ehi) = ci["macro_f1_ci95"], ci["margin_ci95"], ci["ece_ci95"]
    c = test["contrast"]
    lines = [
        "Every figure below is reproduced by `detente evaluate --model model/default --split test` "
        "(the model card",
        "`model/default/README.md` has the rest: per class, by difficulty, rule and length, the dev gates).",
        f"The test split has two parts: {corpus['n']} statements from scenarios the training writers",
        f"never used in train, and {held['n']} from eight independent writers who wrote for evaluation",
        "only, in the shape of real remarks, and never contributed a line to train "
        "(see `data/README.md`).", "",
        "| on the test split | whole split | corpus writers | held-out writers |", "|---|---:|---:|---:|",
        f"| statements | {test['n']} | {corpus['n']} | {held['n']} |",
        f"| macro-F1 | {test['macro_f1']:.3f} | {corpus['macro_f1']:.3f} | {held['macro_f1']:.3f} |",
        f"| baseline {names.get(best, best)}, macro-F1 | {b[best]['macro_f1']:.3f} | "
        f"{corpus[best + '_macro_f1']:.3f} | {held[best + '_macro_f1']:.3f} |",
        f"| expected calibration error | {test['ece']:.3f} | {corpus['ece']:.3f} | {held['ece']:.3f} |", "",
        "| on the test split | figure |", "|---|---:|",
        f"| accuracy | {test['accuracy']:.3f} |",
        f"| macro-F1, bootstrap 95% interval | [{lo:.3f}, {hi:.3f}] |",
        f"| margin over {names.get(best, best)}, bootstrap 95% interval | "
        f"{test['margin_over_best_baseline']:+.3f} [{mlo:+.3f}, {mhi:+.3f}] |",
        f"| expected calibration error, bootstrap 95% interval | {test['ece']:.3f} [{elo:.3f}, {ehi:.3f}] |",
        f"| contrast pairs, both sides right ({c['n_pairs']} pairs) | {c['pair_accuracy']:.3f} |",
        f"| guide examples right | {test['guide_examples']['correct']}/{test['guide_examples']['n']} |",
    ]
    for k, v in sorted(b.items(), key=lambda kv: -kv[1]["macro_f1"]):
        if k == "majority":
            lines.append(f"| baseline {names[k]}: macro-F1 | {v['macro_f1']:.3f} |")
        elif k == best:
            lines.append(f"| baseline {names.get(k, k)}: contrast pairs | "
                         f"{v['contrast_pair_accuracy']:.3f} |")
        else:
            lines.append(f"| baseline {names.get(k, k)}: macro-F1 / pairs | {v['macro_f1']:.3f} / "
                         f"{v['contrast_pair_accuracy']:.3f} |")
    return "\n".join(lines + ["", targets_line(test)])


TARGETS = (("macro-F1 at least 0.90", lambda t: t["macro_f1"] >= 0.90),
           ("margin over the best baseline at least +0.15", lambda t: t["margin_over_best_baseline"] >= 0.15),
           ("contrast pairs at least 0.80", lambda t: t["contrast"]["pair_accuracy"] >= 0.80),
           ("calibration error at most 0.05", lambda t: t["ece"] <= 0.05),
           ("every guide example right",
            lambda t: t["guide_examples"]["correct"] == t["guide_examples"]["n"]))


def targets_line(test: dict) -> str:
    """One line naming which release targets (issue 3) the figures above meet, so prose cannot drift."""
    met = [name for name, ok in TARGETS if ok(test)]
    missed = [name for name, ok in TARGETS if not ok(test)]
    line = "The classifier's release targets met on this split: " + "; ".join(met) + "."
    return line + (" Missed: " + "; ".join(missed) + "." if missed else "")


def replace_block(text: str, block: str, start: str = FIGURES_START, end: str = FIGURES_END) -> str:
    """``text`` with the lines between the two markers replaced by ``block``."""
    head, rest = text.split(start, 1)
    return f"{head}{start}\n{block}\n{end}{rest.split(end, 1)[1]}"


MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
               "training_config.json", META_FILE)


def install(run: Path, folder: Path, data_dir: str = "data", force: bool = False) -> None:
    """Copy a training run's model files (not its candidates) into ``folder``, e.g. the bundled model.

    Refuses a run that gets any of the guide's own examples wrong (the label guide fixes them), checked
    afresh on the run's saved weights, unless ``force``.
    """
    if not force:
        from model.loader import load_model

        from .evaluate import guide_gate

        result = guide_gate(load_model(run, precision="fp32"), data_dir)
        if not result["passed"]:
            raise SystemExit(f"{run} gets {result['n'] - result['correct']} of the guide's {result['n']} "
                             f"examples wrong ({'; '.join(result['wrong'])}); not installed "
                             "(--force installs it anyway)")
    folder.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        shutil.copy2(run / name, folder / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="model/default", type=Path)
    parser.add_argument("--install-from", type=Path, help="copy this run's model files in first")
    parser.add_argument("--readme", type=Path, help="also rewrite this README's figures block")
    parser.add_argument("--data-dir", default="data", help="where the guide's examples are")
    parser.add_argument("--force", action="store_true",
                        help="install even if the run gets a guide example wrong")
    args = parser.parse_args()
    if args.install_from:
        install(args.install_from, args.folder, args.data_dir, args.force)
    if (args.folder / "metrics.json").exists():
        atomic_write(args.folder / "README.md", render_card(args.folder))
        print(f"wrote {args.folder / 'README.md'}")
        if args.readme:
            test = json.loads((args.folder / "metrics.json").read_text(encoding="utf-8"))
            text = replace_block(args.readme.read_text(encoding="utf-8"), render_readme_figures(test))
            atomic_write(args.readme, text)
            print(f"wrote the figures block of {args.readme}")


if __name__ == "__main__":
    main()
