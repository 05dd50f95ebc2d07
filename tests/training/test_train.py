"""sentiment-train: a short run lowers the loss and writes complete, loadable model directories."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from sentiment_app import load_predictor
from sentiment_app.config import preset
from sentiment_app.models.classifiers import build_model
from sentiment_app.paths import PACKAGE_ROOT
from sentiment_app.storage.model_dir import load_model_dir
from tests.helpers import TINY_MODEL_ARGS, synthetic_reviews, write_csv
from training.resume import checkpoint_dir
from training.train import main
from training.trainer import EncodedSplit, Trainer, TrainingConfig

MODEL_FILES = {"config.json", "tokenizer.json", "model.safetensors", "metrics.json", "README.md"}
TIMING_KEYS = {"train_seconds", "samples_per_second", "training_seconds", "created", "command"}


def without_timings(value):
    """Metrics without wall-clock figures and the command line (it names the output), for
    comparing runs."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


MODELS = ["simple-rnn", "lstm", "bilstm", "gru", "bag-of-embeddings"]


@pytest.mark.parametrize("name", MODELS)
def test_each_model_directory_is_complete_and_loads(trained_models, name):
    directory = trained_models / name
    assert {p.name for p in directory.iterdir()} == MODEL_FILES
    loaded = load_model_dir(directory)
    assert loaded.config.name == name
    metrics = json.loads((directory / "metrics.json").read_text())
    for key in (
        "validation",
        "test",
        "history",
        "training_seconds",
        "parameters",
        "seed",
        "library_versions",
        "command",
        "best_epoch",
    ):
        assert key in metrics
    assert metrics["dataset"]["fingerprint"] and metrics["dataset"]["name"].endswith("reviews.csv")
    assert metrics["command"].startswith("sentiment train --models ")
    assert len(metrics["test"]["confusion_matrix"]) == 2
    assert {"accuracy", "macro_f1"} <= set(metrics["test"])
    assert metrics["command"] in (directory / "README.md").read_text()


@pytest.mark.parametrize("name", MODELS)
def test_training_lowers_the_loss(trained_models, name):
    history = json.loads((trained_models / name / "metrics.json").read_text())["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_trained_models_learn_the_synthetic_task(trained_models):
    for name in ("bilstm", "bag-of-embeddings"):
        metrics = json.loads((trained_models / name / "metrics.json").read_text())
        assert metrics["test"]["accuracy"] >= 0.9, name


def test_several_models_write_a_comparison_table(trained_models):
    comparison = json.loads((trained_models / "comparison.json").read_text())
    assert [row["model"] for row in comparison["models"]] == MODELS
    assert comparison["reference"]["model"].startswith("tfidf-logistic-regression")
    assert len(comparison["mcnemar"]) == len(MODELS) * (len(MODELS) - 1) // 2
    table = (trained_models / "comparison.md").read_text()
    for name in MODELS:
        assert f"| {name} |" in table


def test_compare_rebuilds_the_table_after_one_model_is_retrained(trained_models, tmp_path, tiny_csv, capsys):
    from training.evaluation.compare import main as compare

    models = tmp_path / "models"
    shutil.copytree(trained_models, models)
    assert compare([str(models), "--models", ",".join(MODELS)]) == 0
    for name in ("comparison.json", "comparison.md"):  # what sentiment-train --models wrote
        assert (models / name).read_bytes() == (trained_models / name).read_bytes()
    args = ["--model", "gru", "--dataset", str(tiny_csv), *TINY_MODEL_ARGS, "--epochs", "1"]
    assert main([*args, "--out", str(models / "gru")]) == 0
    assert compare([str(models), "--models", ",".join(MODELS)]) == 0
    comparison = json.loads((models / "comparison.json").read_text())
    retrained = json.loads((models / "gru" / "metrics.json").read_text())
    row = next(row for row in comparison["models"] if row["model"] == "gru")
    assert row["test_accuracy"] == retrained["test"]["accuracy"] and row["best_epoch"] == 1
    assert len(comparison["mcnemar"]) == len(MODELS) * (len(MODELS) - 1) // 2
    capsys.readouterr()
    metrics_path = models / "lstm" / "metrics.json"
    other = json.loads(metrics_path.read_text())
    other["dataset"]["fingerprint"] = "0" * 64
    metrics_path.write_text(json.dumps(other))
    assert compare([str(models)]) == 2
    assert "tested on different data" in capsys.readouterr().err


def test_same_seed_and_data_give_the_same_metrics(tmp_path, tiny_csv):
    args = ["--model", "gru", "--dataset", str(tiny_csv), *TINY_MODEL_ARGS]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    first = json.loads((tmp_path / "a" / "metrics.json").read_text())
    second = json.loads((tmp_path / "b" / "metrics.json").read_text())
    assert without_timings(first) == without_timings(second)
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (tmp_path / "b" / "model.safetensors").read_bytes()


def test_a_failed_run_leaves_the_previous_model_untouched(tmp_path, tiny_csv, monkeypatch):
    out = tmp_path / "model"
    args = ["--model", "lstm", "--dataset", str(tiny_csv), "--out", str(out), *TINY_MODEL_ARGS]
    assert main(args) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def crash(self, epoch):
        raise KeyboardInterrupt

    monkeypatch.setattr("training.trainer.Trainer.train_epoch", crash)
    with pytest.raises(KeyboardInterrupt):
        main(args)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if ".staging-" in p.name]


def test_resume_after_sigkill_continues_to_the_same_result(tmp_path):
    """A run killed mid-training keeps the old model; --resume then ends where an uninterrupted
    run ends."""
    data = write_csv(tmp_path / "reviews.csv", synthetic_reviews(3000, seed=5))
    args = [
        "--model",
        "lstm",
        "--dataset",
        str(data),
        "--epochs",
        "6",
        "--patience",
        "6",
        "--embedding-dim",
        "32",
        "--hidden-dim",
        "32",
        "--vocab-size",
        "300",
        "--min-frequency",
        "1",
        "--quiet",
    ]
    reference = tmp_path / "reference"
    assert main([*args, "--out", str(reference)]) == 0
    out = tmp_path / "model"
    assert main([*args, "--epochs", "1", "--out", str(out)]) == 0  # a previous good model
    previous = (out / "model.safetensors").read_bytes()
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "training.train", *args, "--out", str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoint_state = checkpoint_dir(out) / "state.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint_state.exists() and json.loads(checkpoint_state.read_text())["next_epoch"] >= 3:
            break
        time.sleep(0.05)
    assert process.poll() is None, "training finished before it could be interrupted"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (out / "model.safetensors").read_bytes() == previous
    load_predictor(out)  # the previous model still loads
    assert main([*args, "--out", str(out), "--resume"]) == 0
    resumed = json.loads((out / "metrics.json").read_text())
    expected = json.loads((reference / "metrics.json").read_text())
    assert resumed["epochs_run"] == 6
    assert without_timings(resumed["history"]) == without_timings(expected["history"])
    assert resumed["test"] == expected["test"]
    assert not checkpoint_dir(out).exists()


def test_resume_refuses_a_checkpoint_from_other_settings(tmp_path, tiny_csv, monkeypatch, capsys, interrupt_training):
    out = tmp_path / "model"
    args = ["--model", "gru", "--dataset", str(tiny_csv), "--out", str(out), *TINY_MODEL_ARGS]
    interrupt_training(args)
    assert checkpoint_dir(out).is_dir()
    assert main([*args, "--learning-rate", "0.02", "--resume"]) == 2
    assert "other settings" in capsys.readouterr().err


def test_unknown_model_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", "transformer"])
    assert exit_info.value.code == 2
    assert "simple-rnn" in capsys.readouterr().err


def test_bad_dataset_gives_a_message_not_a_traceback(tmp_path, capsys):
    assert main(["--model", "gru", "--dataset", str(tmp_path / "missing.csv"), "--quiet"]) == 2
    assert "missing.csv: no such file" in capsys.readouterr().err


def test_help_documents_the_main_flags():
    result = subprocess.run(["sentiment-train", "--help"], capture_output=True, text=True, check=True)
    for flag in (
        "--model",
        "--models",
        "--dataset",
        "--seed",
        "--out",
        "--resume",
        "--embeddings",
        "--clip-norm",
        "--text-column",
        "--label-column",
    ):
        assert flag in result.stdout


def test_gradients_are_clipped_to_the_norm_only_when_they_exceed_it():
    model = build_model(dataclasses.replace(preset("lstm"), vocab_size=20, embedding_dim=4, hidden_dim=4))
    split = EncodedSplit([[2, 3]], [1])
    trainer = Trainer(
        model,
        TrainingConfig(clip_norm=1.0),
        split,
        split,
        padding_id=0,
        label_names=["negative", "positive"],
        show_progress=False,
    )
    for scale, expected_norm in ((100.0, 1.0), (1e-3, None)):
        for parameter in model.parameters():
            parameter.grad = torch.full_like(parameter, scale)
        before = [p.grad.clone() for p in model.parameters()]
        norm = trainer.clip_gradients()
        total = torch.sqrt(sum((b**2).sum() for b in before))
        assert float(norm) == pytest.approx(float(total), rel=1e-5)  # the norm before clipping
        after = torch.sqrt(sum((p.grad**2).sum() for p in model.parameters()))
        if expected_norm is None:  # small gradients are left exactly as they were
            assert all(torch.equal(b, p.grad) for b, p in zip(before, model.parameters()))
        else:  # large ones are scaled down to the norm, keeping their direction
            assert float(after) == pytest.approx(expected_norm, rel=1e-4)
            ratios = {round(float(p.grad.flatten()[0] / b.flatten()[0]), 6) for b, p in zip(before, model.parameters())}
            assert len(ratios) == 1


def test_weight_averaging_follows_every_step_and_is_what_fit_keeps():
    """With average_decay, the kept weights are the moving average of the weights after each
    optimiser step, recomputed here by hand."""
    torch.manual_seed(0)
    model = build_model(dataclasses.replace(preset("gru"), vocab_size=20, embedding_dim=4, hidden_dim=4))
    texts = [[2, 3, 4], [5, 6], [7, 8, 9, 10], [11]] * 8
    split = EncodedSplit(texts, [1, 0, 1, 0] * 8)
    decay = 0.6
    trainer = Trainer(
        model,
        TrainingConfig(epochs=2, batch_size=8, patience=5, average_decay=decay),
        split,
        split,
        padding_id=0,
        label_names=["negative", "positive"],
        show_progress=False,
    )
    expected: dict[str, torch.Tensor] = {}
    original_step = trainer.optimizer.step

    def step_and_average(*args, **kwargs):
        result = original_step(*args, **kwargs)
        for name, parameter in model.named_parameters():
            value = parameter.detach().clone()
            expected[name] = value if name not in expected else decay * expected[name] + (1 - decay) * value
        return result

    trainer.optimizer.step = step_and_average
    by_epoch = []  # the hand-made average at the end of each epoch
    state = trainer.fit(on_epoch_end=lambda t: by_epoch.append(dict(expected)), log=lambda line: None)
    for name, value in by_epoch[-1].items():
        torch.testing.assert_close(trainer.averaged.module.get_parameter(name).detach(), value, rtol=1e-5, atol=1e-6)
    kept = dict(model.named_parameters())  # the average of the best epoch, not the raw weights
    for name, value in by_epoch[state.best_epoch - 1].items():
        torch.testing.assert_close(kept[name].detach(), value, rtol=1e-5, atol=1e-6)


def test_resume_with_weight_averaging_ends_where_an_uninterrupted_run_ends(
    tmp_path, tiny_csv, monkeypatch, interrupt_training
):
    args = [
        "--model",
        "lstm",
        "--dataset",
        str(tiny_csv),
        *TINY_MODEL_ARGS,
        "--epochs",
        "3",
        "--patience",
        "3",
        "--average-decay",
        "0.9",
    ]
    assert main([*args, "--out", str(tmp_path / "reference")]) == 0
    out = tmp_path / "model"
    interrupt_training([*args, "--out", str(out)])
    assert main([*args, "--out", str(out), "--resume"]) == 0
    resumed = json.loads((out / "metrics.json").read_text())
    expected = json.loads((tmp_path / "reference" / "metrics.json").read_text())
    assert without_timings(resumed["history"]) == without_timings(expected["history"])
    assert resumed["training"]["average_decay"] == 0.9
    assert (out / "model.safetensors").read_bytes() == (tmp_path / "reference" / "model.safetensors").read_bytes()
    assert "moving average of the weights (decay 0.9" in (out / "README.md").read_text()


CANDIDATE_ARGS = ["--model", "gru", *TINY_MODEL_ARGS, "--epochs", "2", "--patience", "2", "--learning-rate", "0.003"]


def test_candidates_keep_the_seed_with_the_best_validation_accuracy(tmp_path, tiny_csv):
    args = [*CANDIDATE_ARGS, "--dataset", str(tiny_csv)]
    out = tmp_path / "best"
    assert main([*args, "--candidates", "3", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    tried = metrics["candidates"]
    assert [c["seed"] for c in tried] == [13, 14, 15]
    singles = {}
    for seed in (13, 14, 15):  # each candidate is the run that seed alone gives
        assert main([*args, "--seed", str(seed), "--out", str(tmp_path / f"seed-{seed}")]) == 0
        singles[seed] = json.loads((tmp_path / f"seed-{seed}" / "metrics.json").read_text())
        assert tried[seed - 13]["validation_accuracy"] == singles[seed]["validation"]["accuracy"]
    winner = max(tried, key=lambda c: c["validation_accuracy"])["seed"]  # the first of equals
    assert metrics["seed"] == metrics["training"]["seed"] == winner
    assert (out / "model.safetensors").read_bytes() == (tmp_path / f"seed-{winner}" / "model.safetensors").read_bytes()
    assert metrics["test"] == singles[winner]["test"]
    assert "trained 3 candidates" in (out / "README.md").read_text()
    assert not checkpoint_dir(out).exists()


def test_resume_skips_the_candidates_already_trained(tmp_path, tiny_csv, monkeypatch, interrupt_training):
    args = [*CANDIDATE_ARGS, "--dataset", str(tiny_csv), "--candidates", "2"]
    assert main([*args, "--out", str(tmp_path / "reference")]) == 0
    out = tmp_path / "model"
    interrupt_training([*args, "--out", str(out)], call=4)  # second candidate, epoch 2
    assert (checkpoint_dir(out) / "seed-13").is_dir() and (checkpoint_dir(out) / "seed-14").is_dir()
    epochs_run = []
    original = Trainer.train_epoch
    monkeypatch.setattr(
        "training.trainer.Trainer.train_epoch", lambda self, epoch: epochs_run.append(epoch) or original(self, epoch)
    )
    assert main([*args, "--out", str(out), "--resume"]) == 0
    assert epochs_run == [2]  # only what the interruption left undone
    resumed = json.loads((out / "metrics.json").read_text())
    expected = json.loads((tmp_path / "reference" / "metrics.json").read_text())
    assert without_timings(resumed) == without_timings(expected)
    assert (out / "model.safetensors").read_bytes() == (tmp_path / "reference" / "model.safetensors").read_bytes()


def test_candidates_must_be_positive(capsys):
    with pytest.raises(SystemExit):
        main(["--model", "gru", "--candidates", "0"])
    assert "--candidates must be at least 1" in capsys.readouterr().err


def test_a_full_disk_while_saving_is_one_line_and_leaves_nothing_behind(tmp_path, tiny_csv, monkeypatch, capsys):
    out = tmp_path / "model"

    def disk_full(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\0" * 100)  # part of the file got out before the disk filled
        raise OSError(errno.ENOSPC, "No space left on device", filename)

    monkeypatch.setattr("sentiment_app.storage.model_dir.save_file", disk_full)
    args = ["--model", "lstm", "--dataset", str(tiny_csv), "--out", str(out), *TINY_MODEL_ARGS]
    assert main(args) == 1
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].endswith("model.safetensors: No space left on device")
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".staging-" in p.name]


def test_staging_left_by_a_killed_run_is_removed_by_the_next(tmp_path, tiny_csv):
    out = tmp_path / "model"
    abandoned = tmp_path / ".model.staging-killed"
    abandoned.mkdir()
    (abandoned / "model.safetensors").write_bytes(b"half")
    os.utime(abandoned, (time.time() - 3600, time.time() - 3600))
    fresh = tmp_path / ".model.staging-in-use"  # a writer that is still at work
    fresh.mkdir()
    assert main(["--model", "lstm", "--dataset", str(tiny_csv), "--out", str(out), *TINY_MODEL_ARGS]) == 0
    assert not abandoned.exists() and fresh.exists() and (out / "model.safetensors").is_file()
