"""The bar a faster backend must pass before the predictor uses it: on the model's test split, at
least 99.5% of its labels agree with eager float32 PyTorch and no probability differs by more
than 0.02. Training measures it and records it in metrics.json."""

from __future__ import annotations

from typing import Any

import numpy as np

MIN_LABEL_AGREEMENT = 0.995
MAX_PROBABILITY_DIFFERENCE = 0.02


def compare_backends(reference: np.ndarray, candidate: np.ndarray) -> dict[str, Any]:
    """Label agreement and largest probability difference of two (texts, labels) arrays."""
    agreement = float((reference.argmax(axis=1) == candidate.argmax(axis=1)).mean()) if len(reference) else 1.0
    difference = float(np.abs(reference - candidate).max()) if len(reference) else 0.0
    return {"label_agreement": agreement, "max_probability_difference": difference,
            "passed": agreement >= MIN_LABEL_AGREEMENT and difference <= MAX_PROBABILITY_DIFFERENCE,
            "texts": int(len(reference))}
