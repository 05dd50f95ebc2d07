"""The bar a faster backend must pass before the predictor uses it: on the model's test split, at
least 99.5% of its labels agree with eager float32 PyTorch and no probability differs by more
than 0.02. Training measures it and records it in metrics.json."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from sentiment_app.inference.batched import batched_probabilities

MIN_LABEL_AGREEMENT = 0.995
MAX_PROBABILITY_DIFFERENCE = 0.02


def compare_backends(reference: np.ndarray, candidate: np.ndarray) -> dict[str, Any]:
    """Label agreement and largest probability difference of two (texts, labels) arrays."""
    agreement = float((reference.argmax(axis=1) == candidate.argmax(axis=1)).mean()) if len(reference) else 1.0
    difference = float(np.abs(reference - candidate).max()) if len(reference) else 0.0
    return {
        "label_agreement": agreement,
        "max_probability_difference": difference,
        "passed": agreement >= MIN_LABEL_AGREEMENT and difference <= MAX_PROBABILITY_DIFFERENCE,
        "texts": int(len(reference)),
    }


def agreement_with_eager(
    model: torch.nn.Module,
    candidate: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    id_lists: Sequence[Sequence[int]],
    padding_id: int,
) -> dict[str, Any]:
    """Score `id_lists` with eager float32 PyTorch and with `candidate` (a callable like the
    model: token ids and lengths to logits), and compare them."""
    eager = batched_probabilities(model, id_lists, padding_id).numpy()
    return compare_backends(eager, batched_probabilities(candidate, id_lists, padding_id).numpy())
