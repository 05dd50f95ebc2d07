"""Model settings as dataclasses with a JSON round trip, and the registry of named presets."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LABELS: tuple[str, ...] = ("negative", "positive")  # index = class id; 1 = positive
CELLS = ("rnn", "lstm", "gru")
ARCHITECTURES = ("recurrent", "bag-of-embeddings")
POOLINGS = ("last", "max", "mean")


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

    def __post_init__(self) -> None:
        self.labels = tuple(self.labels)
        checks = {
            "architecture": (self.architecture, ARCHITECTURES),
            "cell": (self.cell, CELLS),
            "pooling": (self.pooling, POOLINGS),
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

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["labels"] = list(self.labels)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model settings: {', '.join(unknown)}")
        return cls(**data)


@dataclass
class TokenizerConfig:
    """How the tokenizer was trained and how texts are cut."""

    algorithm: str = "bpe"  # "bpe" (deterministic training) or "wordpiece"
    vocab_size: int = 16000
    min_frequency: int = 2
    max_length: int = 256  # tokens kept per text; longer texts are truncated


@dataclass
class ModelDirConfig:
    """The content of a model directory's config.json."""

    name: str
    model: ModelConfig
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    weights_dtype: str = "float32"  # dtype the weights are stored in (they run in float32)
    embeddings: dict[str, Any] | None = None  # pretrained vectors used to initialise, if any
    format_version: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "name": self.name,
            "model": self.model.to_dict(),
            "tokenizer": dataclasses.asdict(self.tokenizer),
            "weights_dtype": self.weights_dtype,
            "embeddings": self.embeddings,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelDirConfig:
        return cls(
            name=data["name"],
            model=ModelConfig.from_dict(data["model"]),
            tokenizer=TokenizerConfig(**data.get("tokenizer", {})),
            weights_dtype=data.get("weights_dtype", "float32"),
            embeddings=data.get("embeddings"),
            format_version=data.get("format_version", 1),
        )

    @classmethod
    def read(cls, path: Path) -> ModelDirConfig:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls.from_dict(data)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}: not a valid model config ({error})") from error


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
