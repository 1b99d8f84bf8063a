"""Temperature scaling (Guo et al., 2017): one scalar T dividing the logits, fitted on dev by NLL."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

T_BOUNDS = (0.05, 20.0)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T minimising the negative log-likelihood of ``softmax(logits / T)`` on the given labels.

    Example:
        >>> round(fit_temperature(np.array([[4.0, 0, 0], [0, 4.0, 0]]), np.array([0, 1])), 1) > 1
        False
    """
    def nll(t: float) -> float:
        return -log_softmax(logits / t, axis=1)[np.arange(len(labels)), labels].mean()

    return float(minimize_scalar(nll, bounds=T_BOUNDS, method="bounded").x)


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
