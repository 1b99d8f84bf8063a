"""Label quotes: ``predict`` for people, ``predict_proba`` for the batch scorer.

Inputs are tokenized once, sorted by length and padded per batch (short quotes are not padded to the
longest one in the file), then the output order is restored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import torch

from .calibration import calibrated
from .labels import LABELS
from .loader import Classifier, load_model

DEFAULT_BATCH_SIZE = 32  # the usual size; with length-sorted batches little padding is wasted at any size


@dataclass(frozen=True)
class Prediction:
    """One quote's label and its calibrated probability for every label (in ``LABELS`` order)."""

    label: str
    scores: dict[str, float]

    def __repr__(self) -> str:
        scores = ", ".join(f"{k}={v:.3f}" for k, v in self.scores.items())
        return f"Prediction(label={self.label!r}, {scores})"


@overload
def predict(texts: str, *, model: Classifier | None = ..., batch_size: int = ...) -> Prediction: ...
@overload
def predict(
    texts: Sequence[str], *, model: Classifier | None = ..., batch_size: int = ...
) -> list[Prediction]: ...


def predict(texts, *, model=None, batch_size=DEFAULT_BATCH_SIZE):
    """Label one quote or a list of quotes as conciliatory, neutral or hostile.

    Args:
        texts: a string, or a sequence of strings.
        model: a :class:`Classifier` from :func:`load_model`; the bundled model (loaded once) if None.
        batch_size: quotes per forward pass.

    Returns:
        One :class:`Prediction` for a string, else a list of them in input order.

    Raises:
        ValueError: a text is empty or whitespace only (the message names its position).
        TypeError: a text is not a string.

    Example:
        >>> predict("We strongly condemn the provocation.").label  # doctest: +SKIP
        'hostile'
    """
    single = isinstance(texts, str)
    batch = [texts] if single else list(texts)
    _check_texts(batch)
    probs, _ = predict_proba(batch, model=model, batch_size=batch_size)
    out = [
        Prediction(LABELS[int(row.argmax())], {lab: float(p) for lab, p in zip(LABELS, row)})
        for row in probs
    ]
    return out[0] if single else out


def _check_texts(texts: list) -> None:
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"text at position {i} is {type(text).__name__}, not str")
        if not text.strip():
            raise ValueError(f"text at position {i} is empty or whitespace only")


def predict_proba(
    texts: Sequence[str], *, model: Classifier | None = None, batch_size: int = DEFAULT_BATCH_SIZE
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated probabilities for non-empty texts, and which texts were truncated.

    Returns:
        ``(probs, truncated)``: an ``(n, len(LABELS))`` float array in input order and a bool array.

    Example:
        >>> probs, truncated = predict_proba(["We welcome the agreement."])  # doctest: +SKIP
    """
    clf = model if model is not None else load_model()
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not texts:  # the tokenizer cannot take an empty batch
        return np.empty((0, len(LABELS)), dtype=np.float32), np.zeros(0, dtype=bool)
    ids, truncated = _tokenize(list(texts), clf)
    order = np.argsort([len(x) for x in ids], kind="stable")
    logits = np.empty((len(ids), len(LABELS)), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            enc = clf.tokenizer.pad({"input_ids": [ids[i] for i in rows]}, return_tensors="pt")
            out = clf.network(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
            logits[rows] = out.float().numpy()
    return calibrated(logits, clf.temperature, clf.confidence_map), truncated


def _tokenize(texts: list[str], clf: Classifier) -> tuple[list[list[int]], np.ndarray]:
    """Token ids cut to ``max_length`` (keeping the closing [SEP]), and which texts were cut."""
    tok = clf.tokenizer
    ids = tok(texts, add_special_tokens=True, truncation=True, max_length=clf.max_length)["input_ids"]
    # A text whose ids fill the window exactly may have been cut; recount only those few.
    truncated = np.zeros(len(texts), dtype=bool)
    full = [i for i, x in enumerate(ids) if len(x) >= clf.max_length]
    if full:
        lengths = tok([texts[i] for i in full], add_special_tokens=True, verbose=False)["input_ids"]
        for i, x in zip(full, lengths):
            truncated[i] = len(x) > clf.max_length
    return ids, truncated
