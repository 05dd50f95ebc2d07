"""Model directories: round trips, float16 weights, atomic replacement, errors that name files."""

from __future__ import annotations

import json
import shutil

import pytest

from sentiment_app.inference.predictor import Predictor
from sentiment_app.storage.atomic import staged_directory
from sentiment_app.storage.model_dir import ModelLoadError, load_model_dir, save_model_dir

SAMPLES = ["the film is wonderful", "this movie is dreadful", "the cast is charming really"]


@pytest.fixture
def model_copy(tiny_model_dir, tmp_path):
    return shutil.copytree(tiny_model_dir, tmp_path / "model")


def resave(loaded, directory, **changes):
    config = loaded.config
    for key, value in changes.items():
        setattr(config, key, value)
    save_model_dir(
        directory,
        config,
        loaded.model,
        loaded.encoder.tokenizer,
        loaded.metrics,
        (loaded.directory / "README.md").read_text(),
    )


def test_saved_directory_loads_with_identical_predictions(model_copy, tmp_path):
    original = Predictor(load_model_dir(model_copy))
    resave(original.loaded, tmp_path / "again")
    again = Predictor(load_model_dir(tmp_path / "again"))
    for first, second in zip(original.predict(SAMPLES), again.predict(SAMPLES)):
        assert first.probabilities == second.probabilities


def test_float16_weights_halve_the_file_and_keep_the_predictions(model_copy, tmp_path):
    original = Predictor(load_model_dir(model_copy))
    resave(original.loaded, tmp_path / "half", weights_dtype="float16")
    half = Predictor(load_model_dir(tmp_path / "half"))
    full_size = (model_copy / "model.safetensors").stat().st_size
    assert (tmp_path / "half" / "model.safetensors").stat().st_size < 0.6 * full_size
    for first, second in zip(original.predict(SAMPLES), half.predict(SAMPLES)):
        assert first.label == second.label
        for label in first.probabilities:
            assert abs(first.probabilities[label] - second.probabilities[label]) < 1e-2


def test_a_failure_while_writing_keeps_the_old_directory(model_copy):
    before = {p.name: p.read_bytes() for p in model_copy.iterdir()}
    with pytest.raises(RuntimeError):
        with staged_directory(model_copy) as staging:
            (staging / "config.json").write_text("half written")
            raise RuntimeError("disk full")
    assert {p.name: p.read_bytes() for p in model_copy.iterdir()} == before
    assert [p.name for p in model_copy.parent.iterdir() if p.name.startswith(".")] == []


def test_missing_directory_is_named(tmp_path):
    with pytest.raises(ModelLoadError, match="nowhere: no such model directory"):
        load_model_dir(tmp_path / "nowhere")


@pytest.mark.parametrize("name", ["config.json", "tokenizer.json", "model.safetensors"])
def test_missing_file_is_named(model_copy, name):
    (model_copy / name).unlink()
    with pytest.raises(ModelLoadError, match=f"{name}: missing"):
        load_model_dir(model_copy)


def test_truncated_weights_are_named(model_copy):
    path = model_copy / "model.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelLoadError, match="model.safetensors: unreadable safetensors"):
        load_model_dir(model_copy)


def test_garbage_weights_are_named(model_copy):
    (model_copy / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        load_model_dir(model_copy)


def test_vocabulary_mismatch_between_config_and_tokenizer_is_named(model_copy):
    config = json.loads((model_copy / "config.json").read_text())
    config["model"]["vocab_size"] += 7
    (model_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="tokenizer.json: vocabulary of .* does not match"):
        load_model_dir(model_copy)


def test_weights_of_another_shape_are_named(model_copy):
    config = json.loads((model_copy / "config.json").read_text())
    config["model"]["hidden_dim"] *= 2
    (model_copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="model.safetensors: weights do not fit .*config.json"):
        load_model_dir(model_copy)


def test_invalid_config_is_named(model_copy):
    (model_copy / "config.json").write_text('{"name": 3')
    with pytest.raises(ModelLoadError, match="config.json: not a valid model config"):
        load_model_dir(model_copy)


def test_weights_file_holds_only_tensors(model_copy):
    """safetensors, never pickle: the file starts with its JSON header length and header."""
    data = (model_copy / "model.safetensors").read_bytes()
    header_length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + header_length])
    assert all("dtype" in entry for name, entry in header.items() if name != "__metadata__")
    assert not data.startswith(b"\x80")  # no pickle protocol marker


def test_written_directories_and_files_get_ordinary_permissions(model_copy, tmp_path):
    import os
    import stat

    loaded = Predictor(load_model_dir(model_copy)).loaded
    resave(loaded, tmp_path / "fresh")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "fresh").stat().st_mode) == 0o777 & ~umask
    for path in (tmp_path / "fresh").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
