"""Calibration fitted on dev: temperature scaling (Guo et al., 2017), then a top-label confidence map.

The temperature (one scalar dividing the logits) is fitted by NLL. The map is an isotonic regression of
"the top label is right" on the top label's tempered probability (Zadrozny and Elkan, 2002), applied by
``model.calibration.apply_confidence_map``; it reshapes confidences without changing any label.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.isotonic import IsotonicRegression

T_BOUNDS = (0.05, 20.0)
# ~1,000 dev statements cannot support a confidence above this (a run of 200 right answers in the top
# block would otherwise read as certainty and cost an infinite log-loss on the next mistake)
MAX_CONFIDENCE = 0.995


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T minimising the negative log-likelihood of ``softmax(logits / T)`` on the given labels.

    Example:
        >>> round(fit_temperature(np.array([[4.0, 0, 0], [0, 4.0, 0]]), np.array([0, 1])), 1) > 1
        False
    """
    def nll(t: float) -> float:
        return -log_softmax(logits / t, axis=1)[np.arange(len(labels)), labels].mean()

    return float(minimize_scalar(nll, bounds=T_BOUNDS, method="bounded").x)


def fit_confidence_map(probs: np.ndarray, labels: np.ndarray) -> dict:
    """Isotonic map from the top label's probability to its accuracy on the given (dev) rows.

    Returns:
        ``{"method", "x", "y", "n"}`` for ``detente.json``: increasing breakpoints ``x`` and their mapped
        confidences ``y`` (between 1/k and ``MAX_CONFIDENCE``).

    Example:
        >>> p = np.array([[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.5, 0.4, 0.1]])
        >>> fit_confidence_map(p, np.array([0, 0, 1, 0]))["y"]
        [0.5, 0.5, 0.995, 0.995]
    """
    conf = probs.max(1)
    correct = (probs.argmax(1) == labels).astype(np.float64)
    iso = IsotonicRegression(y_min=1.0 / probs.shape[1], y_max=MAX_CONFIDENCE, out_of_bounds="clip")
    iso.fit(conf, correct)
    xs, ys = [float(v) for v in iso.X_thresholds_], [float(v) for v in iso.y_thresholds_]
    if len(xs) == 1:
        # every dev row had the same top confidence (a collapsed model): the fit is one constant, stored
        # as a flat line over all confidences because a saved map needs two breakpoints
        xs, ys = [1.0 / probs.shape[1], 1.0], ys * 2
    return {"method": "isotonic_top_label", "x": xs, "y": ys, "n": int(len(labels))}


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> float:
    """ECE: the confidence-weighted gap between confidence and accuracy over equal-width bins."""
    conf = probs.max(1)
    correct = probs.argmax(1) == labels
    edges = np.linspace(0, 1, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        mask = (conf > lo) & (conf <= hi)
        if mask.any():
            ece += mask.mean() * abs(conf[mask].mean() - correct[mask].mean())
    return float(ece)


def raw_logits(clf, texts: list[str]) -> np.ndarray:
    """The model's logits for ``texts`` before any calibration (log-probabilities at temperature 1,
    which equal the logits up to a per-row constant that softmax ignores)."""
    from dataclasses import replace

    from model.predict import predict_proba

    probs, _ = predict_proba(texts, model=replace(clf, temperature=1.0, confidence_map=None))
    return np.log(np.clip(probs, 1e-12, 1.0))


def cross_validate(logits: np.ndarray, labels: np.ndarray, reps: int = 20, seed: int = 0) -> dict:
    """Two-fold cross-validation on dev of temperature alone vs temperature plus the confidence map.

    Each repeat splits the rows in two halves at random, fits on one half and scores the other (both
    ways). Returns the mean ECE, log-loss and Brier score of each method; log-loss and Brier are proper
    scores, so a method cannot win them by suiting ECE's bins.
    """
    from model.calibration import apply_confidence_map

    rng = np.random.default_rng(seed)
    scores: dict[str, list] = {"temperature": [], "temperature+map": []}
    for _ in range(reps):
        halves = np.array_split(rng.permutation(len(labels)), 2)
        for fit_rows, test_rows in (halves, halves[::-1]):
            t = fit_temperature(logits[fit_rows], labels[fit_rows])
            fitted = softmax(logits[fit_rows] / t, axis=1)
            cmap = fit_confidence_map(fitted, labels[fit_rows])
            plain = softmax(logits[test_rows] / t, axis=1)
            mapped = apply_confidence_map(plain, cmap["x"], cmap["y"]).astype(np.float64)
            for name, p in (("temperature", plain), ("temperature+map", mapped)):
                scores[name].append(_proper(p, labels[test_rows]))
    return {name: dict(zip(("ece", "log_loss", "brier"), np.mean(v, axis=0).round(4).tolist()))
            for name, v in scores.items()}


def _proper(probs: np.ndarray, labels: np.ndarray) -> tuple[float, float, float]:
    rows = np.arange(len(labels))
    log_loss = -np.log(np.clip(probs[rows, labels], 1e-12, 1.0)).mean()
    brier = ((probs - np.eye(probs.shape[1])[labels]) ** 2).sum(1).mean()
    return expected_calibration_error(probs, labels), float(log_loss), float(brier)


def main() -> None:
    """``python -m training.calibrate MODEL``: the dev cross-validation behind the confidence map."""
    import argparse
    import json

    from model.loader import load_model

    from .data import load_split

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("model", nargs="?", default=None)
    parser.add_argument("--data-dir", default="data")
    args = parser.parse_args()
    clf = load_model(args.model, precision="fp32")
    dev = load_split(args.data_dir, "dev").to_dict()  # statements only, as calibration uses
    logits = raw_logits(clf, dev["text"])
    print(json.dumps(cross_validate(logits, np.array(dev["labels"])), indent=2))


if __name__ == "__main__":
    main()
