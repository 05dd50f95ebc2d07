"""The long-range experiment: can a network remember one early token across N distractors?

Each sequence starts with a signal token, A or B, which sets the label, followed by N tokens
drawn at random from 20 distractors:

    A  d7 d3 d19 ... d11   -> label 1        B  d2 d2 d14 ... d5   -> label 0
    |<-------- N -------->|

The classifier reads only the final hidden state, so the signal has to survive N steps, and the
training gradient has to travel back N steps to reach it. SimpleRNN, LSTM and GRU are trained
for N in {5, 10, 20, 50, 100} with several seeds; the script writes a JSON table and a plot.

    sentiment long-range --out assets/long_range      # the full run (minutes)
    sentiment long-range --quick --out /tmp/lr        # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from sentiment_app.config import ModelConfig
from sentiment_app.models.classifiers import build_model
from sentiment_app.storage.atomic import atomic_write_bytes, atomic_write_text
from training.trainer import EncodedSplit, Trainer, TrainingConfig, evaluate_split

PADDING_ID, SIGNAL_A, SIGNAL_B, FIRST_DISTRACTOR = 0, 1, 2, 3
NUM_DISTRACTORS = 20
CELLS = {"simple-rnn": "rnn", "lstm": "lstm", "gru": "gru"}
LABELS = ("B", "A")


def make_split(count: int, distance: int, rng: np.random.Generator) -> EncodedSplit:
    labels = rng.integers(0, 2, size=count)
    distractors = rng.integers(FIRST_DISTRACTOR, FIRST_DISTRACTOR + NUM_DISTRACTORS, size=(count, distance))
    signals = np.where(labels == 1, SIGNAL_A, SIGNAL_B)
    sequences = np.concatenate([signals[:, None], distractors], axis=1)
    return EncodedSplit(ids=sequences.tolist(), labels=labels.tolist())


def run_one(model_name: str, distance: int, seed: int, train_size: int, epochs: int, learning_rate: float) -> dict:
    rng = np.random.default_rng([seed, distance])
    train = make_split(train_size, distance, rng)
    validation = make_split(500, distance, rng)
    test = make_split(1000, distance, rng)
    torch.manual_seed(seed)
    config = ModelConfig(
        cell=CELLS[model_name],
        vocab_size=FIRST_DISTRACTOR + NUM_DISTRACTORS,
        embedding_dim=16,
        hidden_dim=32,
        dropout=0.0,
        pooling="last",
        labels=LABELS,
    )
    model = build_model(config)
    # no early stopping: at long distances accuracy sits at chance for many epochs before the
    # network finds the signal, so every run gets the whole budget (the best epoch is kept)
    training = TrainingConfig(
        epochs=epochs, batch_size=64, learning_rate=learning_rate, clip_norm=5.0, patience=epochs, seed=seed
    )
    trainer = Trainer(model, training, train, validation, PADDING_ID, LABELS, show_progress=False)
    started = time.perf_counter()
    state = trainer.fit(log=lambda message: None)
    accuracy = evaluate_split(model, test, PADDING_ID, LABELS)["accuracy"]
    return {
        "model": model_name,
        "distance": distance,
        "seed": seed,
        "test_accuracy": accuracy,
        "best_epoch": state.best_epoch,
        "seconds": time.perf_counter() - started,
    }


def summarise(runs: list[dict]) -> dict[str, dict[int, dict[str, float]]]:
    summary: dict[str, dict[int, dict[str, float]]] = {}
    for run in runs:
        summary.setdefault(run["model"], {}).setdefault(run["distance"], {"accuracies": []})
        summary[run["model"]][run["distance"]]["accuracies"].append(run["test_accuracy"])
    for per_distance in summary.values():
        for cell in per_distance.values():
            values = cell.pop("accuracies")
            cell["mean"] = statistics.fmean(values)
            cell["min"] = min(values)
            cell["max"] = max(values)
    return summary


def plot(summary: dict, path: Path, seeds: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.4, 3.8))
    colours = {"simple-rnn": "#dc2626", "lstm": "#2563eb", "gru": "#16a34a"}
    for name, per_distance in summary.items():
        distances = sorted(per_distance)
        means = [per_distance[d]["mean"] for d in distances]
        low = [per_distance[d]["min"] for d in distances]
        high = [per_distance[d]["max"] for d in distances]
        axis.plot(distances, means, marker="o", label=name, color=colours.get(name))
        axis.fill_between(distances, low, high, alpha=0.15, color=colours.get(name))
    axis.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    axis.text(distances[0], 0.52, "chance", color="grey", fontsize=8)
    axis.set_xscale("log")
    axis.set_xticks(distances, [str(d) for d in distances])
    axis.set_ylim(0.4, 1.02)
    axis.set_xlabel("distractor tokens between the signal and the end (N)")
    axis.set_ylabel("test accuracy")
    axis.set_title(f"Remembering one early token (mean of {seeds} seeds, band: min to max)", fontsize=10)
    axis.legend(loc="lower left")
    axis.grid(alpha=0.3)
    figure.tight_layout()
    from io import BytesIO

    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sentiment long-range", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("assets/long_range"),
        help="output prefix: writes OUT.json and OUT.png (default: assets/long_range)",
    )
    parser.add_argument(
        "--distances",
        default="5,10,20,50,100",
        help="distractors between the cue and the end (default: 5,10,20,50,100)",
    )
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per cell and distance (default: 3)")
    parser.add_argument("--train-size", type=int, default=3000, help="training sequences (default: 3000)")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default: 30)")
    parser.add_argument("--learning-rate", type=float, default=1e-2, help="Adam learning rate (default: 0.01)")
    parser.add_argument("--quick", action="store_true", help="tiny settings for a smoke test")
    args = parser.parse_args(argv)
    distances = [int(d) for d in args.distances.split(",")]
    if args.quick:
        distances, args.seeds, args.train_size, args.epochs = [3, 30], 1, 300, 2
    runs = []
    for name in CELLS:
        for distance in distances:
            for seed in range(args.seeds):
                run = run_one(name, distance, seed, args.train_size, args.epochs, args.learning_rate)
                runs.append(run)
                print(
                    f"{name:>10}  N={distance:<4} seed {seed}  test accuracy {run['test_accuracy']:.3f}"
                    f"  ({run['seconds']:.1f} s)",
                    flush=True,
                )
    summary = summarise(runs)
    result = {
        "settings": {
            "distances": distances,
            "seeds": args.seeds,
            "train_size": args.train_size,
            "epochs": args.epochs,
            "hidden_dim": 32,
            "embedding_dim": 16,
            "learning_rate": args.learning_rate,
            "clip_norm": 5.0,
            "command": "sentiment long-range " + " ".join(argv or sys.argv[1:]),
        },
        "summary": summary,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(result, indent=2) + "\n")
    plot(summary, args.out.with_suffix(".png"), args.seeds)
    print(f"wrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
