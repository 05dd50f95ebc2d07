"""What an untrusted model directory claims is checked on load: a metrics.json that says ONNX
Runtime or bfloat16 agreed with PyTorch is believed only when they agree on the built-in check
texts, and one directory that raises anything at all leaves the app starting with the others."""

from __future__ import annotations

import json
import logging
import os
import shutil

import pytest
import torch

from sentiment_app.app import service as service_module
from sentiment_app.app.service import SentimentService
from sentiment_app.inference.backends import bfloat16, onnx
from sentiment_app.inference.predictor import BackendError, Predictor
from sentiment_app.storage.model_dir import load_model_dir

PASSED = {"passed": True, "label_agreement": 1.0, "max_probability_difference": 0.0, "texts": 100}
needs_onnxruntime = pytest.mark.skipif(not onnx.onnxruntime_available(), reason="onnxruntime is not installed")


@pytest.fixture
def claims_agreement(tiny_model_dir, tmp_path):
    """A copy of the tiny model whose metrics.json records that both faster backends agreed."""
    directory = shutil.copytree(tiny_model_dir, tmp_path / "model")
    metrics = json.loads((directory / "metrics.json").read_text())
    metrics.update(onnx=PASSED, bfloat16=PASSED)
    (directory / "metrics.json").write_text(json.dumps(metrics))
    return directory


class Swapped:
    """A backend whose graph no longer matches the weights: each text's logits swapped."""

    def __init__(self, model, *args, **kwargs):
        self.model, self.config = model, model.config

    def __call__(self, token_ids, lengths):
        with torch.no_grad():
            return self.model(token_ids, lengths).flip(1)


@needs_onnxruntime
def test_a_true_onnx_claim_is_kept(claims_agreement):
    assert Predictor(load_model_dir(claims_agreement)).backend == "onnx"


@needs_onnxruntime
def test_an_onnx_claim_that_the_check_texts_contradict_falls_back_to_torch(claims_agreement, monkeypatch, caplog):
    monkeypatch.setattr(onnx, "OnnxClassifier", Swapped)
    with caplog.at_level(logging.WARNING, logger="sentiment_app.inference.predictor"):
        predictor = Predictor(load_model_dir(claims_agreement))
    assert predictor.backend == "torch" and predictor.runner is predictor.model
    assert "ONNX Runtime disagrees with PyTorch on the 8 check texts (0% of labels agree" in caplog.text
    assert "although metrics.json records that it agreed: scoring with PyTorch" in caplog.text
    eager = Predictor(load_model_dir(claims_agreement), backend="torch")
    assert predictor.predict_one("a fine film").probabilities == eager.predict_one("a fine film").probabilities


@needs_onnxruntime
def test_onnx_asked_for_by_name_but_contradicted_is_refused(claims_agreement, monkeypatch):
    monkeypatch.setattr(onnx, "OnnxClassifier", Swapped)
    with pytest.raises(BackendError, match="model: ONNX Runtime disagrees with PyTorch on the 8 check texts"):
        Predictor(load_model_dir(claims_agreement), backend="onnx")


def test_a_bfloat16_claim_that_the_check_texts_contradict_is_refused(claims_agreement, monkeypatch):
    monkeypatch.setattr(bfloat16, "bfloat16_native", lambda: True)
    monkeypatch.setattr(bfloat16, "Bfloat16Classifier", Swapped)
    with pytest.raises(BackendError, match="bfloat16 disagrees with PyTorch .*, although metrics.json records"):
        Predictor(load_model_dir(claims_agreement), backend="bfloat16")


@pytest.mark.parametrize("raised", [MemoryError(), RuntimeError("allocator failed"), KeyError("model")])
def test_a_directory_that_raises_anything_leaves_the_others_loading(trained_models, monkeypatch, caplog, raised):
    real = service_module.load_model_dir

    def load(directory):
        if directory.name == "gru":
            raise raised
        return real(directory)

    monkeypatch.setattr(service_module, "load_model_dir", load)
    service = SentimentService.from_directory(trained_models)
    assert "gru" not in service.model_names and len(service.model_names) == 4
    assert f"gru: {type(raised).__name__}" in service.load_errors["gru"]
    assert "Traceback" in caplog.text and "model gru not loaded" in caplog.text


def test_bad_directories_of_every_kind_are_reported_and_the_good_ones_load(trained_models, tmp_path):
    root = shutil.copytree(trained_models, tmp_path / "models")
    config = json.loads((root / "gru" / "config.json").read_text())
    config["model"]["hidden_dim"] = 10**6
    (root / "gru" / "config.json").write_text(json.dumps(config))
    (root / "lstm" / "metrics.json").unlink()
    (root / "lstm" / "metrics.json").symlink_to("/dev/zero")
    (root / "simple-rnn" / "config.json").unlink()
    os.mkfifo(root / "simple-rnn" / "config.json")
    service = SentimentService.from_directory(root)
    assert sorted(service.load_errors) == ["gru", "lstm", "simple-rnn"] and len(service.model_names) == 2
    assert "hidden_dim 1,000,000 is not between 1 and 4,096" in service.load_errors["gru"]
    assert "metrics.json: a symbolic link to /dev/zero" in service.load_errors["lstm"]
    assert "config.json: not a regular file" in service.load_errors["simple-rnn"]


@pytest.mark.parametrize(
    "calibration",
    [
        {"test_ece_before": "0.08", "test_ece_after": 0.03},
        {"test_ece_before": 0.08},
        {"test_ece_before": 0.1, "test_ece_after": 0.02, "reliability_after": [{"confidence": "x"}]},
    ],
    ids=["string ECE", "missing ECE", "bad reliability bin"],
)
def test_a_calibration_record_of_the_wrong_shape_is_ignored_and_the_app_still_builds(
    tmp_path, tiny_model_dir, calibration
):
    from sentiment_app.app.service import SentimentService
    from sentiment_app.app.ui import build_demo

    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["calibration"] = calibration
    (copy / "metrics.json").write_text(json.dumps(metrics))
    service = SentimentService.from_directory(copy)
    assert service.predictors["model"].metrics == {} and service.calibration_diagrams() == {}
    assert build_demo(service) is not None
