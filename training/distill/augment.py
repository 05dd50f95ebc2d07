"""A transfer set for distillation: the training texts plus seeded, perturbed copies of them.

The teacher labels every text of the transfer set, so the copies need no labels of their own.
Two perturbations, after Tang et al. (2019), "Distilling task-specific knowledge from BERT into
simple neural networks":

    masking     each word becomes [UNK] with probability `mask_probability`
                    "a warm , funny film"  ->  "a [UNK] , funny film"
    n-grams     with probability `ngram_probability` the copy keeps only a random run of
                1 to `max_ngram` consecutive words
                    "a warm , funny film"  ->  "funny film"

and, in `swap_copies` further copies, a third in place of Tang et al.'s same-part-of-speech
replacement (which needs a tagger):

    swaps       each word becomes one of its near neighbours in word-vector space with
                probability `swap_probability` (training/distill/neighbours.py)
                    "a warm , funny film"  ->  "a warm , silly film"

[UNK] is a special token of both the student's and the teacher's tokenizer, so both read it as
one unknown token. The copies depend only on (texts, settings), never on the run.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from training.distill.neighbours import Neighbours

UNKNOWN_WORD = "[UNK]"


@dataclass(frozen=True)
class AugmentSettings:
    copies: int = 5  # perturbed copies per training text
    mask_probability: float = 0.1
    ngram_probability: float = 0.25
    max_ngram: int = 5
    seed: int = 13
    swap_copies: int = 0  # further copies that also swap words for near neighbours
    swap_probability: float = 0.15
    counterfactuals: bool = False  # negated, intensified, contrasted, misspelt copies (distill/counterfactual.py)

    def to_dict(self) -> dict:
        return asdict(self)


def perturb(text: str, settings: AugmentSettings, rng: random.Random) -> str:
    words = text.split()
    if len(words) > 1 and rng.random() < settings.ngram_probability:
        length = min(rng.randint(1, settings.max_ngram), len(words))
        start = rng.randint(0, len(words) - length)
        words = words[start : start + length]
    return " ".join(UNKNOWN_WORD if rng.random() < settings.mask_probability else w for w in words)


def swap_words(text: str, neighbours: Neighbours, probability: float, rng: random.Random) -> str:
    """Each word with neighbours becomes one of them with `probability`; a capitalised word
    stays capitalised."""
    words = text.split()
    for position, word in enumerate(words):
        options = neighbours.get(word.lower())
        if options and rng.random() < probability:
            swapped = rng.choice(options)
            words[position] = swapped.capitalize() if word[:1].isupper() else swapped
    return " ".join(words)


def transfer_texts(texts: list[str], settings: AugmentSettings) -> list[str]:
    """The texts themselves first, then `copies` rounds of perturbed copies (a copy that came
    out equal to its original is kept: the teacher's view of it is still a target)."""
    rng = random.Random(settings.seed)
    result = list(texts)
    for _ in range(settings.copies):
        result.extend(perturb(text, settings, rng) for text in texts)
    return result


def swapped_texts(texts: list[str], settings: AugmentSettings, neighbours: Neighbours) -> list[str]:
    """`swap_copies` rounds of copies with words swapped for neighbours, then masked and cut
    like the other copies. A random stream of their own: the other copies stay as they were,
    and so do their teacher logits in the cache."""
    rng = random.Random(f"swap-{settings.seed}")
    return [
        perturb(swap_words(text, neighbours, settings.swap_probability, rng), settings, rng)
        for _ in range(settings.swap_copies)
        for text in texts
    ]
