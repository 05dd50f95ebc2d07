"""Streaming: the training split read through a bounded shuffle buffer, validation and test
held whole and exact, from local files and Hub-layout mirrors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from datasets import Dataset

from sentiment_app.config import TokenizerConfig
from sentiment_app.tokenization import TextEncoder, train_tokenizer
from tests.helpers import TINY_MODEL_ARGS, synthetic_reviews, write_csv
from training.data.sources import DatasetError, dedupe_key
from training.data.streaming import (
    TEST_BUCKET,
    VALIDATION_BUCKET,
    StreamingTrainSplit,
    buffer_shuffled,
    open_streaming_splits,
    split_bucket,
)
from training.train import main

ROWS = synthetic_reviews(1200, seed=7)


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps({"review": text, "sentiment": label}) + "\n" for text, label in rows))
    return path


@pytest.fixture(params=["csv", "jsonl"])
def data_file(request, tmp_path):
    if request.param == "csv":
        return write_csv(tmp_path / "reviews.csv", ROWS), {}
    return write_jsonl(tmp_path / "reviews.jsonl", ROWS), {"text_column": "review", "label_column": "sentiment"}


def test_validation_and_test_are_exactly_the_texts_of_their_hash_buckets(data_file):
    path, columns = data_file
    splits = open_streaming_splits(str(path), seed=3, shuffle_buffer=50, **columns)
    expected = {VALIDATION_BUCKET: [], TEST_BUCKET: []}
    for text, label in ROWS:
        bucket = split_bucket(dedupe_key(text), 3)
        if bucket in expected:
            expected[bucket].append((text, label))
    for split, bucket in (("validation", VALIDATION_BUCKET), ("test", TEST_BUCKET)):
        held = splits.splits[split]
        assert list(zip(held["text"], held["label"])) == expected[bucket]  # in file order, none missing
    sizes = splits.sizes()
    assert sizes["train"] + sizes["validation"] + sizes["test"] == len(ROWS)
    assert 0.05 < sizes["test"] / len(ROWS) < 0.15


def test_each_epoch_streams_every_training_text_once_in_its_own_order(data_file):
    path, columns = data_file
    splits = open_streaming_splits(str(path), seed=3, shuffle_buffer=50, **columns)  # far fewer than the rows
    held = set(splits.validation["text"]) | set(splits.test["text"])
    epochs = [[text for text, _ in splits.train_rows(seed=1, epoch=epoch)] for epoch in (1, 2)]
    assert sorted(epochs[0]) == sorted(epochs[1]) == sorted(text for text, _ in ROWS if text not in held)
    assert epochs[0] != epochs[1]  # reshuffled every epoch
    assert epochs[0] == [text for text, _ in splits.train_rows(seed=1, epoch=1)]  # and reproducibly
    file_order = [text for text, _ in ROWS if text not in held]
    assert epochs[0] != file_order


def test_streamed_batches_are_length_bucketed_and_shared_out_between_ranks(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", ROWS)
    splits = open_streaming_splits(str(path), seed=3, shuffle_buffer=100)
    encoder = TextEncoder(train_tokenizer(splits.tokenizer_sample(seed=3), TokenizerConfig(vocab_size=200)))
    train = StreamingTrainSplit(splits, encoder, pool_batches=4)
    alone = list(train.batches(1, batch_size=16, seed=0, rank=0, world_size=1, padding_id=encoder.padding_id))
    assert sum(len(labels) for _, labels, _ in alone) == len(train)
    spreads = [int(batch.lengths.max() - batch.lengths.min()) for batch, _, _ in alone]
    assert np.mean(spreads) <= 2
    shares = [list(train.batches(1, 16, 0, rank, 2, encoder.padding_id)) for rank in (0, 1)]
    assert len(shares[0]) == len(shares[1]) == len(alone) // 2
    assert [b.token_ids.tolist() for b, _, _ in shares[0]] == [
        b.token_ids.tolist() for b, _, _ in alone[0::2][: len(shares[0])]
    ]


def test_the_shuffle_buffer_yields_every_row_once_and_holds_no_more_than_its_size():
    read = []

    def rows():
        for row in range(5000):
            read.append(row)
            yield row

    shuffled = []
    for row in buffer_shuffled(rows(), 100, np.random.default_rng(0)):
        assert len(read) - len(shuffled) <= 101  # rows read but not yet yielded: the buffer, and one
        shuffled.append(row)
    assert sorted(shuffled) == list(range(5000)) and shuffled != list(range(5000))
    assert shuffled == list(buffer_shuffled(range(5000), 100, np.random.default_rng(0)))


def test_a_missing_column_is_named(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", ROWS[:20])
    with pytest.raises(DatasetError, match="no column 'review'"):
        open_streaming_splits(str(path), text_column="review")


@pytest.mark.slow
def test_sentiment_train_streaming_learns_and_scores_the_held_out_splits_whole(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", synthetic_reviews(1500, seed=2))
    out = tmp_path / "gru"
    args = [*TINY_MODEL_ARGS, "--model", "gru", "--dataset", str(path), "--out", str(out)]
    assert main([*args, "--streaming", "--shuffle-buffer", "64"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    splits = open_streaming_splits(str(path), seed=13)
    assert metrics["dataset"]["sizes"] == splits.sizes() and metrics["test"]["num_examples"] == len(splits.test)
    assert metrics["test"]["accuracy"] >= 0.9
    assert metrics["settings"]["resolved"]["data"]["shuffle_buffer"] == 64


def test_streaming_refuses_a_teacher(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--streaming", "--teacher", str(tmp_path), "--dry-run"])
    assert "--streaming cannot distil" in capsys.readouterr().err


def test_a_hub_source_keeps_its_test_split_whole_and_its_leaked_texts_out_of_training(tmp_path, monkeypatch):
    imdb = tmp_path / "hub" / "stanfordnlp" / "imdb" / "plain_text"
    imdb.mkdir(parents=True)
    train_rows, test_rows = ROWS[:300], ROWS[300:360] + ROWS[:5]  # five training texts leaked into test
    for name, rows in (("train", train_rows), ("test", test_rows)):
        table = Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]})
        table.to_parquet(str(imdb / f"{name}-00000-of-00001.parquet"))
    monkeypatch.setenv("SENTIMENT_APP_HUB_MIRROR", str(tmp_path / "hub"))
    splits = open_streaming_splits("imdb", seed=3, shuffle_buffer=20)
    assert list(splits.test["text"]) == [text for text, _ in test_rows]
    trained = [text for text, _ in splits.train_rows(seed=0, epoch=1)]
    assert not set(trained) & set(splits.test["text"]) and not set(trained) & set(splits.validation["text"])
    carved = [t for t, _ in train_rows[5:] if split_bucket(dedupe_key(t), 3) == VALIDATION_BUCKET]
    assert list(splits.validation["text"]) == carved
    assert len(trained) == splits.sizes()["train"] == 295 - len(carved)
