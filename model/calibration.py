"""Recalibrate the top label's confidence with a monotone map fitted on dev, keeping the label.

Temperature scaling (one scalar) cannot fix a model whose confidences bunch together: after fine-tuning,
right and wrong predictions alike sit near the same high confidence, so one temperature leaves the top
bin underconfident and the next one overconfident. A monotone map of the top label's probability
(isotonic regression on dev, see ``training/calibrate.py``) fixes that shape. The other labels share the
remaining mass in their old proportions, and the top label is kept on top, so labels never change.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def apply_confidence_map(probs: np.ndarray, xs: Sequence[float], ys: Sequence[float]) -> np.ndarray:
    """Map each row's top probability through the piecewise-linear ``xs -> ys`` curve.

    Args:
        probs: ``(n, k)`` rows summing to 1.
        xs, ys: increasing breakpoints of the map (values outside ``xs`` are clipped to its ends).

    Returns:
        A new ``(n, k)`` array: rows still sum to 1 and keep their argmax.

    Example:
        >>> out = apply_confidence_map(np.array([[0.9, 0.06, 0.04]]), [0.5, 0.9], [0.5, 0.8])
        >>> [round(float(v), 2) for v in out[0]]
        [0.8, 0.12, 0.08]
    """
    probs = np.asarray(probs, dtype=np.float64)
    if len(probs) == 0:
        return probs.astype(np.float32)
    rows = np.arange(len(probs))
    top = probs.argmax(1)
    conf = probs[rows, top]
    second = np.sort(probs, axis=1)[:, -2] if probs.shape[1] > 1 else np.zeros(len(probs))
    # the rest's own sum, not 1 - conf: float32 softmax rows miss 1 by an ulp, and when conf is near 1
    # that ulp is a large part of 1 - conf, so rescaling by it would miss 1 by up to 1e-5
    rest = probs.sum(1) - conf
    new = np.interp(conf, xs, ys)
    # the smallest top value that keeps the top label strictly on top once the rest is rescaled
    floor = second / np.maximum(rest + second, 1e-12) + 1e-6
    bare = rest <= 1e-12  # all the mass on the top label (softmax underflow): the rest is shared evenly
    floor[bare] = 1.0 / probs.shape[1] + 1e-6
    new = np.clip(np.maximum(new, floor), 0.0, 1.0)
    out = probs * ((1.0 - new) / np.maximum(rest, 1e-12))[:, None]
    if bare.any() and probs.shape[1] > 1:
        out[bare] = ((1.0 - new[bare]) / (probs.shape[1] - 1))[:, None]
    out[rows, top] = new
    return out.astype(np.float32)


def calibrated(logits: np.ndarray, temperature: float,
               confidence_map: tuple[Sequence[float], Sequence[float]] | None) -> np.ndarray:
    """Probabilities from logits as a saved model gives them: softmax at the temperature, then the map.

    Example:
        >>> [round(float(p), 3) for p in calibrated(np.array([[2.0, 0.0, 0.0]]), 1.0, None)[0]]
        [0.787, 0.107, 0.107]
    """
    probs = torch.softmax(torch.as_tensor(logits).float() / temperature, dim=-1).numpy()
    return probs if confidence_map is None else apply_confidence_map(probs, *confidence_map)
