"""Temperature scaling (Guo et al. 2017): one number that makes a classifier's probabilities
honest, fitted on the validation split.

A fine-tuned transformer is overconfident: its top probability exceeds how often it is right. Dividing
its logits by a temperature T > 1 softens every answer alike and never changes which label wins,
so the teacher's accuracy stays what it was while its probabilities carry more of what it knows
about hard texts. T is the value that minimises the validation negative log-likelihood.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

from sentiment_app.storage.validation import MAX_TEMPERATURE, MIN_TEMPERATURE  # the range a model directory may hold


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean NLL of `labels` (n,) under softmax(logits / temperature), logits (n, num_labels)."""
    log_probabilities = log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)
    return float(-log_probabilities[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.05, 20] with the lowest NLL on (logits, labels)."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        raise ValueError("temperature scaling needs at least one labelled text")
    result = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, labels, math.exp(log_t)),
        bounds=(math.log(MIN_TEMPERATURE), math.log(MAX_TEMPERATURE)),
        method="bounded",
        options={"xatol": 1e-4},
    )
    return float(math.exp(result.x))
