"""The long-range experiment: can a network remember one early token across N distractors?

Each sequence starts with a signal token, A or B, which sets the label, followed by N tokens
drawn at random from 20 distractors:

    A  d7 d3 d19 ... d11   -> label 1        B  d2 d2 d14 ... d5   -> label 0
    |<-------- N -------->|

The classifier reads only the final hidden state, so the signal has to survive N steps, and the
training gradient has to travel back N steps to reach it. Every cell (SimpleRNN, LSTM with
forget bias 0, 1 or chrono, GRU) gets the same budget: each epoch is a set number of steps on
freshly drawn sequences (no sequence is seen twice, so nothing can be memorised), with the same
batch size and learning rate, and a run stops early once it classifies every validation sequence.
The script writes every run to a JSON file and plots the mean and spread over seeds.

    sentiment long-range --out assets/long_range --threads 1   # the full run
    sentiment long-range --quick --out /tmp/lr                  # a smoke run
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sentiment_app.config import ModelConfig
from sentiment_app.models.classifiers import RecurrentClassifier, build_model
from sentiment_app.storage.atomic import atomic_write_text
from training.experiments.long_range_plot import plot, summarise

PADDING_ID, SIGNAL_A, SIGNAL_B, FIRST_DISTRACTOR = 0, 1, 2, 3
NUM_DISTRACTORS = 20
LABELS = ("B", "A")
# cell name -> (ModelConfig.cell, forget-gate setting); chrono's T_max is the task's lag
CELLS: dict[str, tuple[str, str | None]] = {
    "simple-rnn": ("rnn", None),
    "lstm-bias-0": ("lstm", "0"),
    "lstm-bias-1": ("lstm", "1"),
    "lstm-chrono": ("lstm", "chrono"),
    "gru": ("gru", None),
}
DEFAULT_DISTANCES = (5, 10, 20, 50, 100, 200)
ADVANCE_ACCURACY = 0.99  # validation accuracy at a curriculum stage that moves training on


@dataclass
class Budget:
    """What every cell is given, the same for all: sizes, optimiser and how much fresh data."""

    batch_size: int = 64
    steps_per_epoch: int = 50  # fresh batches between two validations
    max_epochs: int = 20
    learning_rate: float = 1e-2  # Adam
    clip_norm: float = 5.0
    hidden_dim: int = 32
    embedding_dim: int = 16
    validation_size: int = 512
    test_size: int = 2000
    curriculum: bool = False  # train at the shorter distances first (the same stages for every cell)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def make_sequences(count: int, distance: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` sequences of a signal then `distance` distractors: ids (count, distance + 1), labels (count,)."""
    labels = rng.integers(0, 2, size=count)
    distractors = rng.integers(FIRST_DISTRACTOR, FIRST_DISTRACTOR + NUM_DISTRACTORS, size=(count, distance))
    signals = np.where(labels == 1, SIGNAL_A, SIGNAL_B)
    sequences = np.concatenate([signals[:, None], distractors], axis=1)
    return torch.as_tensor(sequences), torch.as_tensor(labels)


def model_config(cell_name: str, distance: int, budget: Budget) -> ModelConfig:
    """The classifier of one cell for one distance; chrono's T_max is the lag to bridge."""
    cell, forget = CELLS[cell_name]
    gate: dict[str, Any] = {}
    if forget == "chrono":
        gate = {"forget_bias_init": "chrono", "chrono_max_lag": distance + 1}
    elif forget is not None:
        gate = {"forget_bias": float(forget)}
    return ModelConfig(
        cell=cell,
        vocab_size=FIRST_DISTRACTOR + NUM_DISTRACTORS,
        embedding_dim=budget.embedding_dim,
        hidden_dim=budget.hidden_dim,
        dropout=0.0,
        pooling="last",
        labels=LABELS,
        **gate,
    )


def forget_bias_setting(config: ModelConfig) -> dict[str, Any] | None:
    """How an LSTM's forget-gate bias started, for the record; None for the other cells."""
    if config.cell != "lstm":
        return None
    if config.forget_bias_init == "chrono":
        return {"init": "chrono", "chrono_max_lag": config.chrono_max_lag}
    return {"init": "constant", "value": config.forget_bias}


@torch.no_grad()
def accuracy(model: nn.Module, ids: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    lengths = torch.full((len(ids),), ids.shape[1])
    predictions = model(ids, lengths).argmax(dim=1)  # (count,)
    model.train()
    return float((predictions == labels).float().mean())


def curriculum_stages(distance: int, curriculum: bool) -> list[int]:
    """The distances trained at in turn: the shorter default distances first, then `distance`."""
    shorter = [stage for stage in DEFAULT_DISTANCES if stage < distance] if curriculum else []
    return [*shorter, distance]


def train_one(cell_name: str, distance: int, seed: int, budget: Budget) -> tuple[dict[str, Any], RecurrentClassifier]:
    """Train one cell at one distance from one seed; the run's record and the best model.

    With a curriculum the epochs train at the shorter distances first, moving on once an
    epoch classifies 99% of that distance's validation sequences; every epoch is validated at
    `distance`, which alone picks the weights kept and stops the run at 100%."""
    rng = np.random.default_rng([seed, distance])
    validation = make_sequences(budget.validation_size, distance, rng)
    test = make_sequences(budget.test_size, distance, rng)
    torch.manual_seed(seed)
    config = model_config(cell_name, distance, budget)
    model = build_model(config).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=budget.learning_rate)
    stages = curriculum_stages(distance, budget.curriculum)
    stage = 0
    best_accuracy, best_epoch, best_weights, epoch = -1.0, 0, None, 0
    started = time.perf_counter()
    for epoch in range(1, budget.max_epochs + 1):
        length = stages[stage] + 1
        lengths = torch.full((budget.batch_size,), length)
        for _ in range(budget.steps_per_epoch):
            ids, labels = make_sequences(budget.batch_size, stages[stage], rng)  # (batch, length), (batch,)
            loss = nn.functional.cross_entropy(model(ids, lengths), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # through all `length` steps
            nn.utils.clip_grad_norm_(model.parameters(), budget.clip_norm)
            optimizer.step()
        validation_accuracy = accuracy(model, *validation)
        if validation_accuracy > best_accuracy:
            best_accuracy, best_epoch = validation_accuracy, epoch
            best_weights = copy.deepcopy(model.state_dict())
        if validation_accuracy == 1.0:
            break
        if stage + 1 < len(stages):
            stage_validation = make_sequences(budget.validation_size, stages[stage], rng)
            if accuracy(model, *stage_validation) >= ADVANCE_ACCURACY:
                stage += 1
    model.load_state_dict(best_weights)
    record = {
        "cell": cell_name,
        "forget_bias": forget_bias_setting(config),
        "distance": distance,
        "seed": seed,
        "test_accuracy": accuracy(model, *test),
        "validation_accuracy": best_accuracy,
        "best_epoch": best_epoch,
        "epochs": epoch,
        "last_stage": stages[stage],
        "sequences_seen": epoch * budget.steps_per_epoch * budget.batch_size,
        "seconds": time.perf_counter() - started,
    }
    return record, model.eval()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentiment long-range", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = Budget()
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("assets/long_range"),
        help="output prefix: writes OUT.json and OUT.png (default: %(default)s)",
    )
    parser.add_argument(
        "--distances",
        default=",".join(map(str, DEFAULT_DISTANCES)),
        help="distractors between the signal and the end, comma-separated (default: %(default)s)",
    )
    parser.add_argument(
        "--cells", default=",".join(CELLS), help="cells to train, comma-separated (default: %(default)s)"
    )
    parser.add_argument("--seeds", type=int, default=5, help="training seeds per cell and distance (default: 5)")
    parser.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help="sequences per step (default: %(default)s)"
    )
    parser.add_argument(
        "--steps-per-epoch",
        type=int,
        default=defaults.steps_per_epoch,
        help="steps on fresh sequences between two validations (default: %(default)s)",
    )
    parser.add_argument(
        "--max-epochs",
        type=int,
        default=defaults.max_epochs,
        help="most epochs; a run stops sooner at full validation accuracy (default: %(default)s)",
    )
    parser.add_argument(
        "--learning-rate", type=float, default=defaults.learning_rate, help="Adam learning rate (default: %(default)s)"
    )
    parser.add_argument(
        "--curriculum",
        action=argparse.BooleanOptionalAction,
        default=defaults.curriculum,
        help="train at the shorter default distances first, moving on at 99%% validation accuracy (default: off)",
    )
    parser.add_argument("--threads", type=int, help="CPU threads for torch (default: all cores)")
    parser.add_argument("--quick", action="store_true", help="tiny settings for a smoke test")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    distances = [int(d) for d in args.distances.split(",")]
    cells = [name.strip() for name in args.cells.split(",") if name.strip()]
    unknown = [name for name in cells if name not in CELLS]
    if unknown:
        parser.error(f"unknown cell {', '.join(unknown)}; choose from {', '.join(CELLS)}")
    budget = Budget(
        batch_size=args.batch_size,
        steps_per_epoch=args.steps_per_epoch,
        max_epochs=args.max_epochs,
        learning_rate=args.learning_rate,
        curriculum=args.curriculum,
    )
    if args.quick:
        distances, args.seeds = [3, 30], 1
        budget = dataclasses.replace(budget, steps_per_epoch=5, max_epochs=2, validation_size=64, test_size=100)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    runs = []
    for name in cells:
        for distance in distances:
            for seed in range(args.seeds):
                run, _ = train_one(name, distance, seed, budget)
                runs.append(run)
                print(
                    f"{name:>12}  N={distance:<4} seed {seed}  test accuracy {run['test_accuracy']:.3f}"
                    f"  epochs {run['epochs']:>2}  ({run['seconds']:.1f} s)",
                    flush=True,
                )
    result = {
        "settings": {
            "distances": distances,
            "cells": cells,
            "seeds": args.seeds,
            **budget.to_dict(),
            "chrono_max_lag": "distance + 1",
            "threads": torch.get_num_threads(),
            "machine": f"{platform.machine()}, {platform.system()}",
            "command": " ".join(["sentiment long-range", *argv]),
        },
        "wall_seconds": time.perf_counter() - started,
        "summary": summarise(runs),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(result, indent=2) + "\n")
    plot(result, args.out.with_suffix(".png"))
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
