"""Uncertainty of test figures: bootstrap confidence intervals and McNemar's paired test."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats


def bootstrap_accuracy_interval(
    correct: Sequence[bool], resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the accuracy: resample the test examples with
    replacement `resamples` times and take the middle `level` of the accuracies."""
    outcomes = np.asarray(correct, dtype=np.float64)
    if outcomes.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, outcomes.size, size=(resamples, outcomes.size))
    accuracies = outcomes[draws].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(accuracies, [tail, 100 - tail])
    return float(low), float(high)


def mcnemar(first_correct: Sequence[bool], second_correct: Sequence[bool]) -> dict[str, float]:
    """McNemar's exact test on paired outcomes of two models over the same examples.

    Only the discordant pairs count: b = first right and second wrong, c = the reverse. Under
    the null hypothesis (equal accuracy) b ~ Binomial(b + c, 1/2); the p-value is two-sided.
    """
    first = np.asarray(first_correct, dtype=bool)
    second = np.asarray(second_correct, dtype=bool)
    if first.shape != second.shape:
        raise ValueError("McNemar's test needs outcomes on the same examples")
    only_first = int((first & ~second).sum())
    only_second = int((~first & second).sum())
    discordant = only_first + only_second
    p_value = 1.0 if discordant == 0 else float(stats.binomtest(only_first, discordant, 0.5).pvalue)
    return {"only_first_correct": only_first, "only_second_correct": only_second, "p_value": p_value}
