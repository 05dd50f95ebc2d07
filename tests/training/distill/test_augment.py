"""The transfer set: the training texts, then seeded, perturbed copies of them."""

from __future__ import annotations

import pytest

from training.distill.augment import UNKNOWN_WORD, AugmentSettings, transfer_texts

transformers = pytest.importorskip("transformers")
TEXTS = ["a warm , funny and moving film", "dull", "the cast is superb but the script is clumsy"]


def test_transfer_set_is_the_texts_then_seeded_perturbed_copies():
    settings = AugmentSettings(copies=4, mask_probability=0.3, ngram_probability=0.5, seed=1)
    transfer = transfer_texts(TEXTS, settings)
    assert len(transfer) == 5 * len(TEXTS) and transfer[: len(TEXTS)] == TEXTS
    assert transfer == transfer_texts(TEXTS, settings)  # same settings, same copies
    assert transfer != transfer_texts(
        TEXTS, AugmentSettings(copies=4, mask_probability=0.3, ngram_probability=0.5, seed=2)
    )
    copies = transfer[len(TEXTS) :]
    assert any(UNKNOWN_WORD in copy for copy in copies)
    assert any(len(copy.split()) < len(TEXTS[i % len(TEXTS)].split()) for i, copy in enumerate(copies))
    for i, copy in enumerate(copies):
        original = TEXTS[i % len(TEXTS)].split()
        words = copy.split()
        # a copy is a run of consecutive words of its original, some of them masked
        assert any(
            all(w in (UNKNOWN_WORD, original[start + j]) for j, w in enumerate(words))
            for start in range(len(original) - len(words) + 1)
        )
