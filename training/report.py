"""What a finished run writes about a model: the figures of metrics.json, beside the model card."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

import sentiment_app
from sentiment_app.inference.batched import batched_probabilities
from sentiment_app.tokenization import TextEncoder
from training.data.sources import SentimentSplits
from training.evaluation.behaviour import run_checks_and_halves
from training.evaluation.reference import ReferenceResult, tfidf_logistic_regression
from training.evaluation.significance import bootstrap_accuracy_interval, mcnemar
from training.evaluation.verify_backends import BACKEND_CHECKS
from training.trainer import EncodedSplit, evaluate_split


def test_figures(model, split: EncodedSplit, padding_id: int, labels) -> dict[str, Any]:
    """Test accuracy, macro-F1 and confusion matrix, with a bootstrap 95% interval for the
    accuracy and the per-example predictions (for paired tests between models)."""
    report = evaluate_split(model, split, padding_id, labels)
    correct = [p == y for p, y in zip(report["predictions"], split.labels)]
    report["accuracy_ci95"] = list(bootstrap_accuracy_interval(correct))
    return report


def positive_probability_of(model, encoder: TextEncoder) -> Callable[[Sequence[str]], list[float]]:
    """A function that scores a list of texts with the model: P(positive) for each."""
    positive = list(model.config.labels).index("positive") if "positive" in model.config.labels else 1

    def positive_probability(texts: Sequence[str]) -> list[float]:
        probabilities = batched_probabilities(model, encoder.encode_ids(list(texts)), encoder.padding_id)
        return probabilities[:, positive].tolist()

    return positive_probability


def behavioural_figures(model, encoder: TextEncoder) -> dict[str, Any]:
    """Pass rates of the behavioural checks, overall, per check and on each half (tuning, held apart)."""
    return run_checks_and_halves(positive_probability_of(model, encoder))


def backend_figures(model, test: EncodedSplit | None, padding_id: int) -> dict[str, Any]:
    """ "onnx" and "bfloat16": do the faster backends agree with eager PyTorch on the test split?"""
    return {
        backend: None if test is None else check(model, test.ids, padding_id)
        for backend, check in BACKEND_CHECKS.items()
    }


class ReferenceFigures:
    """The TF-IDF + logistic-regression reference on the run's split, trained once per run."""

    def __init__(self, splits: SentimentSplits, log: Callable[[str], None]) -> None:
        self.splits = splits
        self.log = log
        self._result: ReferenceResult | None = None

    def against(self, test_report: dict[str, Any], test_labels: list[int]) -> dict[str, Any] | None:
        """The reference's test figures and McNemar's test of the model against it; None where
        scikit-learn is not installed."""
        if self._result is None:
            try:
                splits = self.splits
                self._result = tfidf_logistic_regression(
                    splits.train["text"],
                    splits.train["label"],
                    splits.validation["text"],
                    splits.validation["label"],
                    splits.test["text"],
                )
            except ImportError:
                self.log("scikit-learn is not installed: no TF-IDF reference")
                return None
        reference = self._result
        if len(test_labels) != len(reference.test_predictions):  # texts without tokens were left out
            return None
        reference_correct = [p == y for p, y in zip(reference.test_predictions, test_labels)]
        model_correct = [p == y for p, y in zip(test_report["predictions"], test_labels)]
        return {
            "name": reference.name,
            "settings": reference.settings,
            "test_accuracy": sum(reference_correct) / len(reference_correct),
            "accuracy_ci95": list(bootstrap_accuracy_interval(reference_correct)),
            "mcnemar_model_vs_reference": mcnemar(model_correct, reference_correct),
        }


def library_versions() -> dict[str, str]:
    import datasets
    import numpy
    import safetensors
    import tokenizers

    return {
        "python": platform.python_version(),
        "sentiment_app": sentiment_app.__version__,
        "torch": torch.__version__,
        "tokenizers": tokenizers.__version__,
        "datasets": datasets.__version__,
        "safetensors": safetensors.__version__,
        "numpy": numpy.__version__,
    }


def created_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
