"""Did a retrain change test accuracy? Two directories of models (before, after), the same model
names, compared on the test split both recorded: accuracy before and after, and McNemar's exact
test on the texts only one of them gets right.

    git worktree add /tmp/before <commit> && \\
    python -m benchmarks.retrain_delta /tmp/before/assets/models assets/models --models lstm,gru
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training.evaluation.compare import test_labels
from training.evaluation.significance import mcnemar


def correct(directory: Path, name: str, labels: list[int]) -> list[bool]:
    predictions = json.loads((directory / name / "metrics.json").read_text())["test"]["predictions"]
    if len(predictions) != len(labels):
        raise SystemExit(f"{directory / name}: its test predictions do not line up with the test split")
    return [prediction == label for prediction, label in zip(predictions, labels)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.retrain_delta", description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="directory of the models before the retrain")
    parser.add_argument("after", type=Path, help="directory of the models after it")
    parser.add_argument("--models", required=True, help="comma-separated model names found in both")
    args = parser.parse_args(argv)
    print("| model | test accuracy before | after | only before right | only after right | McNemar p |")
    print("|---|---|---|---|---|---|")
    for name in args.models.split(","):
        results = {name: json.loads((args.before / name / "metrics.json").read_text())}
        labels = test_labels(args.before, results)
        before, after = correct(args.before, name, labels), correct(args.after, name, labels)
        test = mcnemar(before, after)
        print(
            f"| {name} | {sum(before) / len(before):.4f} | {sum(after) / len(after):.4f} | "
            f"{test['only_first_correct']} | {test['only_second_correct']} | {test['p_value']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
