"""Behaviour of the real bundled model (CheckList-style): the guide, negation, invariance."""

import json
from pathlib import Path

import pytest

from model import load_model, predict
from model.loader import bundled_path

pytestmark = pytest.mark.skipif(not (bundled_path() / "model.safetensors").exists(),
                                reason="no bundled model")
DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def clf():
    return load_model()


def test_guide_examples_all_right(clf):
    rows = [json.loads(x) for x in (DATA / "guide_examples.jsonl").read_text().splitlines() if x]
    preds = predict([r["text"] for r in rows], model=clf)
    wrong = [(r["text"], r["label"], p.label) for r, p in zip(rows, preds) if p.label != r["label"]]
    assert wrong == []


@pytest.mark.parametrize("plain,negated", [
    ("We will respond to this provocation with force.", "We will not respond to this provocation with force; we choose restraint."),
    ("We will seek confrontation with our neighbours.", "We will never seek confrontation with our neighbours."),
])
def test_negation_flips(clf, plain, negated):
    a, b = predict([plain, negated], model=clf)
    assert a.label != b.label


@pytest.mark.parametrize("texts,labels", [
    # a hostile word cancelled by a negative quantifier
    (("We threaten no one.", "We threaten anyone who crosses this line."), ("conciliatory", "hostile")),
])
def test_negative_quantifier_pairs(clf, texts, labels):
    assert tuple(p.label for p in predict(list(texts), model=clf)) == labels


# Known misses of the bundled model, kept as strict expected failures so a fix shows up: "our door is
# closed" after a quarrel is read as warm (0.87); "we seek confrontation with no one" is read as hostile
# by a hair by the b1-b126 soup (0.494 against 0.494), at 0.72 by the b1-b94 one, as by the b1-b86 one
# and the models before the b1-b70 one (which read it right, 0.90; the b1-b78 soup only just)
@pytest.mark.xfail(strict=True, reason="known weak spot of the bundled model (README, Figures)")
@pytest.mark.parametrize("texts,labels", [
    (("We have a quarrel with Tokyo, and our door is closed.",
      "We have no quarrel with Tokyo, and our door stays open."), ("hostile", "conciliatory")),
    (("We seek confrontation with no one, and our hand remains extended.",
      "We will not hesitate to confront anyone who crosses this line."), ("conciliatory", "hostile")),
])
def test_known_negation_misses(clf, texts, labels):
    assert tuple(p.label for p in predict(list(texts), model=clf)) == labels


@pytest.mark.parametrize("template,label", [
    ("{a} strongly condemns the missile launch by {b} and urges it to stop at once.", "hostile"),
    ("{a} welcomes the agreement reached with {b} and looks forward to close cooperation.", "conciliatory"),
    ("The {a} delegation will arrive in {b} on {d} for the scheduled round.", "neutral"),
])
def test_names_and_dates_do_not_change_the_label(clf, template, label):
    fillers = [("Japan", "China", "Monday"), ("Brazil", "Argentina", "12 March"),
               ("Kenya", "Ethiopia", "Thursday"), ("Norway", "Russia", "2 October 2024")]
    texts = [template.format(a=a, b=b, d=d) for a, b, d in fillers]
    assert {p.label for p in predict(texts, model=clf)} == {label}


def test_probabilities_sum_to_one(clf):
    p = predict("The talks were candid, in-depth and constructive.", model=clf)
    assert abs(sum(p.scores.values()) - 1) < 1e-5 and p.label == "conciliatory"


def test_readme_example_output_is_what_the_bundled_model_prints(clf):
    # the README shows a real repr; a release that changes it must change the README too
    lines = (DATA.parent / "README.md").read_text(encoding="utf-8").splitlines()
    call = next(i for i, line in enumerate(lines) if line.startswith('predict("Candid'))
    text = lines[call].split('"')[1]
    assert lines[call + 1] == f"# {predict(text, model=clf)!r}"


def test_readme_gate_figures_are_the_bundled_models():
    import re

    meta = json.loads((bundled_path() / "detente.json").read_text())
    readme = " ".join((DATA.parent / "README.md").read_text(encoding="utf-8").split())
    int8 = float(re.search(r"agreed with fp32 on only ([\d.]+)%", readme).group(1))
    bf16 = float(re.search(r"bf16 agreed on ([\d.]+)%", readme).group(1))
    assert int8 == round(100 * meta["int8_gate"]["agreement"], 1)
    assert bf16 == round(100 * meta["bf16_gate"]["agreement"], 1)
