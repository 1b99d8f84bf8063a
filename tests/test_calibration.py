"""Calibration: the temperature, the top-label confidence map and how predict applies them."""

import json
import shutil

import numpy as np
import pytest

from model import load_model, predict
from model.calibration import apply_confidence_map
from training.calibrate import (MAX_CONFIDENCE, expected_calibration_error, fit_confidence_map,
                                fit_temperature)


def _probs(n=400, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 3)) * 3
    return np.exp(z) / np.exp(z).sum(1, keepdims=True)


def test_map_keeps_labels_and_sums_to_one():
    p = _probs()
    # a harsh map that pulls every confidence down to 0.34: the top label must still stay on top
    out = apply_confidence_map(p, [0.0, 1.0], [0.34, 0.34])
    assert (out.argmax(1) == p.argmax(1)).all()
    assert np.allclose(out.sum(1), 1, atol=1e-5)
    assert (out >= 0).all()


def test_map_sets_top_confidence_and_keeps_the_others_proportions():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    out = apply_confidence_map(p, [0.5, 0.9], [0.5, 0.8])
    assert out[0, 0] == pytest.approx(0.5 + (0.7 - 0.5) / 0.4 * 0.3, abs=1e-5)
    assert out[0, 1] / out[0, 2] == pytest.approx(2.0, rel=1e-4)
    assert out[1, 2] == pytest.approx(0.5 + (0.6 - 0.5) / 0.4 * 0.3, abs=1e-5)
    assert apply_confidence_map(np.zeros((0, 3)), [0, 1], [0, 1]).shape == (0, 3)


def test_map_sums_to_one_for_near_certain_float32_rows():
    # float32 softmax of a confident model: the rest is a few ulps, so 1 - top is a poor estimate of it
    z = np.array([[14.0, 2.0, -3.0], [30.0, 1.0, 0.0], [200.0, 0.0, 0.0], [5.0, 4.9, -1.0]])
    p = np.exp(z - z.max(1, keepdims=True)).astype(np.float32)
    p /= p.sum(1, keepdims=True)
    out = apply_confidence_map(p, [0.5, 1.0], [0.5, 0.97])
    assert np.abs(out.astype(np.float64).sum(1) - 1).max() < 1e-6
    assert (out.argmax(1) == p.argmax(1)).all()
    # the row whose rest underflowed to 0 shares the 0.03 the map took off evenly
    assert out[2].tolist() == pytest.approx([0.97, 0.015, 0.015], abs=1e-6)


def test_fitted_map_is_monotone_bounded_and_lowers_ece_of_an_overconfident_model():
    rng = np.random.default_rng(1)
    p = _probs(2000, seed=1)
    # labels drawn so that the model is right far less often than its confidence claims
    right = rng.random(len(p)) < 0.5 + 0.4 * (p.max(1) - 1 / 3) / (2 / 3)
    wrong = (p.argmax(1) + rng.integers(1, 3, len(p))) % 3
    y = np.where(right, p.argmax(1), wrong)
    m = fit_confidence_map(p[:1000], y[:1000])
    assert m["method"] == "isotonic_top_label" and m["n"] == 1000
    assert np.all(np.diff(m["x"]) >= 0) and np.all(np.diff(m["y"]) >= 0)
    assert min(m["y"]) >= 1 / 3 - 1e-9 and max(m["y"]) <= MAX_CONFIDENCE
    before = expected_calibration_error(p[1000:], y[1000:])
    after = expected_calibration_error(apply_confidence_map(p[1000:], m["x"], m["y"]), y[1000:])
    assert after < before / 2


def test_a_collapsed_model_gets_a_flat_map_that_loads():
    # every dev row with one and the same top confidence: isotonic regression keeps a single breakpoint
    from model.loader import parse_confidence_map

    p = np.tile([[0.5, 0.3, 0.2]], (30, 1))
    y = np.array([0] * 20 + [1] * 10)
    m = fit_confidence_map(p, y)
    xs, ys = parse_confidence_map(m)
    assert xs == (1 / 3, 1.0) and ys[0] == ys[1] == pytest.approx(2 / 3)
    assert apply_confidence_map(p[:1], xs, ys)[0, 0] == pytest.approx(2 / 3)


def test_temperature_cools_an_overconfident_model():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 600)
    logits = rng.normal(size=(600, 3))
    logits[np.arange(600), y] += 1.0
    assert fit_temperature(logits * 5, y) > 2


def test_predict_applies_the_saved_map(tiny_model_dir, tmp_path):
    folder = tmp_path / "mapped"
    shutil.copytree(tiny_model_dir, folder)
    text = "we welcome the agreement"
    plain = predict(text, model=load_model(folder, precision="fp32"))
    meta = json.loads((folder / "detente.json").read_text())
    meta["confidence_map"] = {"method": "isotonic_top_label", "x": [0.0, 1.0], "y": [0.9, 0.9], "n": 1}
    (folder / "detente.json").write_text(json.dumps(meta))
    mapped = predict(text, model=load_model(folder, precision="fp32"))
    assert mapped.label == plain.label
    assert mapped.scores[mapped.label] == pytest.approx(0.9, abs=1e-5)
    assert sum(mapped.scores.values()) == pytest.approx(1.0, abs=1e-5)


def test_malformed_map_is_refused(tiny_model_dir, tmp_path):
    folder = tmp_path / "bad"
    shutil.copytree(tiny_model_dir, folder)
    meta = json.loads((folder / "detente.json").read_text())
    meta["confidence_map"] = {"x": [0.9, 0.5], "y": [0.5, 0.9]}
    (folder / "detente.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="confidence_map"):
        load_model(folder, precision="fp32")


def test_cross_validation_scores_both_methods_on_held_out_halves():
    from training.calibrate import cross_validate

    rng = np.random.default_rng(3)
    n = 1000
    pred = rng.integers(0, 3, n)
    # two populations one temperature cannot serve: gap 8 and right 99% of the time, gap 7 and right 60%
    easy = rng.random(n) < 0.5
    logits = rng.normal(0, 0.1, (n, 3))
    logits[np.arange(n), pred] += np.where(easy, 8.0, 7.0)
    right = rng.random(n) < np.where(easy, 0.99, 0.6)
    y = np.where(right, pred, (pred + rng.integers(1, 3, n)) % 3)
    out = cross_validate(logits, y, reps=3)
    assert set(out) == {"temperature", "temperature+map"}
    assert all(set(v) == {"ece", "log_loss", "brier"} for v in out.values())
    assert out["temperature+map"]["log_loss"] < out["temperature"]["log_loss"]
    assert out["temperature+map"]["ece"] < out["temperature"]["ece"]
