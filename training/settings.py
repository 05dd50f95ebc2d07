"""Command-line settings (flags over a recipe) turned into the configs a run trains with."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from sentiment_app.config import ModelConfig, TokenizerConfig, preset
from training.data.embeddings import VECTOR_SOURCES, EmbeddingsError
from training.trainer import TrainingConfig

MODEL_FIELDS = ("embedding_dim", "hidden_dim", "num_layers", "dropout", "pooling", "forget_bias")
TRAINING_FIELDS = (
    "epochs",
    "batch_size",
    "learning_rate",
    "weight_decay",
    "clip_norm",
    "patience",
    "token_dropout",
    "distillation_temperature",
    "average_decay",
    "adversarial_epsilon",
    "precision",
)


def model_config_from_args(name: str, args: argparse.Namespace) -> ModelConfig:
    """The model's preset with the size and readout flags (or recipe keys) given."""
    overrides = {field: getattr(args, field) for field in MODEL_FIELDS if getattr(args, field) is not None}
    if args.embeddings:
        dimension = VECTOR_SOURCES[args.embeddings].dimension
        if overrides.get("embedding_dim", dimension) != dimension:
            raise EmbeddingsError(
                f"--embeddings {args.embeddings} has {dimension} dimensions; "
                f"drop --embedding-dim {overrides['embedding_dim']}"
            )
        overrides["embedding_dim"] = dimension
    chrono_max_lag = getattr(args, "chrono_init", None)
    if chrono_max_lag is not None:
        overrides |= {"forget_bias_init": "chrono", "chrono_max_lag": chrono_max_lag}
    return dataclasses.replace(preset(name), **overrides)


def training_config_from_args(args: argparse.Namespace) -> TrainingConfig:
    """TrainingConfig's defaults with the flags (or recipe keys) given."""
    settings = {field: getattr(args, field) for field in TRAINING_FIELDS if getattr(args, field) is not None}
    return TrainingConfig(**settings, seed=args.seed)


def resolved_settings(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every setting a model of this run is trained with, for --dry-run and metrics.json."""
    return {
        "model_name": name,
        # vocab_size and padding_id come from the tokenizer the run trains
        "model": {
            key: value
            for key, value in model_config_from_args(name, args).to_dict().items()
            if key not in ("vocab_size", "padding_id")
        },
        "training": {**training_config_from_args(args).to_dict(), "candidates": args.candidates},
        "tokenizer": dataclasses.asdict(tokenizer_config_from_args(args)),
        "data": {
            "dataset": args.dataset,
            "text_column": args.text_column,
            "label_column": args.label_column,
            "split_seed": args.split_seed,
            # only when streaming, so that the settings of in-memory runs read as before
            **({"streaming": True, "shuffle_buffer": args.shuffle_buffer} if getattr(args, "streaming", False) else {}),
        },
        "embeddings": {"source": args.embeddings, "frozen": args.freeze_embeddings},
        "distillation": None
        if not args.teacher
        else {
            "teachers": [str(directory) for directory in args.teacher],
            "augment_copies": args.augment_copies,
            "swap_copies": args.swap_copies,
            # only when on, so that the settings of earlier runs read as before
            **({"counterfactuals": True} if args.counterfactuals else {}),
            "calibrate_teacher": args.calibrate_teacher,
        },
        "weights_dtype": args.weights_dtype,
    }


def tokenizer_config_from_args(args: argparse.Namespace) -> TokenizerConfig:
    return TokenizerConfig(
        algorithm=args.tokenizer,
        vocab_size=args.vocab_size,
        min_frequency=args.min_frequency,
        max_length=args.max_length,
    )


def settings_record(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """What metrics.json records of how a model was made: its recipe, the flags that changed the
    recipe, and every resolved setting."""
    return {
        "recipe": args.recipe,
        "overrides": dict(getattr(args, "recipe_overrides", {}) or {}),
        "resolved": resolved_settings(name, args),
    }
