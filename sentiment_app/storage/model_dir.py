"""Save and load a model directory: everything needed to use a model, and nothing pickled.

config.json         ModelDirConfig: architecture, sizes, labels, tokenizer settings
tokenizer.json      the trained `tokenizers` pipeline, truncation included
model.safetensors   the weights (float32, or float16 to halve the size)
metrics.json        how it was trained and how well it did
README.md           the model card
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer

from sentiment_app.config import ModelDirConfig
from sentiment_app.models.classifiers import Classifier, build_model
from sentiment_app.storage.atomic import restore_interrupted_replace, staged_directory
from sentiment_app.storage.validation import (
    MAX_JSON_BYTES,
    MAX_LENGTH,
    MAX_TOKENIZER_BYTES,
    MAX_WEIGHTS_BYTES,
    STORED_WEIGHT_DTYPES,
    ModelLoadError,
    bound_problems,
    check_file,
    check_values,
    check_weights_header,
    files_root,
    max_weights_bytes,
    metrics_problem,
    read_json,
)
from sentiment_app.tokenization import TextEncoder, load_tokenizer

CONFIG_FILE = "config.json"
TOKENIZER_FILE = "tokenizer.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"
CARD_FILE = "README.md"
REQUIRED_FILES = (CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE)
MODEL_FILES = (*REQUIRED_FILES, METRICS_FILE, CARD_FILE)  # everything a model directory holds
WEIGHT_DTYPES = {name: getattr(torch, name) for name in STORED_WEIGHT_DTYPES}  # what save_weights writes
FILE_LIMITS = {  # bytes, checked before a file is opened
    CONFIG_FILE: MAX_JSON_BYTES,
    TOKENIZER_FILE: MAX_TOKENIZER_BYTES,
    WEIGHTS_FILE: MAX_WEIGHTS_BYTES,
    METRICS_FILE: MAX_JSON_BYTES,
    CARD_FILE: MAX_JSON_BYTES,
}
logger = logging.getLogger(__name__)


@dataclass
class LoadedModel:
    directory: Path
    config: ModelDirConfig
    model: Classifier  # in eval mode, float32
    encoder: TextEncoder
    metrics: dict[str, Any]
    notes: list[str] = field(default_factory=list)  # what was ignored while loading, and why


def model_name(directory: Path) -> str:
    """A model directory's name; for a Hub download, its repo id (the folder is a commit hash)."""
    directory = Path(directory)
    if directory.parent.name == "snapshots" and directory.parent.parent.name.startswith("models--"):
        return directory.parent.parent.name.removeprefix("models--").replace("--", "/", 1)
    return directory.name


def is_model_dir(path: Path) -> bool:
    """A directory with a config.json: a model directory, as opposed to a parent of several (one
    whose config.json is no regular file still counts, so that loading it says what is wrong)."""
    return Path(path).is_dir() and os.path.lexists(Path(path) / CONFIG_FILE)


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


def check_files(directory: Path) -> None:
    """Every file of the directory that loading reads: present if required, a regular file inside
    the directory (see `files_root`) and within its size limit, all before any is opened."""
    root = files_root(directory)
    for name in MODEL_FILES:
        path = directory / name
        if os.path.lexists(path):
            check_file(path, FILE_LIMITS[name], root)
        elif name in REQUIRED_FILES:
            raise ModelLoadError(f"{path}: missing (a model directory needs {', '.join(REQUIRED_FILES)})")


def read_config(path: Path) -> ModelDirConfig:
    """config.json, its types and bounds checked: nothing larger than the limits is ever built."""
    try:
        config = ModelDirConfig.from_dict(read_json(path))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelLoadError(f"{path}: not a valid model config ({error})") from error
    problems = bound_problems(config)
    if problems:
        raise ModelLoadError(f"{path}: {'; '.join(problems)}")
    return config


def read_encoder(directory: Path, config: ModelDirConfig) -> TextEncoder:
    """tokenizer.json, checked against config.json and the length bound."""
    path = directory / TOKENIZER_FILE
    try:
        encoder = TextEncoder(load_tokenizer(path))
    except ValueError as error:
        raise ModelLoadError(f"{path}: {error}") from error
    if encoder.vocab_size != config.model.vocab_size:
        raise ModelLoadError(
            f"{path}: vocabulary of {encoder.vocab_size} tokens does not "
            f"match vocab_size {config.model.vocab_size} in {directory / CONFIG_FILE}"
        )
    if encoder.padding_id != config.model.padding_id:
        raise ModelLoadError(
            f"{path}: [PAD] id {encoder.padding_id} does not match "
            f"padding_id {config.model.padding_id} in {directory / CONFIG_FILE}"
        )
    if encoder.max_length is not None and not 1 <= encoder.max_length <= MAX_LENGTH:
        raise ModelLoadError(
            f"{path}: truncation max_length {encoder.max_length:,} is not between 1 and {MAX_LENGTH:,}"
        )
    return encoder


def read_model(directory: Path, config: ModelDirConfig) -> Classifier:
    """The model config.json describes with the weights of model.safetensors, whose size, header
    (names, dtypes, shapes) and values are checked before the model is built."""
    path = directory / WEIGHTS_FILE
    check_file(path, max_weights_bytes(config.model), files_root(directory))
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        expected = {name: tensor.shape for name, tensor in build_model(config.model).state_dict().items()}
    check_weights_header(path, expected)
    weights = read_weights(path)
    check_values(path, weights)
    model = build_model(config.model)
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as error:
        summary = str(error).splitlines()[0]
        raise ModelLoadError(
            f"{path}: weights do not fit {directory / CONFIG_FILE} ({summary}"
            f"{' ...' if len(str(error).splitlines()) > 1 else ''})"
        ) from error
    return model.eval()


def load_model_dir(directory: Path) -> LoadedModel:
    """Load and check a model directory; every failure names the file that caused it."""
    directory = Path(directory)
    restore_interrupted_replace(directory)
    if not directory.is_dir():
        raise ModelLoadError(f"{directory}: no such model directory")
    check_files(directory)
    config = read_config(directory / CONFIG_FILE)
    encoder = read_encoder(directory, config)
    model = read_model(directory, config)
    metrics, notes = read_checked_metrics(directory)
    return LoadedModel(directory=directory, config=config, model=model, encoder=encoder, metrics=metrics, notes=notes)


def read_checked_metrics(directory: Path) -> tuple[dict[str, Any], list[str]]:
    """metrics.json and, where it is unreadable or of the wrong shape, empty metrics and a note why
    (logged): metrics are informational, and without them no faster backend is claimed."""
    path = Path(directory) / METRICS_FILE
    if not os.path.lexists(path):
        return {}, []
    check_file(path, MAX_JSON_BYTES, files_root(directory))
    try:
        data = read_json(path)
        problem = metrics_problem(data)
    except (OSError, ValueError) as error:
        problem = f"unreadable ({error})"
    if problem is None:
        return data, []
    note = f"{path}: {problem}; its metrics are ignored"
    logger.warning("%s", note)
    return {}, [note]


def read_metrics(directory: Path) -> dict[str, Any]:
    """metrics.json if present and valid, else an empty dict (metrics are informational)."""
    return read_checked_metrics(directory)[0]
