"""Model settings as dataclasses with a JSON round trip, and the registry of named presets."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

LABELS: tuple[str, ...] = ("negative", "positive")  # index = class id; 1 = positive
CELLS = ("rnn", "lstm", "gru")
ARCHITECTURES = ("recurrent", "bag-of-embeddings")
POOLINGS = ("last", "max", "mean")
FORGET_BIAS_INITS = ("constant", "chrono")
FORMAT_VERSION = 1  # of config.json; a newer one is refused rather than misread


def json_type_error(where: str, value: Any, annotation: str) -> str | None:
    """Why a value read from JSON does not have a field's type (by its annotation), else None:
    ints must be JSON integers (not true, 128.0 or "128"), floats finite numbers, bools true/false."""
    if annotation == "bool":
        ok, expected = isinstance(value, bool), "true or false"
    elif annotation == "int":
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif annotation == "float":
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok, expected = number and math.isfinite(value), "a finite number"
    elif annotation == "str":
        ok, expected = isinstance(value, str), "a string"
    elif annotation == "tuple[str, ...]":
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
        expected = "a list of strings"
    elif annotation == "dict[str, Any] | None":
        ok, expected = value is None or isinstance(value, dict), "an object or null"
    else:
        return None
    return None if ok else f"{where} must be {expected}, got {shown(value)}"


def shown(value: Any) -> str:
    """A JSON value for an error message: scalars as written (cut to 40 characters), else their kind."""
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "a list"
    return json.dumps(value)[:40]


def checked_fields(cls: type, data: Any, where: str) -> dict[str, Any]:
    """`data` read from JSON for dataclass `cls`: an object with known fields, each of its type."""
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object, got {shown(data)}")
    fields = {f.name: f.type for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"unknown {where} settings: {', '.join(unknown)}")
    for name, value in data.items():
        problem = json_type_error(f"{where}.{name}", value, fields[name])
        if problem:
            raise ValueError(problem)
    return data


@dataclass
class ModelConfig:
    """Everything needed to rebuild a classifier exactly: `build_model(ModelConfig(**json))`."""

    architecture: str = "recurrent"  # "recurrent" or "bag-of-embeddings"
    cell: str = "lstm"  # recurrent cell: "rnn" (Elman), "lstm" or "gru"
    bidirectional: bool = False  # add a backward direction, read right to left
    num_layers: int = 1  # stacked recurrent layers
    vocab_size: int = 8000  # rows of the embedding table; must match tokenizer.json
    embedding_dim: int = 128
    hidden_dim: int = 128  # units per direction (recurrent) or of the hidden layer (bag)
    dropout: float = 0.3  # on embeddings, between layers and before the output layer
    pooling: str = "last"  # sequence summary: final state ("last"), or masked "max" / "mean"
    padding_id: int = 0  # id of [PAD] in tokenizer.json, looked up at training time
    labels: tuple[str, ...] = LABELS
    # LSTM only: the initial forget-gate bias b_f = b_ih_f + b_hh_f. "constant" sets every unit
    # to forget_bias (1.0, as Keras' unit_forget_bias); "chrono" draws b_f ~ log(U(1, T_max - 1))
    # with T_max = chrono_max_lag and sets the input bias to -b_f (Tallec & Ollivier 2018).
    forget_bias: float = 1.0
    forget_bias_init: str = "constant"
    chrono_max_lag: int = 0  # T_max of the chrono initialisation; unused by "constant"

    def __post_init__(self) -> None:
        self.labels = tuple(self.labels)
        checks = {
            "architecture": (self.architecture, ARCHITECTURES),
            "cell": (self.cell, CELLS),
            "pooling": (self.pooling, POOLINGS),
            "forget_bias_init": (self.forget_bias_init, FORGET_BIAS_INITS),
        }
        for name, (value, allowed) in checks.items():
            if value not in allowed:
                raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(allowed)}")
        for name in ("num_layers", "vocab_size", "embedding_dim", "hidden_dim"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.architecture == "bag-of-embeddings" and self.pooling == "last":
            raise ValueError("a bag of embeddings has no last state: use pooling 'mean' or 'max'")
        if len(self.labels) < 2:
            raise ValueError("a classifier needs at least two labels")
        self.check_forget_bias()

    def check_forget_bias(self) -> None:
        """The forget-gate settings apply to LSTM cells only; chrono needs a lag of 2 or more."""
        if not math.isfinite(self.forget_bias):
            raise ValueError(f"forget_bias must be a finite number, got {self.forget_bias}")
        chrono = self.forget_bias_init == "chrono"
        if chrono and self.chrono_max_lag < 2:
            raise ValueError(f"chrono initialisation needs chrono_max_lag of at least 2, got {self.chrono_max_lag}")
        if chrono and self.forget_bias != 1.0:
            raise ValueError("chrono initialisation draws the forget biases: leave forget_bias at 1.0")
        if not chrono and self.chrono_max_lag != 0:
            raise ValueError("chrono_max_lag is only used with forget_bias_init 'chrono'")
        changed = chrono or self.forget_bias != 1.0
        if changed and (self.architecture != "recurrent" or self.cell != "lstm"):
            raise ValueError("the forget-gate bias settings apply to LSTM cells only")

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["labels"] = list(self.labels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """From config.json's "model" object, every field checked for its JSON type first."""
        return cls(**checked_fields(cls, data, "model"))


@dataclass
class TokenizerConfig:
    """How the tokenizer was trained and how texts are cut."""

    algorithm: str = "bpe"  # "bpe" (deterministic training) or "wordpiece"
    vocab_size: int = 16000
    min_frequency: int = 2
    max_length: int = 256  # tokens kept per text; longer texts are truncated


@dataclass
class CalibrationConfig:
    """How a model's probabilities are made honest (`sentiment calibrate` fits both on validation):
    logits are divided by `temperature`, and an answer less confident than `unsure_below` is given
    as a lean ("leans positive, 58%") rather than a verdict."""

    temperature: float = 1.0
    unsure_below: float = 0.5  # 0.5: never unsure


@dataclass
class ModelDirConfig:
    """The content of a model directory's config.json."""

    name: str
    model: ModelConfig
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    weights_dtype: str = "float32"  # dtype the weights are stored in (they run in float32)
    embeddings: dict[str, Any] | None = None  # pretrained vectors used to initialise, if any
    format_version: int = 1
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "name": self.name,
            "model": self.model.to_dict(),
            "tokenizer": dataclasses.asdict(self.tokenizer),
            "weights_dtype": self.weights_dtype,
            "embeddings": self.embeddings,
            "calibration": dataclasses.asdict(self.calibration),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelDirConfig:
        """From config.json's content; a wrong type, a missing or unknown field raises ValueError."""
        if not isinstance(data, dict):
            raise ValueError(f"expected an object, got {shown(data)}")
        top = {key: value for key, value in data.items() if key not in ("model", "tokenizer", "calibration")}
        checked_fields(cls, top, "config")
        for required in ("name", "model"):
            if required not in data:
                raise ValueError(f"no {required!r} field")
        version = data.get("format_version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise ValueError(f"format_version {version} is not the one this version reads ({FORMAT_VERSION})")
        return cls(
            name=data["name"],
            model=ModelConfig.from_dict(data["model"]),
            tokenizer=TokenizerConfig(**checked_fields(TokenizerConfig, data.get("tokenizer", {}), "tokenizer")),
            weights_dtype=data.get("weights_dtype", "float32"),
            embeddings=data.get("embeddings"),
            format_version=version,
            calibration=CalibrationConfig(
                **checked_fields(CalibrationConfig, data.get("calibration", {}), "calibration")
            ),
        )


def refuse_constant(name: str) -> Any:
    """For json.loads: NaN and Infinity are not JSON, though Python's parser takes them."""
    raise ValueError(f"{name} is not a JSON number")


# Registered model names -> the settings that define them. Training flags override sizes.
MODEL_PRESETS: dict[str, ModelConfig] = {
    "simple-rnn": ModelConfig(cell="rnn", pooling="last", dropout=0.5),
    "lstm": ModelConfig(cell="lstm", pooling="last", dropout=0.5),
    "bilstm": ModelConfig(cell="lstm", bidirectional=True, pooling="max", dropout=0.5),
    "gru": ModelConfig(cell="gru", pooling="last", dropout=0.5),
    "bag-of-embeddings": ModelConfig(architecture="bag-of-embeddings", pooling="mean", dropout=0.5),
}


def preset(name: str) -> ModelConfig:
    """A fresh copy of a registered model's settings; unknown names list the valid ones."""
    if name not in MODEL_PRESETS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_PRESETS)}")
    return dataclasses.replace(MODEL_PRESETS[name])
