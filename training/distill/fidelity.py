"""How closely distilled students follow their teacher, on the validation split.

    sentiment fidelity assets/models/bilstm runs/candidate --teacher runs/teacher

For each model directory: its validation accuracy, the share of validation texts on which its
label is the teacher's (agreement), and the mean absolute gap between its P(positive) and the
teacher's. A student can match its teacher's accuracy while disagreeing with it on many texts;
agreement says how much of the teacher it has learned. Only the validation split is read, so
this can guide choices that the test split must not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import softmax

from sentiment_app.inference.predictor import load_predictor
from sentiment_app.storage.model_dir import read_metrics
from training.data.sources import DatasetError, load_recorded_splits
from training.distill.teacher import TeacherError, teacher_logits


def softmax_positive(logits: np.ndarray) -> np.ndarray:
    """(texts, 2) logits -> (texts,) probability of the second label."""
    return softmax(logits, axis=1)[:, 1]


def fidelity(student_positive: np.ndarray, teacher_positive: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Accuracy, agreement with the teacher and mean |P_student - P_teacher| over the texts."""
    student_labels = student_positive > 0.5
    return {
        "validation_accuracy": float(np.mean(student_labels == labels.astype(bool))),
        "teacher_agreement": float(np.mean(student_labels == (teacher_positive > 0.5))),
        "mean_probability_gap": float(np.mean(np.abs(student_positive - teacher_positive))),
    }


def model_dataset(directory: Path) -> dict[str, Any]:
    """The "dataset" record of a model directory's metrics.json."""
    dataset = read_metrics(directory).get("dataset")
    if not isinstance(dataset, dict):
        raise DatasetError(
            f"{directory}: no metrics.json with a dataset record (a model directory written by sentiment train)"
        )
    return dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sentiment fidelity",
        description=__doc__.split("\n\n")[0],
        epilog="example:\n  sentiment fidelity assets/models/bilstm runs/candidate --teacher runs/teacher",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("models", nargs="+", type=Path, help="model directories trained on one split")
    parser.add_argument("--teacher", type=Path, required=True, help="the teacher directory")
    args = parser.parse_args(argv)
    try:
        datasets = [model_dataset(directory) for directory in args.models]
        if len({(d["name"], d["split_seed"], d["fingerprint"]) for d in datasets}) > 1:
            raise DatasetError("the models were trained on different data or splits")
        splits = load_recorded_splits(datasets[0])
        texts = list(splits.validation["text"])
        labels = np.asarray(splits.validation["label"])
        teacher = softmax_positive(teacher_logits(args.teacher, texts, log=lambda *a: None, progress=False))
    except (DatasetError, TeacherError, FileNotFoundError, KeyError) as error:
        print(f"sentiment fidelity: error: {error}", file=sys.stderr)
        return 2
    print(
        f"teacher {args.teacher}: validation accuracy "
        f"{np.mean((teacher > 0.5) == labels.astype(bool)):.4f} on {len(texts):,} texts"
    )
    print("| model | validation accuracy | agreement with the teacher | mean probability gap |")
    print("|---|---|---|---|")
    for directory in args.models:
        predictor = load_predictor(directory, backend="torch")
        # texts with no tokens get no prediction; score them as undecided (0.5)
        predictions = predictor.predict_or_skip(texts)
        student = np.array([0.5 if p is None else p.probabilities[predictor.labels[1]] for p in predictions])
        figures = fidelity(student, teacher, labels)
        print(
            f"| {directory} | {figures['validation_accuracy']:.4f} | {figures['teacher_agreement']:.4f} "
            f"| {figures['mean_probability_gap']:.4f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
