"""The behavioural checks of model directories (and, with --teacher, of a teacher) as a Markdown
table: overall, on each half, and per check.

    python -m benchmarks.behaviour assets/models/lstm assets/models/gru
    python -m benchmarks.behaviour assets/models/* --teacher runs/teacher
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from scipy.special import softmax

from sentiment_app.storage.model_dir import load_model_dir
from training.evaluation.behaviour import all_checks, run_checks_and_halves
from training.report import positive_probability_of

Scorer = Callable[[Sequence[str]], Sequence[float]]


def model_scorer(directory: Path) -> Scorer:
    loaded = load_model_dir(directory)
    return positive_probability_of(loaded.model, loaded.encoder)


def teacher_scorer(directory: Path) -> Scorer:
    from training.distill.teacher import load_teacher

    teacher, _ = load_teacher(directory)
    return lambda texts: softmax(teacher.logits(list(texts)), axis=1)[:, 1].tolist()


def row(name: str, score: Scorer) -> str:
    figures = run_checks_and_halves(score)
    parts = figures["halves"]
    checks = " | ".join(f"{check['pass_rate']:.0%}" for check in figures["checks"])
    return f"| {name} | {figures['pass_rate']:.1%} | {parts['tuning']:.1%} | {parts['held_apart']:.1%} | {checks} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.behaviour", description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", type=Path, help="model directories")
    parser.add_argument("--teacher", type=Path, help="a teacher directory to score as well (default: none)")
    args = parser.parse_args(argv)
    names = [check.name for check in all_checks()]
    print(f"| model | all | tuning half | held-apart half | {' | '.join(names)} |")
    print("|---" * (4 + len(names)) + "|")
    for directory in args.models:
        print(row(directory.name, model_scorer(directory)), flush=True)
    if args.teacher:
        print(row(f"teacher ({args.teacher.name})", teacher_scorer(args.teacher)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
