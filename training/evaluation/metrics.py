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
    scores = np.divide(2 * true_positive, denominator, out=np.zeros_like(true_positive), where=denominator > 0)
    return float(scores.mean())


def classification_report(
    labels: Sequence[int], predicted: Sequence[int], label_names: Sequence[str]
) -> dict[str, Any]:
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
        test = metrics["test"] or {"accuracy": float("nan"), "macro_f1": float("nan")}
        reference = metrics.get("reference") or {}
        rows.append(
            {
                "model": name,
                "test_accuracy": test["accuracy"],
                "test_accuracy_ci95": test.get("accuracy_ci95"),
                "test_macro_f1": test["macro_f1"],
                "validation_accuracy": metrics["validation"]["accuracy"],
                "behavioural_pass_rate": (metrics.get("behavioural") or {}).get("pass_rate"),
                "behavioural_halves": (metrics.get("behavioural") or {}).get("halves"),
                "temperature": (metrics.get("calibration") or {}).get("temperature"),
                "test_ece_before": (metrics.get("calibration") or {}).get("test_ece_before"),
                "test_ece_after": (metrics.get("calibration") or {}).get("test_ece_after"),
                "mcnemar_p_vs_reference": (reference.get("mcnemar_model_vs_reference") or {}).get("p_value"),
                "best_epoch": metrics["best_epoch"],
                "parameters": metrics["parameters"],
                "training_seconds": metrics["training_seconds"],
            }
        )
    return rows


def reference_row(results: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    reference = next((m["reference"] for m in results.values() if m.get("reference")), None)
    if reference is None:
        return None
    return {
        "model": f"{reference['name']} (reference)",
        "test_accuracy": reference["test_accuracy"],
        "test_accuracy_ci95": reference["accuracy_ci95"],
        "settings": reference["settings"],
    }


def pairwise_mcnemar(results: dict[str, dict[str, Any]], labels: list[int]) -> list[dict[str, Any]]:
    """McNemar's test for every pair of models on the same test examples."""
    from training.evaluation.significance import mcnemar

    names = [n for n, m in results.items() if m.get("test") and "predictions" in m["test"]]
    pairs = []
    for index, first in enumerate(names):
        for second in names[index + 1 :]:
            first_correct = [p == y for p, y in zip(results[first]["test"]["predictions"], labels)]
            second_correct = [p == y for p, y in zip(results[second]["test"]["predictions"], labels)]
            pairs.append({"first": first, "second": second, **mcnemar(first_correct, second_correct)})
    return pairs


def interval(values) -> str:
    return f"{values[0]:.3f}–{values[1]:.3f}" if values else "—"


def comparison_markdown(
    rows: list[dict[str, Any]],
    dataset: str,
    reference: dict[str, Any] | None = None,
    pairs: list[dict[str, Any]] | None = None,
) -> str:
    lines = [
        f"Models trained on `{dataset}`; accuracy and macro-F1 on its test split, with bootstrap "
        "95% intervals. *p vs reference*: McNemar's exact test against the TF-IDF + logistic "
        "regression reference on the same test texts.",
        "",
        "| model | test accuracy | 95% CI | test macro-F1 | validation accuracy | behavioural checks "
        "| p vs reference | parameters | training time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        behaviour = row.get("behavioural_pass_rate")
        p_value = row.get("mcnemar_p_vs_reference")
        lines.append(
            f"| {row['model']} | {row['test_accuracy']:.4f} | {interval(row.get('test_accuracy_ci95'))} "
            f"| {row['test_macro_f1']:.4f} | {row['validation_accuracy']:.4f} "
            f"| {f'{behaviour:.1%}' if behaviour is not None else '—'} "
            f"| {f'{p_value:.3g}' if p_value is not None else '—'} | {row['parameters']:,} "
            f"| {row['training_seconds']:.1f} s |"
        )
    if reference:
        lines.append(
            f"| {reference['model']} | {reference['test_accuracy']:.4f} "
            f"| {interval(reference['test_accuracy_ci95'])} | — | — | — | — | — | — |"
        )
    if pairs:
        lines += [
            "",
            "McNemar's exact test between models (p-values; small means the accuracies differ beyond chance):",
            "",
            "| | " + " | ".join(dict.fromkeys(p["second"] for p in pairs)) + " |",
        ]
        seconds = list(dict.fromkeys(p["second"] for p in pairs))
        lines.append("|---|" + "---|" * len(seconds))
        for first in dict.fromkeys(p["first"] for p in pairs):
            cells = []
            for second in seconds:
                match = next((p for p in pairs if p["first"] == first and p["second"] == second), None)
                cells.append(f"{match['p_value']:.3g}" if match else "")
            lines.append(f"| {first} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
