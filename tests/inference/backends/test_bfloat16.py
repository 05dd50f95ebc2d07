"""The opt-in bfloat16 scoring backend: used only on hardware that multiplies in bfloat16 and for
models whose metrics.json records that it agreed with float32 PyTorch; `training.evaluation.verify_backends`
measures that and records it; sentiment-predict offers it."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from sentiment_app.cli.predict import main as predict_main
from sentiment_app.inference.backends.bfloat16 import Bfloat16Classifier, bfloat16_native
from sentiment_app.inference.predictor import BackendError, load_predictor
from training.evaluation.verify_backends import main as verify_main

needs_bfloat16 = pytest.mark.skipif(
    not bfloat16_native(), reason="this CPU multiplies in bfloat16 neither with AVX512-BF16 nor AMX"
)
TEXTS = [
    "a warm and wonderful film",
    "dull, slow and far too long",
    "the acting is superb",
    "i wanted my money back",
    "not bad at all",
]


def copy_with_check(source, destination, check):
    """A copy of a model directory whose metrics.json records `check` as its bfloat16 check
    (None: no check recorded)."""
    shutil.copytree(source, destination)
    metrics = json.loads((destination / "metrics.json").read_text())
    metrics.pop("bfloat16", None)
    if check is not None:
        metrics["bfloat16"] = check
    (destination / "metrics.json").write_text(json.dumps(metrics))
    return destination


def test_it_is_refused_on_a_cpu_without_bfloat16_arithmetic(tiny_model_dir, monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    with pytest.raises(BackendError, match="AVX512-BF16 or AMX"):
        load_predictor(tiny_model_dir, backend="bfloat16")


@needs_bfloat16
def test_it_is_refused_for_a_model_without_a_passed_check(tiny_model_dir, tmp_path):
    unchecked = copy_with_check(tiny_model_dir, tmp_path / "unchecked", None)
    with pytest.raises(BackendError, match="records no bfloat16 check.*sentiment verify"):
        load_predictor(unchecked, backend="bfloat16")
    failed = copy_with_check(
        tiny_model_dir,
        tmp_path / "failed",
        {"label_agreement": 0.98, "max_probability_difference": 0.05, "passed": False, "texts": 40},
    )
    with pytest.raises(BackendError, match="failed bfloat16 check \\(98.00% of labels agree"):
        load_predictor(failed, backend="bfloat16")
    assert load_predictor(failed).backend in ("onnx", "torch")  # the default never picks it


@needs_bfloat16
def test_training_records_the_check_and_bfloat16_scores_match_float32(tiny_model_dir):
    check = json.loads((tiny_model_dir / "metrics.json").read_text())["bfloat16"]
    assert check["passed"] and check["texts"] > 0
    mixed, exact = load_predictor(tiny_model_dir, backend="bfloat16"), load_predictor(tiny_model_dir, backend="torch")
    assert mixed.backend == "bfloat16" and isinstance(mixed.runner, Bfloat16Classifier)
    for fast, slow in zip(mixed.predict(TEXTS), exact.predict(TEXTS)):
        assert fast.label == slow.label
        for label in fast.probabilities:
            assert fast.probabilities[label] == pytest.approx(slow.probabilities[label], abs=0.02)
    # the module itself keeps float32 weights: explanations and the look inside still use them
    assert all(parameter.dtype == torch.float32 for parameter in mixed.model.parameters())


@needs_bfloat16
def test_verify_backends_measures_and_records_the_check(tiny_model_dir, tmp_path, capsys):
    directory = copy_with_check(tiny_model_dir, tmp_path / "model", None)
    weights = (directory / "model.safetensors").read_bytes()
    assert verify_main([str(directory)]) == 0
    printed = capsys.readouterr().out
    assert f"{directory}: bfloat16: " in printed and "passed" in printed
    metrics = json.loads((directory / "metrics.json").read_text())
    assert metrics["bfloat16"]["passed"] and metrics["bfloat16"]["texts"] == metrics["test"]["num_examples"]
    assert "bfloat16 scoring (opt-in" in (directory / "README.md").read_text()
    assert (directory / "model.safetensors").read_bytes() == weights
    assert load_predictor(directory, backend="bfloat16").backend == "bfloat16"


def test_verify_backends_explains_a_directory_it_cannot_check(tmp_path, capsys):
    assert verify_main([str(tmp_path / "missing")]) == 2
    assert "no such model directory" in capsys.readouterr().err


@needs_bfloat16
def test_sentiment_predict_scores_in_bfloat16_and_explains_a_refusal(tiny_model_dir, tmp_path, capsys):
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n")
    out = tmp_path / "scored.jsonl"
    assert (
        predict_main(
            ["--model", str(tiny_model_dir), "--backend", "bfloat16", "--input", str(texts), "--output", str(out)]
        )
        == 0
    )
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [record["text"] for record in records] == TEXTS
    unchecked = copy_with_check(tiny_model_dir, tmp_path / "unchecked", None)
    assert predict_main(["--model", str(unchecked), "--backend", "bfloat16", "--input", str(texts)]) == 2
    assert "records no bfloat16 check" in capsys.readouterr().err
