"""Temperature scaling of a teacher's logits (--calibrate-teacher)."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluation.calibration import fit_temperature, negative_log_likelihood


def overconfident(scale: float, n: int = 20_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Logits `scale` times too large for the labels they were drawn from."""
    rng = np.random.default_rng(seed)
    honest = rng.normal(0, 2, size=(n, 2))  # (n, 2)
    positive = 1 / (1 + np.exp(honest[:, 0] - honest[:, 1]))
    labels = (rng.random(n) < positive).astype(int)
    return honest * scale, labels


@pytest.mark.parametrize("scale", [0.5, 1.0, 3.0])
def test_the_fitted_temperature_undoes_over_and_underconfidence(scale):
    logits, labels = overconfident(scale)
    assert fit_temperature(logits, labels) == pytest.approx(scale, rel=0.05)


def test_the_fitted_temperature_lowers_the_nll_and_keeps_every_label():
    logits, labels = overconfident(3.0)
    temperature = fit_temperature(logits, labels)
    assert negative_log_likelihood(logits, labels, temperature) < negative_log_likelihood(logits, labels, 1.0)
    assert np.array_equal((logits / temperature).argmax(axis=1), logits.argmax(axis=1))


def test_no_labels_is_an_error():
    with pytest.raises(ValueError, match="at least one"):
        fit_temperature(np.zeros((0, 2)), np.zeros(0, dtype=int))
