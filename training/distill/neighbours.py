"""Near neighbours of words in word-vector space, for the swapped copies of the transfer set.

Each word of a vocabulary gets the `count` words of the same vocabulary whose vectors have the
highest cosine similarity to its own. Neighbours in GloVe are words used in the same places, not
synonyms, which is what makes them useful here: "brilliant" sits beside "superb" and
"terrific", "good" beside "better", "funny" beside "silly", so a copy with a word swapped is a
new sentence, sometimes of the opposite sentiment, that the teacher then labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable

import numpy as np

Neighbours = dict[str, list[str]]
NEIGHBOUR_COUNT = 8  # neighbours kept per word


def swappable_words(texts: Iterable[str], min_count: int = 2) -> list[str]:
    """Lower-case alphabetic words seen at least `min_count` times, most frequent first."""
    counts = Counter(word.lower() for text in texts for word in text.split() if word.isalpha())
    return sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))


def nearest_words(
    words: list[str],
    matrix: np.ndarray,
    row_of: Callable[[str], int | None],
    count: int = NEIGHBOUR_COUNT,
    chunk: int = 2048,
) -> Neighbours:
    """word -> its `count` nearest words among `words` (cosine similarity of their vectors);
    words the vectors lack get none. Ties go to the more frequent word (earlier in `words`)."""
    known = [w for w in words if row_of(w) is not None]
    if len(known) < 2:
        return {}
    vectors = matrix[[row_of(w) for w in known]].astype(np.float32)  # (words, dimension)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.maximum(norms, 1e-12)
    count = min(count, len(known) - 1)
    result: Neighbours = {}
    for start in range(0, len(known), chunk):
        similarity = vectors[start : start + chunk] @ vectors.T  # (chunk, words)
        rows = np.arange(similarity.shape[0])
        similarity[rows, start + rows] = -np.inf  # a word is not its own neighbour
        best = np.argpartition(-similarity, count - 1, axis=1)[:, :count]  # (chunk, count)
        order = np.lexsort((best, -similarity[rows[:, None], best]), axis=1)
        for row, indices in enumerate(np.take_along_axis(best, order, axis=1)):
            result[known[start + row]] = [known[i] for i in indices]
    return result
