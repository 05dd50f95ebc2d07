"""Which words drove a decision: occlusion attributions at word level.

For a text of words w_1..w_n, the attribution of w_i is

    P(positive | text) - P(positive | text without w_i)

so a word that pushes towards "positive" scores above zero and one that pushes towards
"negative" below. All n shortened texts are scored in one batch, so one explanation costs about
one forward pass over n texts. Words are the pre-tokenizer's words; a word split into several
subword tokens is left out whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sentiment_app.inference.batched import batched_probabilities
from sentiment_app.inference.predictor import Predictor

METHOD = "occlusion"
METHOD_DESCRIPTION = (
    "Occlusion: each word's score is the change in P(positive) when that word "
    "is left out (green: pushed towards positive, red: towards negative)."
)


@dataclass
class WordAttribution:
    text: str  # the word as it appears in the input
    start: int  # character offsets in the input
    end: int
    score: float  # P(positive | text) - P(positive | text without this word)


@dataclass
class Explanation:
    words: list[WordAttribution]
    positive_probability: float
    method: str = METHOD


def word_groups(encoding) -> list[tuple[int, int, list[int]]]:
    """(start, end, token positions) of each word in a tokenizers Encoding."""
    groups: dict[int, list[int]] = {}
    for position, word in enumerate(encoding.word_ids):
        if word is not None:
            groups.setdefault(word, []).append(position)
    result = []
    for positions in groups.values():
        start = encoding.offsets[positions[0]][0]
        end = encoding.offsets[positions[-1]][1]
        result.append((start, end, positions))
    return result


def token_groups(encoding) -> list[tuple[int, int, list[int]]]:
    """(start, end, [position]) of each token: occlusion one token at a time."""
    return [(start, end, [position]) for position, (start, end) in enumerate(encoding.offsets)]


def explain(predictor: Predictor, text: str, positive_label: str = "positive", level: str = "word") -> Explanation:
    """Occlusion attributions for every word (level "word") or subword token ("token") the model
    read (after truncation)."""
    encoding = predictor.encoder.encode([text])[0]
    ids = encoding.ids
    if not ids:
        return Explanation(words=[], positive_probability=float("nan"))
    groups = word_groups(encoding) if level == "word" else token_groups(encoding)
    variants = [ids]
    for _, _, positions in groups:
        left_out = set(positions)
        variants.append([token for position, token in enumerate(ids) if position not in left_out])
    # a one-word text has nothing left when its word is removed: score it against [UNK]
    variants = [variant or [predictor.encoder.unknown_id] for variant in variants]
    positive = predictor.labels.index(positive_label)
    with torch.inference_mode():
        probabilities = batched_probabilities(
            predictor.scorer(len(variants)),
            variants,
            predictor.encoder.padding_id,
            batch_size=256,
            temperature=predictor.calibration.temperature,  # in the units of the answer shown beside it
        )
    full = float(probabilities[0, positive])
    words = [
        WordAttribution(
            text=text[start:end], start=start, end=end, score=full - float(probabilities[index + 1, positive])
        )
        for index, (start, end, _) in enumerate(groups)
    ]
    return Explanation(words=words, positive_probability=full)


def highlight_spans(text: str, explanation: Explanation) -> list[tuple[str, float | None]]:
    """The whole text cut into (piece, score) for display: scores scaled to [-1, 1] by the
    largest magnitude, None for the text between words."""
    largest = max((abs(word.score) for word in explanation.words), default=0.0) or 1.0
    spans: list[tuple[str, float | None]] = []
    cursor = 0
    for word in sorted(explanation.words, key=lambda w: w.start):
        if word.start < cursor:
            continue
        if word.start > cursor:
            spans.append((text[cursor : word.start], None))
        spans.append((text[word.start : word.end], round(word.score / largest, 4)))
        cursor = word.end
    if cursor < len(text):
        spans.append((text[cursor:], None))
    return spans
