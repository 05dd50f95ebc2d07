"""The models shipped in assets/models: complete, small, reproducible data, a verified ONNX
backend, and figures in the README that match their metrics.json."""

from __future__ import annotations

import json

import pytest

from sentiment_app.app.service import directory_size
from sentiment_app.inference.backends.agreement import MAX_PROBABILITY_DIFFERENCE, MIN_LABEL_AGREEMENT, compare_backends
from sentiment_app.inference.backends.bfloat16 import bfloat16_native
from sentiment_app.inference.batched import batched_probabilities
from sentiment_app.inference.predictor import available_models, load_predictor
from sentiment_app.paths import DEFAULT_MODELS_DIR, PACKAGE_ROOT
from training.evaluation.verify_backends import bfloat16_figures

ROOT = PACKAGE_ROOT
SHIPPED = ["simple-rnn", "lstm", "bilstm", "gru", "bag-of-embeddings"]


def metrics_of(name: str) -> dict:
    return json.loads((DEFAULT_MODELS_DIR / name / "metrics.json").read_text())


def test_every_registered_model_is_shipped():
    assert set(SHIPPED) <= set(available_models(DEFAULT_MODELS_DIR))


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_is_complete_small_and_documented(name):
    directory = DEFAULT_MODELS_DIR / name
    assert directory_size(directory) <= 10 * 1024 * 1024
    metrics = metrics_of(name)
    card = (directory / "README.md").read_text()
    assert metrics["command"] in card and metrics["command"].startswith(("sentiment train ", "sentiment-train "))
    assert metrics["dataset"]["name"] == "rt-snippets"
    assert f"{metrics['test']['accuracy']:.4f}" in card


@pytest.fixture(scope="module")
def rt_test_split():
    from training.data.sources import load_rt_snippets

    return load_rt_snippets(seed=metrics_of("bilstm")["dataset"]["split_seed"])


def test_the_data_split_is_reproduced_exactly(rt_test_split):
    assert rt_test_split.fingerprint() == metrics_of("bilstm")["dataset"]["fingerprint"]


def test_the_shipped_comparison_table_is_that_of_the_shipped_models(tmp_path):
    """comparison.{json,md} rebuilt from the five metrics.json files equal the committed ones."""
    from training.evaluation.compare import read_results, test_labels, write_comparison

    results = read_results(DEFAULT_MODELS_DIR)
    results = {name: results[name] for name in SHIPPED}
    write_comparison(tmp_path, results, "rt-snippets", test_labels(DEFAULT_MODELS_DIR, results))
    for name in ("comparison.json", "comparison.md"):
        assert (tmp_path / name).read_text() == (DEFAULT_MODELS_DIR / name).read_text(), name


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_onnx_backend_agrees_with_pytorch_on_the_test_split(name, rt_test_split):
    fast = load_predictor(name, backend="onnx")
    eager = load_predictor(name, backend="torch")
    ids, _ = eager.encode(rt_test_split.test["text"])
    padding = eager.encoder.padding_id
    result = compare_backends(
        batched_probabilities(eager.model, ids, padding).numpy(),
        batched_probabilities(fast.runner, ids, padding).numpy(),
    )
    assert result["label_agreement"] >= MIN_LABEL_AGREEMENT
    assert result["max_probability_difference"] <= MAX_PROBABILITY_DIFFERENCE
    assert load_predictor(name).backend == "onnx"  # "auto" picks it: verified in metrics.json


@pytest.mark.slow
@pytest.mark.skipif(not bfloat16_native(), reason="this CPU has no bfloat16 arithmetic")
@pytest.mark.parametrize("name", SHIPPED)
def test_the_recorded_bfloat16_check_is_what_the_test_split_gives(name, rt_test_split):
    """The opt-in bfloat16 backend's check in metrics.json, measured again (texts scored in the
    same length-sorted batches give the same bfloat16 rounding)."""
    mixed = load_predictor(name, backend="bfloat16")
    ids = [row for row in mixed.encode(rt_test_split.test["text"])[0] if row]
    result = bfloat16_figures(mixed.model, ids, mixed.encoder.padding_id)
    assert result["passed"] and result == mixed.metrics["bfloat16"]


@pytest.mark.parametrize("name", SHIPPED)
def test_the_predictor_scores_batches_with_the_faster_backend(name):
    """ONNX Runtime for a few texts always; for many texts too, except the Elman RNN, whose
    batches PyTorch scores faster (benchmarks/run.py)."""
    predictor = load_predictor(name)
    assert predictor.backend == "onnx"
    assert predictor.backend_for(1) == "onnx"
    assert predictor.backend_for(1000) == ("torch" if name == "simple-rnn" else "onnx")
    eager = load_predictor(name, backend="torch")
    assert eager.backend_for(1) == eager.backend_for(1000) == "torch"


@pytest.mark.parametrize("name", SHIPPED)
def test_readme_quotes_the_shipped_figures(name):
    readme = (ROOT / "README.md").read_text()
    metrics = metrics_of(name)
    row = next(line for line in readme.splitlines() if line.startswith(f"| {name} |"))
    assert f"{metrics['test']['accuracy']:.4f}" in row
    low, high = metrics["test"]["accuracy_ci95"]
    assert f"{low:.3f}–{high:.3f}" in row
