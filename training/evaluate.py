"""Classification metrics and the comparison table of several trained models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion_matrix(labels: Sequence[int], predicted: Sequence[int], num_labels: int) -> list[list[int]]:
    """matrix[true][predicted] counts."""
    matrix = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return matrix.tolist()


def macro_f1(matrix: list[list[int]]) -> float:
    """Unweighted mean over labels of F1 = 2TP / (2TP + FP + FN); a label never seen nor
    predicted counts as F1 = 0."""
    counts = np.asarray(matrix, dtype=np.float64)
    true_positive = np.diag(counts)
    denominator = counts.sum(axis=0) + counts.sum(axis=1)  # (TP + FP) + (TP + FN)
    scores = np.divide(2 * true_positive, denominator, out=np.zeros_like(true_positive),
                       where=denominator > 0)
    return float(scores.mean())


def classification_report(labels: Sequence[int], predicted: Sequence[int],
                          label_names: Sequence[str]) -> dict[str, Any]:
    matrix = confusion_matrix(labels, predicted, len(label_names))
    total = max(len(labels), 1)
    correct = int(np.trace(np.asarray(matrix)))
    return {
        "accuracy": correct / total,
        "macro_f1": macro_f1(matrix),
        "confusion_matrix": matrix,
        "confusion_matrix_labels": list(label_names),  # rows: true label, columns: predicted
        "num_examples": len(labels),
    }


def comparison_rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per model from each model's metrics.json content."""
    rows = []
    for name, metrics in results.items():
        rows.append({
            "model": name,
            "test_accuracy": metrics["test"]["accuracy"],
            "test_macro_f1": metrics["test"]["macro_f1"],
            "validation_accuracy": metrics["validation"]["accuracy"],
            "best_epoch": metrics["best_epoch"],
            "parameters": metrics["parameters"],
            "training_seconds": metrics["training_seconds"],
        })
    return rows


def comparison_markdown(rows: list[dict[str, Any]], dataset: str) -> str:
    lines = [
        f"Models trained on `{dataset}`; accuracy and macro-F1 on its test split.",
        "",
        "| model | test accuracy | test macro-F1 | validation accuracy | best epoch | parameters "
        "| training time |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['test_accuracy']:.4f} | {row['test_macro_f1']:.4f} "
            f"| {row['validation_accuracy']:.4f} | {row['best_epoch']} | {row['parameters']:,} "
            f"| {row['training_seconds']:.1f} s |"
        )
    return "\n".join(lines) + "\n"
