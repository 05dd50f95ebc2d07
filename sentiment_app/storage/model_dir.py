"""Save and load a model directory: everything needed to use a model, and nothing pickled.

config.json         ModelDirConfig: architecture, sizes, labels, tokenizer settings
tokenizer.json      the trained `tokenizers` pipeline, truncation included
model.safetensors   the weights (float32, or float16 to halve the size)
metrics.json        how it was trained and how well it did
README.md           the model card
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer

from sentiment_app.config import ModelDirConfig
from sentiment_app.models.classifiers import Classifier, build_model
from sentiment_app.storage.atomic import restore_interrupted_replace, staged_directory
from sentiment_app.tokenization import TextEncoder, load_tokenizer

CONFIG_FILE = "config.json"
TOKENIZER_FILE = "tokenizer.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"
CARD_FILE = "README.md"
REQUIRED_FILES = (CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE)
MODEL_FILES = (*REQUIRED_FILES, METRICS_FILE, CARD_FILE)  # everything a model directory holds
WEIGHT_DTYPES = {"float32": torch.float32, "float16": torch.float16}


class ModelLoadError(ValueError):
    """A model directory that cannot be used; the message names the file at fault."""


@dataclass
class LoadedModel:
    directory: Path
    config: ModelDirConfig
    model: Classifier  # in eval mode, float32
    encoder: TextEncoder
    metrics: dict[str, Any]


def model_name(directory: Path) -> str:
    """A model directory's name; for a Hub download, its repo id (the folder is a commit hash)."""
    directory = Path(directory)
    if directory.parent.name == "snapshots" and directory.parent.parent.name.startswith("models--"):
        return directory.parent.parent.name.removeprefix("models--").replace("--", "/", 1)
    return directory.name


def is_model_dir(path: Path) -> bool:
    """A directory with a config.json: a model directory, as opposed to a parent of several."""
    return Path(path).is_dir() and (Path(path) / CONFIG_FILE).is_file()


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def save_weights(model: torch.nn.Module, path: Path, dtype: str = "float32") -> None:
    tensors = {
        name: tensor.detach().cpu().to(WEIGHT_DTYPES[dtype]).contiguous() for name, tensor in model.state_dict().items()
    }
    # one metadata key: safetensors writes metadata in hash-map order, and byte-identical files
    # for identical weights are worth keeping (the dtype is in config.json)
    save_file(tensors, str(path), metadata={"format": "pt"})


def save_model_dir(
    directory: Path,
    config: ModelDirConfig,
    model: torch.nn.Module,
    tokenizer: Tokenizer,
    metrics: dict[str, Any],
    model_card: str,
) -> Path:
    """Write a complete model directory atomically: an old one stays whole until the swap."""
    directory = Path(directory)
    with staged_directory(directory) as staging:
        (staging / CONFIG_FILE).write_text(dump_json(config.to_dict()), encoding="utf-8")
        tokenizer.save(str(staging / TOKENIZER_FILE))
        save_weights(model, staging / WEIGHTS_FILE, config.weights_dtype)
        (staging / METRICS_FILE).write_text(dump_json(metrics), encoding="utf-8")
        (staging / CARD_FILE).write_text(model_card, encoding="utf-8")
    return directory


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """Tensors from a safetensors file, as float32; corrupt files raise ModelLoadError."""
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ModelLoadError(f"{path}: unreadable safetensors file ({error})") from error
    return {name: tensor.float() if tensor.is_floating_point() else tensor for name, tensor in tensors.items()}


def load_model_dir(directory: Path) -> LoadedModel:
    """Load and check a model directory; every failure names the file that caused it."""
    directory = Path(directory)
    restore_interrupted_replace(directory)
    if not directory.is_dir():
        raise ModelLoadError(f"{directory}: no such model directory")
    for name in REQUIRED_FILES:
        if not (directory / name).is_file():
            raise ModelLoadError(f"{directory / name}: missing (a model directory needs {', '.join(REQUIRED_FILES)})")
    try:
        config = ModelDirConfig.read(directory / CONFIG_FILE)
    except ValueError as error:
        raise ModelLoadError(str(error)) from error
    try:
        encoder = TextEncoder(load_tokenizer(directory / TOKENIZER_FILE))
    except ValueError as error:
        raise ModelLoadError(f"{directory / TOKENIZER_FILE}: {error}") from error
    if encoder.vocab_size != config.model.vocab_size:
        raise ModelLoadError(
            f"{directory / TOKENIZER_FILE}: vocabulary of {encoder.vocab_size} tokens does not "
            f"match vocab_size {config.model.vocab_size} in {directory / CONFIG_FILE}"
        )
    if encoder.padding_id != config.model.padding_id:
        raise ModelLoadError(
            f"{directory / TOKENIZER_FILE}: [PAD] id {encoder.padding_id} does not match "
            f"padding_id {config.model.padding_id} in {directory / CONFIG_FILE}"
        )
    model = build_model(config.model)
    weights = read_weights(directory / WEIGHTS_FILE)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        summary = str(error).splitlines()[0]
        raise ModelLoadError(
            f"{directory / WEIGHTS_FILE}: weights do not fit {directory / CONFIG_FILE} ({summary}"
            f"{' ...' if len(str(error).splitlines()) > 1 else ''})"
        ) from error
    model.eval()
    metrics = read_metrics(directory)
    return LoadedModel(directory=directory, config=config, model=model, encoder=encoder, metrics=metrics)


def read_metrics(directory: Path) -> dict[str, Any]:
    """metrics.json if present and valid, else an empty dict (metrics are informational)."""
    path = Path(directory) / METRICS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
