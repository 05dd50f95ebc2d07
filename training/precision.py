"""The arithmetic a training step runs in: float32 (exact, the default) or bfloat16 mixed
precision, where `torch.autocast` runs the recurrent layers and the output layer in bfloat16 while
the weights, the gradients Adam reads, the optimizer's moments and the loss stay float32.

bfloat16 pays off only where the hardware multiplies in it: CPUs with AVX512-BF16 or AMX (the
speed-up is in benchmarks/README.md), and GPUs that support it (allowed, but not measured). Elsewhere it would be emulated
and slower than float32, so it is refused with a message."""

from __future__ import annotations

import contextlib

import torch

from sentiment_app.inference.backends.bfloat16 import bfloat16_native

PRECISIONS = ("float32", "bfloat16")


class PrecisionError(ValueError):
    """A precision that is unknown or that this device cannot run natively."""


def check_precision(precision: str, device: torch.device) -> None:
    """Raise PrecisionError unless `device` can train in `precision` at full speed."""
    if precision not in PRECISIONS:
        raise PrecisionError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    if precision == "bfloat16" and not bfloat16_native(device):
        where = "this CPU has neither AVX512-BF16 nor AMX" if device.type == "cpu" else f"{device} does not support it"
        raise PrecisionError(
            f"bfloat16 training needs hardware that multiplies in bfloat16, and "
            f"{where} (emulated it would be slower than float32); use "
            "--precision float32"
        )


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The context a training forward pass runs in: bfloat16 autocast, or nothing for float32."""
    if precision == "bfloat16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
