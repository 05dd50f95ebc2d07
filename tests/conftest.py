"""Shared fixtures: a small synthetic sentiment dataset and a model trained on it in seconds."""

from __future__ import annotations

import csv
import random
import socket
from pathlib import Path

import pytest

POSITIVE_WORDS = ["great", "wonderful", "moving", "brilliant", "delightful", "superb", "charming"]
NEGATIVE_WORDS = ["awful", "boring", "dreadful", "tedious", "clumsy", "terrible", "dull"]
SUBJECTS = ["the film", "this movie", "the story", "the cast", "the script", "its ending"]
FILLERS = ["", "honestly", "from start to finish", "for the most part", "in the end", "really"]

TINY_MODEL_ARGS = [
    "--epochs",
    "6",
    "--learning-rate",
    "0.01",
    "--dropout",
    "0.1",
    "--token-dropout",
    "0",
    "--embedding-dim",
    "16",
    "--hidden-dim",
    "16",
    "--vocab-size",
    "200",
    "--min-frequency",
    "1",
    "--batch-size",
    "16",
    "--patience",
    "4",
    "--quiet",
]


def synthetic_reviews(count: int, seed: int = 0) -> list[tuple[str, int]]:
    """Distinct short reviews whose label is set by one sentiment word."""
    rng = random.Random(seed)
    rows, seen = [], set()
    while len(rows) < count:
        label = rng.randint(0, 1)
        word = rng.choice(POSITIVE_WORDS if label else NEGATIVE_WORDS)
        text = f"{rng.choice(SUBJECTS)} is {word} {rng.choice(FILLERS)} number {len(rows)}".replace("  ", " ")
        if text not in seen:
            seen.add(text)
            rows.append((text, label))
    return rows


def free_port() -> int:
    """A TCP port nothing listens on right now, for a server under test."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_csv(path: Path, rows, header=("text", "label")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's caches out of the user's home directory."""
    cache = tmp_path_factory.getbasetemp() / "cache"
    monkeypatch.setenv("SENTIMENT_APP_CACHE", str(cache))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory) -> Path:
    return write_csv(tmp_path_factory.mktemp("data") / "reviews.csv", synthetic_reviews(400))


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory, tiny_csv) -> Path:
    """Every registered model trained briefly on the synthetic data: OUT/<name>/."""
    from training.train import main

    out = tmp_path_factory.mktemp("models")
    cache = tmp_path_factory.getbasetemp() / "cache"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SENTIMENT_APP_CACHE", str(cache))
        patch.setenv("HF_DATASETS_CACHE", str(cache / "hf"))
        code = main(
            [
                "--models",
                "simple-rnn,lstm,bilstm,gru,bag-of-embeddings",
                "--dataset",
                str(tiny_csv),
                "--out",
                str(out),
                *TINY_MODEL_ARGS,
            ]
        )
    assert code == 0
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(trained_models) -> Path:
    return trained_models / "bilstm"
