"""Dropout whose masks cost a tenth as much on CPU.

torch's CPU `bernoulli_`, behind `nn.Dropout`, draws one Mersenne-Twister number per element,
which made it a large share of a BiLSTM's training step (benchmarks/README.md). Here each 64-bit number from torch's own generator (so `torch.manual_seed` still
fixes every mask) gives four 16-bit draws, and an element is dropped when its draw falls in the
lowest `round(p * 65536)` of the 65,536 values:

    int64 draws  [ d0 | d1 | d2 | d3 ] [ d4 | ...        four int16 per number
    keep         d >= -32768 + round(p * 65536)          P(drop) = round(p * 65536) / 65536

The drop probability is thus p to within 1/131072, and kept elements are scaled by
1 / (1 - that probability), so the expected output is the input, as with `nn.Dropout`. On other
devices (CUDA's generator is fast) and in evaluation mode it defers to `nn.functional.dropout`.
"""

from __future__ import annotations

import torch
from torch import nn

DRAW_VALUES = 1 << 16  # values of one 16-bit draw


def dropped_draws(probability: float) -> int:
    """How many of the 65,536 draw values drop an element."""
    return round(probability * DRAW_VALUES)


def keep_mask(shape: torch.Size, probability: float, dtype: torch.dtype) -> torch.Tensor:
    """A CPU tensor of `shape` holding 0 (dropped) or 1 / (1 - p) (kept)."""
    count = shape.numel()
    numbers = torch.randint(-(2**63), 2**63 - 1, ((count + 3) // 4,))
    # integers in [-32768, 32767], exact in float32 (not in half precision)
    draws = numbers.view(torch.int16)[:count].view(shape).to(torch.float32)
    dropped = dropped_draws(probability)
    threshold = -(DRAW_VALUES // 2) + dropped  # the lowest draw that is kept
    # draws are integers, so (draw - threshold + 1) clamped to [0, 1] is 1 exactly when kept
    mask = draws.sub_(threshold - 1).clamp_(0.0, 1.0)
    return mask.mul_(DRAW_VALUES / (DRAW_VALUES - dropped)).to(dtype)


class FastDropout(nn.Module):
    """`nn.Dropout` with the CPU masks above; the same in evaluation and on other devices."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return inputs
        if inputs.device.type != "cpu":
            return nn.functional.dropout(inputs, self.p, training=True)
        return inputs * keep_mask(inputs.shape, self.p, inputs.dtype)

    def extra_repr(self) -> str:
        return f"p={self.p}"
