"""Shared fixtures: a small synthetic sentiment dataset and a model trained on it in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import TINY_MODEL_ARGS, synthetic_reviews, write_csv


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
