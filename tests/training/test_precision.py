"""bfloat16 mixed-precision training (`--precision bfloat16`): refused with a message where the
hardware cannot multiply in bfloat16; where it can, the recurrent layers run in bfloat16 while the
weights, their gradients and the loss stay float32, and a model learns as well as in float32."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from sentiment_app import load_predictor
from sentiment_app.config import preset
from sentiment_app.models.classifiers import build_model
from tests.helpers import TINY_MODEL_ARGS
from training.precision import PrecisionError, bfloat16_native, check_precision
from training.train import main
from training.trainer import EncodedSplit, Trainer, TrainingConfig, evaluate_split

CPU = torch.device("cpu")
LABELS = ["negative", "positive"]
needs_bfloat16 = pytest.mark.skipif(
    not bfloat16_native(CPU), reason="this CPU multiplies in bfloat16 neither with AVX512-BF16 nor AMX"
)


def without_bfloat16_hardware(monkeypatch) -> None:
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)


def marker_task(count: int, seed: int) -> EncodedSplit:
    """Positive exactly when token 3 occurs somewhere in a text of 2 to 13 tokens."""
    generator = torch.Generator().manual_seed(seed)
    id_lists, labels = [], []
    for row in range(count):
        ids = torch.randint(4, 40, (int(torch.randint(2, 14, (1,), generator=generator)),), generator=generator)
        if row % 2:
            ids[int(torch.randint(0, len(ids), (1,), generator=generator))] = 3
        id_lists.append(ids.tolist())
        labels.append(row % 2)
    return EncodedSplit(id_lists, labels)


def bilstm_trainer(precision: str, train: EncodedSplit, validation: EncodedSplit) -> Trainer:
    torch.manual_seed(0)
    config = dataclasses.replace(preset("bilstm"), vocab_size=40, embedding_dim=16, hidden_dim=16, dropout=0.0)
    return Trainer(
        build_model(config),
        TrainingConfig(batch_size=16, learning_rate=0.01, precision=precision),
        train,
        validation,
        0,
        LABELS,
        show_progress=False,
    )


def test_an_unknown_precision_is_refused():
    with pytest.raises(PrecisionError, match="choose from float32, bfloat16"):
        check_precision("float16", CPU)


def test_bfloat16_is_refused_where_the_cpu_cannot_multiply_in_it(monkeypatch):
    without_bfloat16_hardware(monkeypatch)
    data = marker_task(16, seed=0)
    with pytest.raises(PrecisionError, match="neither AVX512-BF16 nor AMX.*--precision float32"):
        bilstm_trainer("bfloat16", data, data)
    bilstm_trainer("float32", data, data)  # float32 runs anywhere


def test_the_training_script_refuses_it_before_reading_any_data(monkeypatch, tmp_path, capsys):
    without_bfloat16_hardware(monkeypatch)
    missing = tmp_path / "missing.csv"
    assert main(["--model", "gru", "--dataset", str(missing), "--precision", "bfloat16", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "bfloat16 training needs hardware" in error and "missing.csv" not in error


@needs_bfloat16
def test_the_recurrent_layers_run_in_bfloat16_and_the_weights_stay_float32():
    data = marker_task(64, seed=1)
    trainer = bilstm_trainer("bfloat16", data, data)
    layer_outputs: list[torch.dtype] = []
    for directions in trainer.model.layers:
        for layer in directions:
            layer.register_forward_hook(lambda module, inputs, output: layer_outputs.append(output[0].dtype))
    result = trainer.train_epoch(1)
    assert set(layer_outputs) == {torch.bfloat16} and len(layer_outputs) == 2 * 4  # 2 directions, 4 batches
    for name, parameter in trainer.model.named_parameters():
        assert parameter.dtype == torch.float32 and parameter.grad.dtype == torch.float32, name
    assert math.isfinite(result["train_loss"])
    layer_outputs.clear()
    evaluate_split(trainer.model, data, 0, LABELS)  # evaluation is what users get: float32
    assert set(layer_outputs) == {torch.float32}


@needs_bfloat16
def test_a_model_learns_as_well_in_bfloat16_as_in_float32():
    train, validation = marker_task(512, seed=2), marker_task(256, seed=3)
    accuracies, first_losses = {}, {}
    for precision in ("float32", "bfloat16"):
        trainer = bilstm_trainer(precision, train, validation)
        first_losses[precision] = trainer.train_epoch(1)["train_loss"]
        for epoch in range(2, 7):
            trainer.train_epoch(epoch)
        accuracies[precision] = evaluate_split(trainer.model, validation, 0, LABELS)["accuracy"]
    assert first_losses["bfloat16"] == pytest.approx(first_losses["float32"], abs=0.03)
    assert accuracies["float32"] >= 0.9
    assert accuracies["bfloat16"] >= accuracies["float32"] - 0.03


@needs_bfloat16
def test_the_training_script_records_the_precision_and_resume_keeps_to_it(
    tmp_path, tiny_csv, monkeypatch, capsys, interrupt_training
):
    out = tmp_path / "model"
    args = ["--model", "bilstm", "--dataset", str(tiny_csv), "--out", str(out), *TINY_MODEL_ARGS]
    assert main([*args, "--precision", "bfloat16"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["training"]["precision"] == "bfloat16"
    assert "bfloat16 mixed precision" in (out / "README.md").read_text()
    (prediction,) = load_predictor(out, backend="torch").predict(["a wonderful film"])
    probabilities = prediction.probabilities
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    # a float32 checkpoint is not continued in bfloat16
    interrupt_training(args)
    assert main([*args, "--precision", "bfloat16", "--resume"]) == 2
    assert "other settings" in capsys.readouterr().err
