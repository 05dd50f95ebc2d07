"""An opt-in bfloat16 backend for bulk scoring, behind the same predictor API: eager PyTorch under
`torch.autocast`, so that the recurrent and output layers multiply in bfloat16 on hardware that
does so natively (CPUs with AVX512-BF16 or AMX). The predictor uses it only when asked (`backend="bfloat16"`), on such hardware, and where the model's metrics.json
records that it passed the same agreement bar as ONNX Runtime (`backend_agreement`)."""

from __future__ import annotations

import torch


def bfloat16_native(device: torch.device = torch.device("cpu")) -> bool:
    """Does `device` multiply in bfloat16 in hardware (elsewhere it is emulated, and slower)?"""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device.type == "cpu":  # torch's own CPUID probes (private, but what its autocast tests use)
        return torch.backends.mkldnn.is_available() and (
            torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
        )
    return False


class Bfloat16Classifier:
    """Callable like the torch classifier: (token_ids, lengths) -> float32 logits (batch, labels),
    computed with the weights cast to bfloat16 where autocast casts them (the module itself keeps
    its float32 weights)."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model = model
        self.config = model.config

    @torch.inference_mode()
    def __call__(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
            logits = self.model(token_ids, lengths)
        return logits.float()
