"""A transfer set for distillation: the training texts plus seeded, perturbed copies of them.

The teacher labels every text of the transfer set, so the copies need no labels of their own.
Two perturbations, after Tang et al. (2019), "Distilling task-specific knowledge from BERT into
simple neural networks":

    masking     each word becomes [UNK] with probability `mask_probability`
                    "a warm , funny film"  ->  "a [UNK] , funny film"
    n-grams     with probability `ngram_probability` the copy keeps only a random run of
                1 to `max_ngram` consecutive words
                    "a warm , funny film"  ->  "funny film"

[UNK] is a special token of both the student's and the teacher's tokenizer, so both read it as
one unknown token. The copies depend only on (texts, settings), never on the run.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

UNKNOWN_WORD = "[UNK]"


@dataclass(frozen=True)
class AugmentSettings:
    copies: int = 5  # perturbed copies per training text
    mask_probability: float = 0.1
    ngram_probability: float = 0.25
    max_ngram: int = 5
    seed: int = 13

    def to_dict(self) -> dict:
        return asdict(self)


def perturb(text: str, settings: AugmentSettings, rng: random.Random) -> str:
    words = text.split()
    if len(words) > 1 and rng.random() < settings.ngram_probability:
        length = min(rng.randint(1, settings.max_ngram), len(words))
        start = rng.randint(0, len(words) - length)
        words = words[start : start + length]
    return " ".join(UNKNOWN_WORD if rng.random() < settings.mask_probability else w for w in words)


def transfer_texts(texts: list[str], settings: AugmentSettings) -> list[str]:
    """The texts themselves first, then `copies` rounds of perturbed copies (a copy that came
    out equal to its original is kept: the teacher's view of it is still a target)."""
    rng = random.Random(settings.seed)
    result = list(texts)
    for _ in range(settings.copies):
        result.extend(perturb(text, settings, rng) for text in texts)
    return result
