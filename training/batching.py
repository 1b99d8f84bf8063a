"""Mini-batches for training: shuffled, bucketed by length, each padded to its own longest row."""

from __future__ import annotations

import numpy as np
import torch
from datasets import Dataset

from .config import TrainConfig


BUCKET_BATCHES = 50  # batches per length bucket: sorted within, shuffled across


def batch_order(lengths: list[int], batch_size: int, rng: np.random.Generator,
                pairs: list[int] | None = None, noise: float = 0.05) -> list[np.ndarray]:
    """Shuffled mini-batches of similar length, so padding (and CPU time) goes to real tokens.

    The rows are shuffled, cut into windows of ``BUCKET_BATCHES`` batches (at most a quarter of the
    rows), sorted by length inside each
    window and cut into batches; the batches are then shuffled, so every epoch still mixes lengths and
    labels. The sort key carries +-``noise`` (a fraction), so rows of about one length also meet in
    new batches. Every row appears once.

    With ``pairs`` (a pair number per row, -1 for a lone statement), the two sides of a pair travel as
    one unit and land in the same batch, so one update sees both sides (``TrainConfig.pair_batches``).
    The hope was that the words they share would then carry less of the signal than the edit that flips
    the label; on dev it did not pay, so the default leaves pairs scattered.

    Example:
        >>> order = batch_order([5, 9, 7, 3], 2, np.random.default_rng(0), pairs=[-1, 0, 0, -1])
        >>> sorted(int(i) for b in order for i in b)
        [0, 1, 2, 3]
    """
    if pairs is None:
        pairs = [-1] * len(lengths)
    units: dict = {}
    for i, p in enumerate(pairs):
        units.setdefault(("s", i) if p < 0 else ("p", p), []).append(i)
    units_list = list(units.values())
    unit_len = np.array([max(lengths[i] for i in u) for u in units_list], dtype=float)
    order = rng.permutation(len(units_list))
    # at most a quarter of the rows a window, so that on a small corpus too each window, and so each
    # batch, draws different rows every epoch (low key noise alone would serve the same batches)
    per_window = min(batch_size * BUCKET_BATCHES, max(batch_size, len(lengths) // 4))
    out: list[np.ndarray] = []
    start = 0
    while start < len(order):
        # a window holds about per_window rows; pairs count two
        end, rows = start, 0
        while end < len(order) and rows < per_window:
            rows += len(units_list[order[end]])
            end += 1
        chunk = order[start:end]
        keys = unit_len[chunk] * rng.uniform(1 - noise, 1 + noise, size=len(chunk))
        batch: list[int] = []
        for u in chunk[np.argsort(keys, kind="stable")]:
            if batch and len(batch) + len(units_list[u]) > batch_size:
                out.append(np.array(batch))
                batch = []
            batch += units_list[u]
        if batch:
            out.append(np.array(batch))
        start = end
    return [out[i] for i in rng.permutation(len(out))]


def batches(ds: Dataset, tokenizer, config: TrainConfig, rng: np.random.Generator,
            lengths: list[int], pairs: list[int] | None = None):
    """Length-bucketed shuffled mini-batches, each padded to its own longest statement."""
    for idx in batch_order(lengths, config.batch_size, rng, pairs, config.length_noise):
        rows = ds.select(idx)
        enc = tokenizer(list(rows["text"]), truncation=True, max_length=config.max_length,
                        padding=True, return_tensors="pt")
        weights = None
        if config.contrast_weight != 1.0:
            weights = torch.tensor([config.contrast_weight if src == "contrast" else 1.0
                                    for src in rows["source"]])
        pair = torch.tensor(list(rows["pair"])) if pairs is not None else None
        yield enc, torch.tensor(list(rows["labels"])), weights, pair
