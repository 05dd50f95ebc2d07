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

from sentiment_app.tokenization import EncodedBatch, FlatIds


def epoch_batches(
    lengths: Sequence[int] | np.ndarray, batch_size: int, seed: int, epoch: int, pool_batches: int = 50
) -> list[np.ndarray]:
    """Row indices of each batch for one epoch (array work throughout, a loop only per batch)."""
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


def shard_batches(batches: list[np.ndarray], rank: int, world_size: int) -> list[np.ndarray]:
    """This process's share of an epoch's batches under torchrun: every world_size-th, from its
    rank, cut to an equal count, since every process must take the same number of steps."""
    if world_size == 1:
        return batches
    steps = len(batches) // world_size
    return batches[rank::world_size][:steps]


def iterate_batches(
    ids: FlatIds, labels: Sequence[int], batch_indices: list[np.ndarray], padding_id: int
) -> Iterator[tuple[EncodedBatch, np.ndarray, np.ndarray]]:
    """Padded batches, their labels and their row indices, in the given order; each batch is
    sliced from the flat ids, so its cost does not depend on how many texts there are."""
    labels = np.asarray(labels)
    for rows in batch_indices:
        yield ids.pad(rows, padding_id), labels[rows], rows
