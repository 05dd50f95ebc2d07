"""Length-bucketed batches: texts of similar length train together, so padding costs little.

Each epoch, the training rows are shuffled, cut into pools of `pool_batches` batches, each pool
sorted by length and cut into batches, and the batches shuffled again:

    shuffled rows  | 12 3 25 7 18 ... | 9 31 4 ... |      pools of batch_size * pool_batches
    sorted pools   | 3 7 12 18 25 ... | 4 9 31 ... |
    batches        [3 7] [12 18] [25 ..] [4 9] ...        then shuffled as whole batches

The order depends only on (seed, epoch), so an interrupted run that resumes at epoch e sees the
very batches it would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import torch

from sentiment_app.tokenization import EncodedBatch, pad_batch


def epoch_batches(
    lengths: Sequence[int], batch_size: int, seed: int, epoch: int, pool_batches: int = 50
) -> list[np.ndarray]:
    """Row indices of each batch for one epoch."""
    rng = np.random.default_rng([seed, epoch])
    lengths = np.asarray(lengths)
    order = rng.permutation(len(lengths))
    pool_size = batch_size * pool_batches
    batches = []
    for start in range(0, len(order), pool_size):
        pool = order[start : start + pool_size]
        pool = pool[np.argsort(lengths[pool], kind="stable")]
        batches.extend(pool[i : i + batch_size] for i in range(0, len(pool), batch_size))
    shuffled = rng.permutation(len(batches))
    return [batches[i] for i in shuffled]


class PaddedIds:
    """Every text's ids padded once into one (texts, longest) tensor, so that a batch is a
    slice rather than a Python loop over its rows."""

    def __init__(self, id_lists: Sequence[Sequence[int]], padding_id: int) -> None:
        whole = pad_batch(id_lists, padding_id)
        self.token_ids = whole.token_ids  # (texts, longest)
        self.lengths = whole.lengths  # (texts,)

    def batch(self, rows: np.ndarray) -> EncodedBatch:
        index = torch.as_tensor(rows)
        lengths = self.lengths[index]
        width = int(lengths.max())
        return EncodedBatch(token_ids=self.token_ids[index, :width], lengths=lengths)


def iterate_batches(
    padded: PaddedIds, labels: Sequence[int], batch_indices: list[np.ndarray]
) -> Iterator[tuple[EncodedBatch, np.ndarray, np.ndarray]]:
    """Padded batches, their labels and their row indices, in the given order."""
    labels = np.asarray(labels)
    for rows in batch_indices:
        yield padded.batch(rows), labels[rows], rows
