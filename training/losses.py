"""Training losses: class weights, per-row weights and the pair-difference loss of contrast pairs."""

from __future__ import annotations

import numpy as np
import torch

from model.labels import LABELS

from .config import TrainConfig


def class_weights(labels: list[int], config: TrainConfig) -> torch.Tensor | None:
    """Loss weights per class, inversely proportional to its count ("balanced"), or None ("none")."""
    if config.class_weighting == "none":
        return None
    counts = np.bincount(labels, minlength=len(LABELS)).astype(np.float64)
    return torch.tensor(counts.sum() / (len(LABELS) * np.maximum(counts, 1)), dtype=torch.float32)


def weighted_loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor,
                  loss_fn: torch.nn.CrossEntropyLoss) -> torch.Tensor:
    """``loss_fn`` with a weight per row on top of its class weights, normalised like its own mean.

    Example:
        >>> fn = torch.nn.CrossEntropyLoss()
        >>> x, y = torch.zeros(2, 3), torch.tensor([0, 1])
        >>> bool(torch.isclose(weighted_loss(x, y, torch.ones(2), fn), fn(x, y)))
        True
    """
    per_row = torch.nn.functional.cross_entropy(logits, labels, weight=loss_fn.weight, reduction="none",
                                                label_smoothing=loss_fn.label_smoothing)
    cw = loss_fn.weight[labels] if loss_fn.weight is not None else torch.ones_like(weights)
    return (per_row * weights).sum() / (cw * weights).sum()


def pair_difference_loss(logits: torch.Tensor, labels: torch.Tensor, pair: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on the difference of the two sides' logits, for each pair whose sides share the batch.

    For sides ``i`` and ``j`` with labels ``y_i != y_j``, ``softmax(z_i - z_j)`` should pick ``y_i`` and
    ``softmax(z_j - z_i)`` should pick ``y_j``. Whatever the two texts share adds the same to both logit
    vectors and cancels, so only the edit can lower this loss; a model that gives both sides the same
    scores (the usual way a pair is missed) pays log 3 per side. Rows with ``pair < 0`` are ignored.

    Example:
        >>> z = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 2.0], [5.0, 0.0, 0.0]])
        >>> loss = pair_difference_loss(z, torch.tensor([0, 2, 0]), torch.tensor([7, 7, -1]))
        >>> round(float(loss), 3)
        0.143
    """
    first, second = [], []
    seen: dict[int, int] = {}
    for row, p in enumerate(pair.tolist()):
        if p < 0:
            continue
        if p in seen:
            first.append(seen.pop(p))
            second.append(row)
        else:
            seen[p] = row
    if not first:
        return logits.sum() * 0.0  # keeps the graph whole when a batch holds no complete pair
    a, b = torch.tensor(first), torch.tensor(second)
    diff = logits[a] - logits[b]
    return (torch.nn.functional.cross_entropy(diff, labels[a])
            + torch.nn.functional.cross_entropy(-diff, labels[b])) / 2
