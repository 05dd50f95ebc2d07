"""The arithmetic a training step runs in: float32 (exact, the default) or bfloat16 mixed
precision, where `torch.autocast` runs the recurrent layers and the output layer in bfloat16 while
the weights, the gradients Adam reads, the optimizer's moments and the loss stay float32.

bfloat16 pays off only where the hardware multiplies in it: CPUs with AVX512-BF16 or AMX, whose
oneDNN LSTM kernels then run about 1.6 times as fast (a BiLSTM epoch on our 2-core AMD EPYC: about
1.3 times), and GPUs that support it (allowed, but not measured). Elsewhere it would be emulated
and slower than float32, so it is refused with a message."""

from __future__ import annotations

import contextlib

import torch

PRECISIONS = ("float32", "bfloat16")


class PrecisionError(ValueError):
    """A precision that is unknown or that this device cannot run natively."""


def bfloat16_native(device: torch.device) -> bool:
    """Does `device` multiply in bfloat16 in hardware?"""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":  # torch's own CPUID probes (private, but what its autocast tests use)
        return torch.backends.mkldnn.is_available() and (
            torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    return False


def check_precision(precision: str, device: torch.device) -> None:
    """Raise PrecisionError unless `device` can train in `precision` at full speed."""
    if precision not in PRECISIONS:
        raise PrecisionError(f"unknown precision {precision!r}; choose from {', '.join(PRECISIONS)}")
    if precision == "bfloat16" and not bfloat16_native(device):
        where = "this CPU has neither AVX512-BF16 nor AMX" if device.type == "cpu" else \
            f"{device} does not support it"
        raise PrecisionError(f"bfloat16 training needs hardware that multiplies in bfloat16, and "
                             f"{where} (emulated it would be slower than float32); use "
                             "--precision float32")


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The context a training forward pass runs in: bfloat16 autocast, or nothing for float32."""
    if precision == "bfloat16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
