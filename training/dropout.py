"""Dropout whose masks take a quarter of the random draws torch's own does.

torch's CPU dropout, on this project's machine (AMD EPYC, no MKL Bernoulli), draws one sample per
element from the single-threaded mt19937 generator, 20 times a training step: 14 ``nn.Dropout`` calls
(embeddings, two places in each of six layers, the head), swapped here, and 6 on the attention
probabilities. Cutting each 63-bit draw of ``random_()`` into four 16-bit slices gives four elements' worth of
randomness per draw. The gain is a few percent of a step, smaller than this machine's drift from minute
to minute, so it was timed in interleaved rounds: ``python -m training.speed --rows 1280 --rounds 6
--variants 3 4`` gave a median of 17.25 s against 17.75 s (faster in 5 of 6 rounds). The
attention-probability dropout happens inside ``scaled_dot_product_attention``, which reads only ``.p``
from the module, so it stays torch's.
"""

from __future__ import annotations

import sys

import torch


class FastDropout(torch.nn.Module):
    """Inverted dropout drawn from 16-bit slices of 64-bit random integers.

    An element is dropped with probability ``round(p * 32768) / 32768`` (0.100006 for 0.1): the three
    low slices of a draw are uniform on 16 bits and the top one, whose sign bit ``random_()`` leaves
    clear, on 15, so each slice gets the threshold that gives that same probability. Draws come from
    torch's default generator, so a seeded run repeats.

    Example:
        >>> y = FastDropout(0.1).train()(torch.ones(100, 1000))
        >>> round(float((y == 0).float().mean()), 2), round(float(y.mean()), 1)
        (0.1, 1.0)
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        half = round(p * 32768)
        # p must survive the rounding: a tiny p would drop nothing, one near 1 everything
        if not (p == 0 or 0 < half < 32768):
            raise ValueError(f"dropout probability must be 0 or in [1/65536, 1 - 1/65536], got {p}")
        self.p = p
        # slice order within an int64 follows the machine's byte order; the 15-bit slice is the top one
        low, top = 2 * half, half
        order = [low, low, low, top] if sys.byteorder == "little" else [top, low, low, low]
        # int16 thresholds compare with the slices without widening them, when they fit in int16
        dtype = torch.int16 if low < 32768 else torch.int32
        self.register_buffer("thresholds", torch.tensor(order, dtype=dtype), persistent=False)
        self.scale = 1.0 / (1.0 - half / 32768)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return torch.where(self.mask(x.shape), x, 0) * self.scale

    def mask(self, shape: torch.Size) -> torch.Tensor:
        """A boolean keep-mask of ``shape``: True with probability ``1 - p``."""
        n = shape.numel()
        # drawn on the CPU generator, as torch's CPU dropout is, then moved to the activation's device
        slices = torch.empty(-(-n // 4), dtype=torch.int64).random_().view(torch.int16).view(-1, 4)
        slices = slices.to(self.thresholds.device)
        if self.thresholds.dtype == torch.int16:
            # a slice read as signed int16 is negative exactly when its unsigned value is >= 32768,
            # which is above every threshold that fits in int16
            keep = (slices < 0) | (slices >= self.thresholds)
        else:  # p near 0.5 or above: compare the unsigned values, which int32 holds
            keep = (slices.to(torch.int32) & 0xFFFF) >= self.thresholds
        return keep.view(-1)[:n].view(shape)

    def extra_repr(self) -> str:
        return f"p={self.p}"


def use_fast_dropout(network: torch.nn.Module) -> int:
    """Swap every ``nn.Dropout`` in ``network`` for a ``FastDropout`` of the same ``p``; returns how many.

    The swap adds no weights, so a saved model is the same either way; at inference dropout is off.
    """
    swapped = 0
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is torch.nn.Dropout:
                setattr(parent, name, FastDropout(child.p))
                swapped += 1
    return swapped
