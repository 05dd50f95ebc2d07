"""Checks that let a model directory from anywhere be loaded safely: every file is a regular file
inside the directory and within its size limit before it is opened, every size in config.json is
bounded and the parameter count estimated before anything is allocated, and every tensor's name,
dtype, shape and values are checked before the weights reach a model. The limits are listed in
docs/reliability.md ("Model directories")."""

from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from sentiment_app.config import ModelConfig, ModelDirConfig, refuse_constant

MIB = 1024 * 1024
MAX_JSON_BYTES = 1 * MIB  # config.json, metrics.json, README.md
MAX_TOKENIZER_BYTES = 50 * MIB
MAX_WEIGHTS_BYTES = 1024 * MIB
WEIGHTS_HEADER_ALLOWANCE = 1 * MIB  # safetensors' JSON header, beyond 4 bytes a parameter

MAX_VOCAB_SIZE = 1_000_000
MAX_WIDTH = 4096  # embedding_dim and hidden_dim
MAX_LAYERS = 8
MAX_LENGTH = 4096  # tokens per text
MAX_LABELS = 100
MAX_LABEL_CHARS = 100
MAX_NAME_CHARS = 200
MAX_PARAMETERS = 100_000_000  # 400 MB in float32
MAX_WEIGHT_MAGNITUDE = 1e4  # the shipped models' largest weight is under 4

TENSOR_DTYPES = ("F32", "F16", "BF16")  # safetensors' names for float32, float16, bfloat16
MAX_FORGET_BIAS = 20.0  # sigmoid(20) is 1 to float32 precision: larger says nothing more
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0  # the range `sentiment calibrate` fits in
STORED_WEIGHT_DTYPES = ("float32", "float16")  # config.json's weights_dtype (`save_weights` writes these)
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


class ModelLoadError(ValueError):
    """A model directory that cannot be used; the message names the file at fault."""


def files_root(directory: Path) -> Path:
    """Where a directory's files may lie: inside the directory, or for a Hugging Face Hub snapshot
    (models--owner--name/snapshots/<commit>/, whose files link to ../../blobs/) inside the repo's
    cache folder."""
    resolved = Path(directory).resolve()
    if resolved.parent.name == "snapshots" and resolved.parent.parent.name.startswith("models--"):
        return resolved.parent.parent
    return resolved


def check_file(path: Path, limit: int, root: Path) -> int:
    """The size of `path`, refused before it is opened unless it is a regular file (or a symbolic
    link to one inside `root`) of at most `limit` bytes."""
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            target = path.resolve(strict=True)
            if not target.is_relative_to(root):
                raise ModelLoadError(f"{path}: a symbolic link to {target}, outside {root}")
            info = os.stat(target)
    except (OSError, RuntimeError) as error:  # RuntimeError: a symbolic link loop
        raise ModelLoadError(f"{path}: cannot be read ({error})") from error
    if not stat.S_ISREG(info.st_mode):
        raise ModelLoadError(f"{path}: not a regular file (a FIFO, device, socket or directory)")
    if info.st_size > limit:
        raise ModelLoadError(f"{path}: {info.st_size:,} bytes, over the {limit:,}-byte limit for this file")
    return info.st_size


def read_json(path: Path, limit: int = MAX_JSON_BYTES) -> Any:
    """A JSON file read in at most `limit` bytes, from a descriptor checked to be a regular file
    (opened non-blocking, so a FIFO swapped in after `check_file` cannot hang the read). Standard
    JSON only: NaN and Infinity raise ValueError, as does nesting too deep to parse."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise ValueError("not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"over the {limit:,}-byte limit")
    try:
        return json.loads(data.decode("utf-8"), parse_constant=refuse_constant)
    except RecursionError as error:
        raise ValueError("nested too deeply") from error


def bound_problems(config: ModelDirConfig) -> list[str]:
    """Each size or setting of a (type-checked) config that is outside its bound."""
    model = config.model
    limits = {
        "model.vocab_size": (model.vocab_size, MAX_VOCAB_SIZE),
        "model.embedding_dim": (model.embedding_dim, MAX_WIDTH),
        "model.hidden_dim": (model.hidden_dim, MAX_WIDTH),
        "model.num_layers": (model.num_layers, MAX_LAYERS),
        "tokenizer.vocab_size": (config.tokenizer.vocab_size, MAX_VOCAB_SIZE),
        "tokenizer.max_length": (config.tokenizer.max_length, MAX_LENGTH),
    }
    problems = [
        f"{name} {value:,} is not between 1 and {limit:,}"
        for name, (value, limit) in limits.items()
        if not 1 <= value <= limit
    ]
    if not 0 <= model.padding_id < model.vocab_size:
        problems.append(f"model.padding_id {model.padding_id} is not an id below vocab_size {model.vocab_size}")
    labels = model.labels
    if not 2 <= len(labels) <= MAX_LABELS or len(set(labels)) != len(labels):
        problems.append(f"model.labels must be 2 to {MAX_LABELS} distinct strings, got {len(labels)}")
    if any(not 1 <= len(label) <= MAX_LABEL_CHARS for label in labels):
        problems.append(f"model.labels must each be 1 to {MAX_LABEL_CHARS} characters")
    if not 1 <= len(config.name) <= MAX_NAME_CHARS:
        problems.append(f"name must be 1 to {MAX_NAME_CHARS} characters")
    if config.weights_dtype not in STORED_WEIGHT_DTYPES:
        problems.append(f"weights_dtype {config.weights_dtype!r} is not one of {', '.join(STORED_WEIGHT_DTYPES)}")
    if not abs(model.forget_bias) <= MAX_FORGET_BIAS:
        problems.append(
            f"model.forget_bias {model.forget_bias} is not between -{MAX_FORGET_BIAS} and {MAX_FORGET_BIAS}"
        )
    if not 0 <= model.chrono_max_lag <= MAX_LENGTH * 100:
        problems.append(f"model.chrono_max_lag {model.chrono_max_lag:,} is not between 0 and {MAX_LENGTH * 100:,}")
    calibration = config.calibration
    if not MIN_TEMPERATURE <= calibration.temperature <= MAX_TEMPERATURE:
        problems.append(
            f"calibration.temperature {calibration.temperature} is not between {MIN_TEMPERATURE} and {MAX_TEMPERATURE}"
        )
    if not 0.5 <= calibration.unsure_below <= 1.0:
        problems.append(f"calibration.unsure_below {calibration.unsure_below} is not between 0.5 and 1")
    if not problems and estimated_parameters(model) > MAX_PARAMETERS:
        problems.append(f"{estimated_parameters(model):,} parameters, over the limit of {MAX_PARAMETERS:,}")
    return problems


def estimated_parameters(model: ModelConfig) -> int:
    """The parameter count of the model a config describes, computed without building it."""
    vocab, width, hidden, labels = model.vocab_size, model.embedding_dim, model.hidden_dim, len(model.labels)
    if model.architecture == "bag-of-embeddings":
        return vocab * width + width * hidden + hidden + hidden * labels + labels
    gates, directions = GATES[model.cell], model.num_directions
    recurrent = 0
    for depth in range(model.num_layers):
        inputs = width if depth == 0 else hidden * directions
        # weight_ih (gates*hidden, inputs), weight_hh (gates*hidden, hidden), two biases
        recurrent += directions * gates * hidden * (inputs + hidden + 2)
    return vocab * width + recurrent + hidden * directions * labels + labels


def max_weights_bytes(model: ModelConfig) -> int:
    """The largest model.safetensors consistent with the config: float32 weights and a header."""
    return min(MAX_WEIGHTS_BYTES, 4 * estimated_parameters(model) + WEIGHTS_HEADER_ALLOWANCE)


def check_weights_header(path: Path, expected: dict[str, torch.Size]) -> None:
    """Tensor names, dtypes and shapes from the safetensors header (no tensor read) against the
    state dict the config describes."""
    try:
        with safe_open(str(path), framework="pt") as weights:
            found = {name: weights.get_slice(name) for name in weights.keys()}
            headers = {name: (part.get_dtype(), tuple(part.get_shape())) for name, part in found.items()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ModelLoadError(f"{path}: unreadable safetensors file ({error})") from error
    for name, (dtype, shape) in headers.items():
        if name not in expected:
            raise ModelLoadError(f"{path}: tensor {name!r} is not a weight of the model config.json describes")
        if dtype not in TENSOR_DTYPES:
            raise ModelLoadError(f"{path}: tensor {name!r} is {dtype}; weights must be {', '.join(TENSOR_DTYPES)}")
        if shape != tuple(expected[name]):
            raise ModelLoadError(
                f"{path}: weights do not fit config.json (tensor {name!r} has shape {list(shape)}, "
                f"the config needs {list(expected[name])})"
            )
    missing = sorted(set(expected) - set(headers))
    if missing:
        raise ModelLoadError(f"{path}: weights do not fit config.json (no tensor {missing[0]!r})")


def check_values(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Refuse NaN, infinite or huge weights: each makes probabilities NaN (which is no JSON). Below
    MAX_WEIGHT_MAGNITUDE every logit of every architecture within the bounds stays finite."""
    for name, tensor in tensors.items():
        if not bool(torch.isfinite(tensor).all()):
            raise ModelLoadError(f"{path}: tensor {name!r} holds NaN or infinite values")
        largest = float(tensor.abs().max()) if tensor.numel() else 0.0
        if largest > MAX_WEIGHT_MAGNITUDE:
            raise ModelLoadError(
                f"{path}: tensor {name!r} holds a value of magnitude {largest:.3g}, "
                f"over the limit of {MAX_WEIGHT_MAGNITUDE:,.0f}"
            )


# --- metrics.json: informational, except the backend checks; the fields the app and predictor read


def number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def text(value: Any) -> bool:
    return isinstance(value, str)


def boolean(value: Any) -> bool:
    return isinstance(value, bool)


def list_of(check: Callable[[Any], bool], length: int | None = None) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, list) and (length is None or len(value) == length) and all(map(check, value))


def record(fields: dict[str, Callable[[Any], bool]], required: tuple[str, ...] = ()) -> Callable[[Any], bool]:
    """An object whose `required` fields are present and whose known fields have their types."""
    return lambda value: (
        isinstance(value, dict)
        and all(name in value for name in required)
        and all(check(value[name]) for name, check in fields.items() if name in value)
    )


def split_figures(value: Any) -> bool:
    """A split's figures; a confusion matrix square, one row per label when the labels are given."""
    figures = {
        "accuracy": number,
        "macro_f1": number,
        "loss": number,
        "num_examples": integer,
        "accuracy_ci95": list_of(number, length=2),
        "confusion_matrix": list_of(list_of(integer)),
        "confusion_matrix_labels": list_of(text),
        "predictions": list_of(integer),
    }
    if not record(figures)(value):
        return False
    matrix = value.get("confusion_matrix", [])
    size = len(value.get("confusion_matrix_labels", matrix))
    return all(len(row) == size for row in matrix) and len(matrix) in (0, size)


BACKEND_CHECK = record(
    {"passed": boolean, "label_agreement": number, "max_probability_difference": number, "texts": integer},
    required=("passed", "label_agreement", "max_probability_difference"),
)
RELIABILITY_BIN = record(
    {"confidence": number, "accuracy": number, "count": integer}, required=("confidence", "accuracy", "count")
)
METRICS_FIELDS: dict[str, Callable[[Any], bool]] = {  # null counts as absent (e.g. "test" with --skip-test)
    "model": text,
    "test": split_figures,
    "validation": split_figures,
    "history": list_of(record({"epoch": integer, "train_accuracy": number, "validation_accuracy": number}, ("epoch",))),
    "onnx": BACKEND_CHECK,
    "bfloat16": BACKEND_CHECK,
    "behavioural": record(
        {"pass_rate": number, "cases": integer, "halves": record({"tuning": number, "held_apart": number})}
    ),
    "calibration": record(
        {
            "temperature": number,
            "unsure_below": number,
            "test_ece_before": number,
            "test_ece_after": number,
            "test_unsure_share": number,
            "bins": integer,
            "reliability_before": list_of(RELIABILITY_BIN),
            "reliability_after": list_of(RELIABILITY_BIN),
        },
        required=("test_ece_before", "test_ece_after"),
    ),
    "familiarity": record(
        {"test_flag_rate": number, "out_of_distribution_flag_rate": number, "out_of_distribution_texts": integer}
    ),
    "distillation": record({"teacher": text}),
    "parameters": integer,
    "best_epoch": integer,
    "epochs_run": integer,
    "training_seconds": number,
    "seed": integer,
}


def metrics_problem(data: Any) -> str | None:
    """The first field of metrics.json's content that does not have the shape the app reads, or None."""
    if not isinstance(data, dict):
        return "not a JSON object"
    for name, check in METRICS_FIELDS.items():
        if data.get(name) is not None and not check(data[name]):
            return f"field {name!r} does not have the expected shape"
    return None
