"""Vanishing gradients measured: how much of d h_T reaches each earlier state, per cell.

Three measurements, written to one JSON file and one figure (training/experiments/gradient_flow.py
defines the measure g(k) = E_v || d(v . h_T) / d s_{T-k} ||):

    synthetic   each long-range cell (SimpleRNN, LSTM with forget bias 0, 1 or chrono, GRU) on
                sequences of the long-range task, at initialisation and after training on it
    texts       the shipped simple-rnn, lstm and gru on the longest validation texts of their
                dataset, with their trained weights and freshly initialised ones
    exploding   the shipped models' gradient norm before clipping, mean and max per epoch,
                from the history in their metrics.json

    sentiment gradient-decay --out assets/gradient_decay --threads 1
    sentiment gradient-decay --quick --out /tmp/gd      # a smoke run
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sentiment_app.models.classifiers import build_model
from sentiment_app.paths import DEFAULT_MODELS_DIR
from sentiment_app.storage.atomic import atomic_write_text
from training.experiments.gradient_decay_plot import plot
from training.experiments.gradient_flow import measured
from training.experiments.long_range import CELLS, Budget, make_sequences, model_config, train_one

SHIPPED_RECURRENT = ("simple-rnn", "lstm", "gru")  # one direction, so h_T is one layer's state


def synthetic(length: int, trained_distance: int, count: int, budget: Budget) -> dict[str, Any]:
    """Every long-range cell at initialisation and trained at `trained_distance`, measured on
    `count` task sequences of `length` steps."""
    ids, _ = make_sequences(count, length - 1, np.random.default_rng(12345))  # (count, length)
    cells = {}
    for name in CELLS:
        torch.manual_seed(0)
        initial = build_model(model_config(name, trained_distance, budget)).eval()
        run, trained = train_one(name, trained_distance, 0, budget)
        with torch.no_grad():
            embedded = {"initial": initial.embedding(ids), "trained": trained.embedding(ids)}
        cells[name] = {
            "initial": measured(initial.layers[0][0], embedded["initial"]),
            "trained": measured(trained.layers[0][0], embedded["trained"]),
            "training": {key: run[key] for key in ("test_accuracy", "epochs", "sequences_seen")},
        }
        print(
            f"synthetic {name:>12}: decay per step {cells[name]['initial']['decay_per_step']:.3f} at "
            f"initialisation, {cells[name]['trained']['decay_per_step']:.3f} trained "
            f"(test accuracy {run['test_accuracy']:.3f})",
            flush=True,
        )
    return {"sequence_length": length, "trained_distance": trained_distance, "sequences": count, "cells": cells}


def longest_texts(loaded, length: int, count: int) -> torch.Tensor:
    """(texts, length) ids: the first `length` tokens of the validation texts at least that long."""
    from training.data.sources import load_splits

    dataset = loaded.metrics["dataset"]
    splits = load_splits(dataset["name"], seed=dataset["split_seed"])
    id_lists = loaded.encoder.encode_ids(splits.validation["text"])
    kept = [ids[:length] for ids in id_lists if len(ids) >= length][:count]
    return torch.as_tensor(kept)


def texts(models_dir: Path, length: int, count: int) -> dict[str, Any]:
    """The shipped one-direction models on real texts, trained and freshly initialised."""
    from sentiment_app.storage.model_dir import load_model_dir

    models = {}
    for name in SHIPPED_RECURRENT:
        directory = models_dir / name
        if not directory.is_dir():
            continue
        loaded = load_model_dir(directory)
        ids = longest_texts(loaded, length, count)
        torch.manual_seed(0)
        initial = build_model(loaded.config.model).eval()
        with torch.no_grad():
            embedded = {"initial": initial.embedding(ids), "trained": loaded.model.embedding(ids)}
        models[name] = {
            "forget_bias": loaded.config.model.forget_bias if loaded.config.model.cell == "lstm" else None,
            "texts": len(ids),
            "initial": measured(initial.layers[0][0], embedded["initial"]),
            "trained": measured(loaded.model.layers[0][0], embedded["trained"]),
        }
        print(
            f"texts {name:>10}: decay per step {models[name]['initial']['decay_per_step']:.3f} at "
            f"initialisation, {models[name]['trained']['decay_per_step']:.3f} trained ({len(ids)} texts)",
            flush=True,
        )
    return {"length": length, "models": models}


def exploding(models_dir: Path) -> dict[str, Any]:
    """Per shipped model: the clip norm and each epoch's mean and max gradient norm before clipping."""
    records: dict[str, Any] = {}
    if not models_dir.is_dir():
        return records
    for directory in sorted(path for path in models_dir.iterdir() if (path / "metrics.json").is_file()):
        metrics = json.loads((directory / "metrics.json").read_text(encoding="utf-8"))
        history = metrics.get("history") or []
        if not history or "gradient_norm_max" not in history[0]:
            continue
        records[directory.name] = {
            "clip_norm": metrics.get("training", {}).get("clip_norm"),
            "epochs": [row["epoch"] for row in history],
            "mean": [row["gradient_norm_mean"] for row in history],
            "max": [row["gradient_norm_max"] for row in history],
            "clipped_fraction": [row.get("clipped_fraction", 0.0) for row in history],
        }
    return records


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentiment gradient-decay", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("assets/gradient_decay"),
        help="output prefix: writes OUT.json and OUT.png (default: %(default)s)",
    )
    parser.add_argument(
        "--models-dir", type=Path, default=DEFAULT_MODELS_DIR, help="the shipped models (default: assets/models)"
    )
    parser.add_argument(
        "--length", type=int, default=201, help="steps of the synthetic sequences measured (default: %(default)s)"
    )
    parser.add_argument(
        "--trained-distance",
        type=int,
        default=50,
        help="distractors of the long-range task the cells are trained on (default: %(default)s)",
    )
    parser.add_argument(
        "--text-length", type=int, default=40, help="tokens of each real text measured (default: %(default)s)"
    )
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: all cores)")
    parser.add_argument("--quick", action="store_true", help="tiny settings for a smoke test")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    budget, count, text_count = Budget(max_epochs=10), 64, 128
    if args.quick:
        args.length, args.trained_distance, args.text_length, count, text_count = 30, 5, 12, 8, 8
        budget = dataclasses.replace(budget, steps_per_epoch=5, max_epochs=2, validation_size=64, test_size=64)
    started = time.perf_counter()
    result = {
        "settings": {
            "measure": "E_v || d(v . h_T) / d s_(T-k) ||, v uniform on the unit sphere; s = h, or (h, c) for the LSTM",
            "training": budget.to_dict(),
            "synthetic_sequences": count,
            "texts": text_count,
            "command": " ".join(["sentiment gradient-decay", *argv]),
        },
        "synthetic": synthetic(args.length, args.trained_distance, count, budget),
        "texts": texts(args.models_dir, args.text_length, text_count),
        "exploding": exploding(args.models_dir),
    }
    result["wall_seconds"] = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(result, indent=2) + "\n")
    plot(result, args.out.with_suffix(".png"))
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
