"""Length-bucketed batches on flat token arrays: every text once per epoch, similar lengths
together, the same order for the same (seed, epoch), and equal shares under torchrun."""

from __future__ import annotations

import numpy as np
import pytest
from datasets import Dataset

from sentiment_app.config import TokenizerConfig
from sentiment_app.tokenization import FlatIds, TextEncoder, train_tokenizer
from tests.helpers import synthetic_reviews
from training.batching import epoch_batches, iterate_batches, shard_batches
from training.trainer import encode_split


def random_flat(count: int, seed: int = 0) -> FlatIds:
    rng = np.random.default_rng(seed)
    return FlatIds.from_lists([rng.integers(2, 50, size=rng.integers(1, 40)).tolist() for _ in range(count)])


def test_each_epoch_takes_every_text_once_in_batches_of_similar_length():
    flat = random_flat(1000)
    batches = epoch_batches(flat.lengths, batch_size=16, seed=3, epoch=1, pool_batches=10)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(1000))
    spread = np.mean([np.ptp(flat.lengths[batch]) for batch in batches])  # mean length range in a batch
    random_spread = np.mean([np.ptp(flat.lengths[batch]) for batch in np.array_split(np.arange(1000), 63)])
    assert spread < random_spread / 3


def test_the_order_depends_only_on_seed_and_epoch():
    lengths = random_flat(300).lengths
    same = [epoch_batches(lengths, 8, seed=1, epoch=2) for _ in range(2)]
    assert all(np.array_equal(a, b) for a, b in zip(*same))
    other = epoch_batches(lengths, 8, seed=1, epoch=3)
    assert not all(np.array_equal(a, b) for a, b in zip(same[0], other))


def test_batches_are_sliced_from_the_flat_ids_with_their_labels():
    flat = random_flat(200)
    labels = np.arange(200) % 2
    batches = epoch_batches(flat.lengths, 8, seed=0, epoch=1)
    for batch, batch_labels, rows in iterate_batches(flat, labels, batches[:5], padding_id=0):
        assert batch.lengths.tolist() == flat.lengths[rows].tolist()
        for row, token_ids, length in zip(rows, batch.token_ids, batch.lengths):
            assert token_ids[:length].tolist() == flat[row].tolist() and not token_ids[length:].any()
        assert batch_labels.tolist() == labels[rows].tolist()


@pytest.mark.parametrize("world_size", [2, 3])
def test_ranks_take_disjoint_equal_shares_of_the_batches(world_size):
    batches = epoch_batches(random_flat(500).lengths, 8, seed=0, epoch=1)  # 63 batches
    shares = [shard_batches(batches, rank, world_size) for rank in range(world_size)]
    assert len({len(share) for share in shares}) == 1 and len(shares[0]) == len(batches) // world_size
    rows = np.concatenate([np.concatenate(share) for share in shares])
    assert len(set(rows.tolist())) == len(rows)  # no text in two processes' shares


def per_row_encoding(encoder: TextEncoder, dataset: Dataset) -> tuple[list[list[int]], list[int]]:
    """The encoding of earlier releases: `datasets.map`, then the rows read back one at a time."""
    encoded = dataset.map(lambda batch: {"input_ids": encoder.encode_ids(batch["text"])}, batched=True)
    id_lists, labels = encoded["input_ids"], encoded["label"]
    keep = [row for row, ids in enumerate(id_lists) if ids]
    return [id_lists[row] for row in keep], [labels[row] for row in keep]


def test_flat_encoding_equals_the_per_row_encoding():
    rows = synthetic_reviews(300, seed=4) + [("", 1), ("   ", 0)]  # texts with no tokens are left out
    dataset = Dataset.from_dict({"text": [text for text, _ in rows], "label": [label for _, label in rows]})
    texts = [text for text, _ in rows]
    encoder = TextEncoder(train_tokenizer(texts, TokenizerConfig(vocab_size=120, min_frequency=1, max_length=8)))
    soft_targets = np.arange(len(rows) * 2, dtype=np.float32).reshape(len(rows), 2)
    split = encode_split(encoder, dataset, soft_targets)
    id_lists, labels = per_row_encoding(encoder, dataset)
    assert split.ids.to_lists() == id_lists and split.labels == labels and len(split) == 300
    assert np.array_equal(split.soft_targets, soft_targets[:300])
