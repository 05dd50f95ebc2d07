"""Attacks on the loader, each a bad model directory built from the tiny trained one: every one is
refused with a ModelLoadError naming the file and the field or bound, before anything large is
allocated or read; a Hub snapshot's links into its blobs still load."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

import pytest
import torch
from safetensors.torch import load_file, save_file

from sentiment_app.config import ModelConfig
from sentiment_app.models.classifiers import build_model, count_parameters
from sentiment_app.paths import DEFAULT_MODELS_DIR
from sentiment_app.storage import model_dir
from sentiment_app.storage.model_dir import ModelLoadError, load_model_dir
from sentiment_app.storage.validation import estimated_parameters

SHIPPED = ["simple-rnn", "lstm", "bilstm", "gru", "bag-of-embeddings"]


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    return shutil.copytree(tiny_model_dir, tmp_path / "model")


@pytest.fixture
def nothing_built(monkeypatch):
    """Fail the test if a model (real or shapes-only) is built: refusals must come before."""

    def refuse(config):
        raise AssertionError(f"build_model called for {config}")

    monkeypatch.setattr(model_dir, "build_model", refuse)


def edit_config(directory, **model_changes):
    path = directory / "config.json"
    config = json.loads(path.read_text())
    config["model"].update(model_changes)
    path.write_text(json.dumps(config))


def edit_weights(directory, change):
    path = directory / "model.safetensors"
    tensors = load_file(str(path))
    change(tensors)
    save_file(tensors, str(path), metadata={"format": "pt"})


@pytest.mark.parametrize("hidden_dim", [20_000, 10**6])
def test_a_huge_hidden_dim_is_refused_before_anything_is_built(model_copy, nothing_built, hidden_dim):
    edit_config(model_copy, hidden_dim=hidden_dim)
    started = time.perf_counter()
    with pytest.raises(
        ModelLoadError, match=f"config.json: model.hidden_dim {hidden_dim:,} is not between 1 and 4,096"
    ):
        load_model_dir(model_copy)
    assert time.perf_counter() - started < 1


def test_sizes_within_their_bounds_but_too_many_parameters_together_are_refused(model_copy, nothing_built):
    edit_config(model_copy, hidden_dim=4096, embedding_dim=4096, num_layers=8)
    with pytest.raises(ModelLoadError, match="config.json: 3,088,367,618 parameters, over the limit of 100,000,000"):
        load_model_dir(model_copy)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("hidden_dim", "128", 'model.hidden_dim must be an integer, got "128"'),
        ("hidden_dim", 128.7, "model.hidden_dim must be an integer, got 128.7"),
        ("hidden_dim", 16.0, "model.hidden_dim must be an integer, got 16.0"),
        ("num_layers", True, "model.num_layers must be an integer, got true"),
        ("bidirectional", "yes", 'model.bidirectional must be true or false, got "yes"'),
        ("bidirectional", 1, "model.bidirectional must be true or false, got 1"),
        ("dropout", "0.1", "model.dropout must be a finite number"),
        ("labels", "negative,positive", "model.labels must be a list of strings"),
        ("labels", ["negative", 1], "model.labels must be a list of strings"),
        ("labels", ["only"], "a classifier needs at least two labels"),
        ("labels", ["same", "same"], "model.labels must be 2 to 100 distinct strings"),
        ("labels", [f"label {i}" for i in range(101)], "model.labels must be 2 to 100 distinct strings, got 101"),
        ("num_layers", 9, "model.num_layers 9 is not between 1 and 8"),
        ("embedding_dim", 0, "embedding_dim must be at least 1, got 0"),
        ("embedding_dim", 5000, "model.embedding_dim 5,000 is not between 1 and 4,096"),
        ("vocab_size", 2_000_000, "model.vocab_size 2,000,000 is not between 1 and 1,000,000"),
        ("padding_id", -1, "model.padding_id -1 is not an id below vocab_size"),
        ("dropout", 1.0, r"dropout must be in \[0, 1\)"),
        ("cell", "transformer", "unknown cell 'transformer'"),
        ("activation", "relu", "unknown model settings: activation"),
        ("forget_bias", 1e6, "model.forget_bias 1000000.0 is not between -20.0 and 20.0"),
        ("forget_bias", "1", "model.forget_bias must be a finite number"),
    ],
)
def test_a_config_field_of_the_wrong_type_or_out_of_bounds_is_refused(model_copy, nothing_built, field, value, message):
    edit_config(model_copy, **{field: value})
    with pytest.raises(ModelLoadError, match=f"config.json: .*{message}"):
        load_model_dir(model_copy)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"name": "x", "model": {"dropout": NaN}}', "NaN is not a JSON number"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('["a list"]', "expected an object"),
        ('{"model": {}}', "no 'name' field"),
        ('{"name": "x", "model": {}, "format_version": 2}', "format_version 2 is not the one this version reads"),
        ('{"name": "x", "model": {}, "tokenizer": {"max_length": 100000}}', "tokenizer.max_length 100,000"),
        ('{"name": "x", "model": {}, "weights_dtype": "int8"}', "weights_dtype 'int8' is not one of"),
        ('{"name": "x", "model": {}, "extra": 1}', "unknown config settings: extra"),
    ],
)
def test_a_malformed_config_is_refused(model_copy, nothing_built, content, message):
    (model_copy / "config.json").write_text(content)
    with pytest.raises(ModelLoadError, match=f"config.json: .*{message}"):
        load_model_dir(model_copy)


def test_a_3_gb_config_is_refused_by_its_size_without_being_read(model_copy, nothing_built, monkeypatch):
    os.truncate(model_copy / "config.json", 3 * 1024**3)  # sparse: no disk used
    monkeypatch.setattr(model_dir, "read_json", lambda *args: pytest.fail("config.json was read"))
    with pytest.raises(ModelLoadError, match="config.json: 3,221,225,472 bytes, over the 1,048,576-byte limit"):
        load_model_dir(model_copy)


def test_weights_larger_than_the_config_allows_are_refused_by_size(model_copy, nothing_built):
    os.truncate(model_copy / "model.safetensors", 900 * 1024**2)  # under 1 GiB, but 4 bytes a parameter fit in 2 MB
    with pytest.raises(ModelLoadError, match="model.safetensors: 943,718,400 bytes, over the .*-byte limit"):
        load_model_dir(model_copy)


@pytest.mark.parametrize("name", ["metrics.json", "config.json", "tokenizer.json", "model.safetensors"])
def test_a_fifo_in_place_of_a_file_is_refused_without_hanging(model_copy, nothing_built, name):
    (model_copy / name).unlink()
    os.mkfifo(model_copy / name)
    signal.signal(signal.SIGALRM, lambda *args: pytest.fail(f"loading hung on the FIFO {name}"))
    signal.alarm(10)
    try:
        with pytest.raises(ModelLoadError, match=f"{name}: not a regular file"):
            load_model_dir(model_copy)
    finally:
        signal.alarm(0)


def test_a_symlink_out_of_the_directory_is_refused(model_copy, tmp_path, nothing_built):
    outside = tmp_path / "elsewhere.json"
    shutil.move(model_copy / "config.json", outside)
    os.symlink(outside, model_copy / "config.json")
    with pytest.raises(ModelLoadError, match=f"config.json: a symbolic link to {outside}, outside"):
        load_model_dir(model_copy)


def test_a_symlink_to_a_device_is_refused(model_copy, nothing_built):
    (model_copy / "metrics.json").unlink()
    os.symlink("/dev/zero", model_copy / "metrics.json")
    with pytest.raises(ModelLoadError, match="metrics.json: a symbolic link to /dev/zero, outside"):
        load_model_dir(model_copy)


def test_a_symlink_that_stays_inside_the_directory_loads(model_copy):
    (model_copy / "kept").mkdir()
    shutil.move(model_copy / "metrics.json", model_copy / "kept" / "metrics.json")
    os.symlink("kept/metrics.json", model_copy / "metrics.json")
    assert load_model_dir(model_copy).metrics["model"]


def hub_snapshot(root, source, repo="models--someone--tiny"):
    """`source`'s files laid out as the Hub cache does: blobs, and a snapshot of relative links."""
    blobs, snapshot = root / repo / "blobs", root / repo / "snapshots" / "0123abcd"
    blobs.mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for index, path in enumerate(sorted(source.iterdir())):
        shutil.copy(path, blobs / f"blob{index}")
        os.symlink(f"../../blobs/blob{index}", snapshot / path.name)
    return snapshot


def test_a_hub_snapshot_whose_files_link_into_its_blobs_loads(tiny_model_dir, tmp_path):
    snapshot = hub_snapshot(tmp_path / "hub", tiny_model_dir)
    loaded = load_model_dir(snapshot)
    assert loaded.metrics and not loaded.notes
    assert loaded.model.embedding.weight.shape[0] == loaded.config.model.vocab_size


def test_a_hub_snapshot_linking_into_another_repo_is_refused(tiny_model_dir, tmp_path):
    hub = tmp_path / "hub"
    other = hub_snapshot(hub, tiny_model_dir, repo="models--someone--other")
    snapshot = hub_snapshot(hub, tiny_model_dir)
    (snapshot / "config.json").unlink()
    os.symlink(os.path.relpath(other / "config.json", snapshot), snapshot / "config.json")
    with pytest.raises(ModelLoadError, match="config.json: a symbolic link to .*models--someone--other.*, outside"):
        load_model_dir(snapshot)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_naming_the_tensor(model_copy, value):
    edit_weights(model_copy, lambda tensors: tensors["output.bias"].fill_(value))
    with pytest.raises(ModelLoadError, match="model.safetensors: tensor 'output.bias' holds NaN or infinite values"):
        load_model_dir(model_copy)


def test_finite_weights_so_large_that_probabilities_overflow_to_nan_are_refused(model_copy):
    edit_weights(model_copy, lambda tensors: tensors["output.weight"].fill_(3e38))
    with pytest.raises(ModelLoadError, match="tensor 'output.weight' holds a value of magnitude 3e.38, over the limit"):
        load_model_dir(model_copy)


def test_integer_weights_are_refused_naming_the_tensor(model_copy):
    def to_int64(tensors):
        tensors["output.weight"] = tensors["output.weight"].to(torch.int64)

    edit_weights(model_copy, to_int64)
    with pytest.raises(ModelLoadError, match="model.safetensors: tensor 'output.weight' is I64; weights must be F32"):
        load_model_dir(model_copy)


def test_bfloat16_weights_load(model_copy):
    edit_weights(model_copy, lambda tensors: tensors.update({k: v.to(torch.bfloat16) for k, v in tensors.items()}))
    assert load_model_dir(model_copy).model.output.weight.dtype == torch.float32


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda tensors: tensors.update(extra=torch.zeros(3)), "tensor 'extra' is not a weight of the model"),
        (lambda tensors: tensors.pop("output.bias"), "weights do not fit config.json .no tensor 'output.bias'"),
        (
            lambda tensors: tensors.update({"output.bias": torch.zeros(5)}),
            r"tensor 'output.bias' has shape \[5\], the config needs \[2\]",
        ),
    ],
)
def test_tensors_that_do_not_fit_the_config_are_refused_from_the_header(model_copy, change, message):
    edit_weights(model_copy, change)
    with pytest.raises(ModelLoadError, match=f"model.safetensors: .*{message}"):
        load_model_dir(model_copy)


@pytest.mark.parametrize(
    "metrics",
    [
        ["a", "list"],
        {"test": [0.9]},
        {"test": {"accuracy": "high"}},
        {"test": {"confusion_matrix": [[1, 2], [3]], "confusion_matrix_labels": ["a", "b"]}},
        {"history": "long"},
        {"history": [{"train_accuracy": 0.5}]},
        {"onnx": {"passed": "yes", "label_agreement": 1, "max_probability_difference": 0}},
        {"onnx": {"passed": True}},
        {"training_seconds": 1e400},
    ],
)
def test_metrics_of_the_wrong_shape_are_ignored_with_a_note(model_copy, metrics, caplog):
    (model_copy / "metrics.json").write_text(json.dumps(metrics).replace("Infinity", "1e400"))
    loaded = load_model_dir(model_copy)
    assert loaded.metrics == {}
    assert len(loaded.notes) == 1 and "metrics.json: " in loaded.notes[0] and "ignored" in loaded.notes[0]
    assert loaded.notes[0] in caplog.text


def test_metrics_with_nan_are_ignored_with_a_note(model_copy):
    (model_copy / "metrics.json").write_text('{"parameters": NaN}')
    loaded = load_model_dir(model_copy)
    assert loaded.metrics == {} and "NaN is not a JSON number" in loaded.notes[0]


def test_parameters_are_estimated_exactly_without_building():
    configs = [
        ModelConfig(cell=cell, bidirectional=bidirectional, num_layers=layers, vocab_size=50, embedding_dim=6)
        for cell in ("rnn", "lstm", "gru")
        for bidirectional in (False, True)
        for layers in (1, 3)
    ] + [ModelConfig(architecture="bag-of-embeddings", pooling="mean", vocab_size=50, labels=("a", "b", "c"))]
    for config in configs:
        assert estimated_parameters(config) == count_parameters(build_model(config)), config


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_model_passes_validation_with_its_metrics(name):
    loaded = load_model_dir(DEFAULT_MODELS_DIR / name)
    assert loaded.notes == [] and loaded.metrics["onnx"]["passed"]


@pytest.mark.parametrize(
    ("calibration", "message"),
    [
        ({"temperature": 100.0}, "calibration.temperature 100.0 is not between 0.05 and 20.0"),
        ({"temperature": "1.5"}, "calibration.temperature must be a finite number"),
        ({"unsure_below": 0.2}, "calibration.unsure_below 0.2 is not between 0.5 and 1"),
        ({"bias": 1}, "unknown calibration settings: bias"),
    ],
)
def test_a_calibration_out_of_bounds_is_refused(model_copy, nothing_built, calibration, message):
    path = model_copy / "config.json"
    config = json.loads(path.read_text())
    config["calibration"] = calibration
    path.write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match=f"config.json: .*{message}"):
        load_model_dir(model_copy)
