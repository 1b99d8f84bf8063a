"""predict() and load_model() mechanics on the tiny random BERT."""

import json
import shutil

import numpy as np
import pytest

from model import LABELS, Prediction, load_model, predict
from model.loader import bundled_path


def test_single_and_list(tiny_clf):
    one = predict("we welcome the agreement", model=tiny_clf)
    assert isinstance(one, Prediction)
    assert one.label in LABELS
    assert list(one.scores) == list(LABELS)
    assert sum(one.scores.values()) == pytest.approx(1.0, abs=1e-5)
    many = predict(["we welcome the agreement", "stop interfering"], model=tiny_clf)
    assert isinstance(many, list) and len(many) == 2
    assert many[0].scores == pytest.approx(one.scores, abs=1e-5)


def test_batched_equals_one_at_a_time(tiny_clf):
    texts = ["we welcome the agreement", "the delegation arrived this morning and the minister "
             "will travel to seoul on thursday", "no", "they bear full responsibility", "a b c d e"]
    batched = predict(texts, model=tiny_clf, batch_size=2)
    for text, pred in zip(texts, batched):
        single = predict(text, model=tiny_clf, batch_size=1)
        assert single.label == pred.label
        assert single.scores == pytest.approx(pred.scores, abs=1e-5)


def test_order_restored_after_length_sort(tiny_clf):
    texts = ["a " * n + "tariff" for n in (9, 1, 5, 3, 7)]
    out = predict(texts, model=tiny_clf, batch_size=2)
    for text, pred in zip(texts, out):
        assert predict(text, model=tiny_clf).scores == pytest.approx(pred.scores, abs=1e-5)


@pytest.mark.parametrize("bad,pos", [(["ok text", "  "], 1), (["", "x y z"], 0)])
def test_empty_text_names_position(tiny_clf, bad, pos):
    with pytest.raises(ValueError, match=f"position {pos}"):
        predict(bad, model=tiny_clf)


def test_non_string_rejected(tiny_clf):
    with pytest.raises(TypeError, match="position 1"):
        predict(["fine", None], model=tiny_clf)


def test_long_text_truncated_not_crashed(tiny_clf):
    from model.predict import predict_proba

    probs, truncated = predict_proba(["word " * 2000, "short one"], model=tiny_clf)
    assert probs.shape == (2, 3) and truncated.tolist() == [True, False]


def test_empty_list_gives_empty_list(tiny_clf):
    from model.predict import predict_proba

    assert predict([], model=tiny_clf) == []
    probs, truncated = predict_proba([], model=tiny_clf)
    assert probs.shape == (0, 3) and truncated.shape == (0,)


def test_input_not_mutated(tiny_clf):
    texts = ["b b b b", "a"]
    predict(texts, model=tiny_clf)
    assert texts == ["b b b b", "a"]


def test_load_is_cached(tiny_model_dir):
    assert load_model(tiny_model_dir, precision="fp32") is load_model(tiny_model_dir, precision="fp32")


def test_refuses_folder_without_safetensors(tiny_model_dir, tmp_path):
    folder = tmp_path / "nosafe"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="safetensors"):
        load_model(folder)


def test_unknown_name_lists_known(tmp_path):
    with pytest.raises(FileNotFoundError, match="default"):
        load_model(tmp_path / "nothing-here")


def test_int8_follows_gate(tiny_model_dir, tmp_path):
    folder = tmp_path / "gated"
    shutil.copytree(tiny_model_dir, folder)
    assert load_model(folder).precision == "fp32"  # gate not passed
    meta = json.loads((folder / "detente.json").read_text())
    meta["int8_gate"] = {"passed": True}
    (folder / "detente.json").write_text(json.dumps(meta))
    clf = load_model(folder)
    assert clf.precision == "int8"
    p = predict(["we welcome the agreement"], model=clf)[0]
    assert np.isclose(sum(p.scores.values()), 1.0, atol=1e-5)


def test_mean_head_loads(tmp_path):
    from conftest import build_tiny_model

    folder = build_tiny_model(tmp_path / "mean", head="mean")
    clf = load_model(folder, precision="fp32")
    assert type(clf.network).__name__ == "BertMeanPoolClassifier"
    assert predict("we welcome the agreement", model=clf).label in LABELS


def test_bundled_path_inside_package():
    assert bundled_path().name == "default"
    with pytest.raises(ValueError, match="known"):
        bundled_path("nope")


def test_bf16_path_close_to_fp32(tiny_model_dir):
    fp32 = predict(["we welcome the agreement", "stop interfering"],
                   model=load_model(tiny_model_dir, precision="fp32"))
    with pytest.warns(UserWarning, match="gate"):
        bf16 = load_model(tiny_model_dir, precision="bf16")
    assert bf16.precision == "bf16"
    for a, b in zip(fp32, predict(["we welcome the agreement", "stop interfering"], model=bf16)):
        assert b.scores == pytest.approx(a.scores, abs=0.02)


def test_uncleared_precision_warns_on_every_load_not_only_the_first(tiny_model_dir):
    for _ in range(2):  # the second call is served from the loader's cache
        with pytest.warns(UserWarning, match="gate"):
            load_model(tiny_model_dir, precision="bf16")
