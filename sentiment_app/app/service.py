"""What the web app does, as plain functions over the predictors: the UI only formats it.

Every entry point checks its input here (length caps, empty text, file size and rows), so the
limits hold for the browser and for API callers alike.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sentiment_app.app import batch
from sentiment_app.app.errors import UserInputError
from sentiment_app.app.inputs import number, prepare_text, sentence
from sentiment_app.app.results import ResultStore
from sentiment_app.inference.explain import Explanation, explain
from sentiment_app.inference.internals import NetworkTrace, gradient_flow, trace_network, word_level
from sentiment_app.inference.predictor import Prediction, Predictor, available_models, order_models
from sentiment_app.inference.units import (
    DEFAULT_THRESHOLD,
    Ablation,
    UnitError,
    UnitExploration,
    UnitExplorer,
    ablate_units,
    explore_units,
    parse_units,
)
from sentiment_app.limits import CONCURRENCY, INSIDE_MAX_CHARS
from sentiment_app.paths import models_dir
from sentiment_app.storage.model_dir import ModelLoadError, is_model_dir, load_model_dir, model_name


@dataclass
class Analysis:
    text: str  # the text as analysed (after the length cap): explanation offsets refer to it
    model: str
    prediction: Prediction
    explanation: Explanation
    latency_ms: float  # the model's forward pass for this text, tokenisation included
    notes: list[str]


@dataclass
class ModelResult:
    model: str
    label: str
    probabilities: dict[str, float]
    latency_ms: float
    truncated: bool = False
    verdict: str = ""  # the label, or "leans <label>" inside the model's unsure band
    unfamiliar: str | None = None  # why the text is unlike what the model learned from, if it is

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "label": self.label,
            "verdict": self.verdict or self.label,
            "confidence": self.confidence,
            "probabilities": self.probabilities,
            "unfamiliar": self.unfamiliar,
            "latency_ms": self.latency_ms,
        }


def directory_size(directory: Path) -> int:
    return sum(path.stat().st_size for path in Path(directory).iterdir() if path.is_file())


class SentimentService:
    """The loaded models and every operation the web app offers on them."""

    def __init__(self, predictors: dict[str, Predictor], load_errors: dict[str, str] | None = None):
        if not predictors:
            raise ModelLoadError(
                "no model could be loaded" + (": " + "; ".join(load_errors.values()) if load_errors else "")
            )
        self.predictors = {name: predictors[name] for name in order_models(list(predictors))}
        self.load_errors = dict(load_errors or {})
        self.model_slots = threading.BoundedSemaphore(CONCURRENCY)  # over every caller, UI and API alike
        self.results = ResultStore()
        self.units = UnitExplorer()

    @contextmanager
    def model_slot(self) -> Iterator[None]:
        """Hold one of CONCURRENCY slots while a model runs, whichever endpoint asked."""
        with self.model_slots:
            yield

    @classmethod
    def from_directory(cls, directory: Path | None = None) -> SentimentService:
        """Load every model directory under `directory` (default: the shipped models), or the one
        model `directory` is. Models that fail to load are skipped and reported in `load_errors`."""
        root = (Path(directory) if directory is not None else models_dir()).resolve()
        single = is_model_dir(root)
        predictors, errors = {}, {}
        for name in [model_name(root)] if single else available_models(root):
            try:
                predictors[name] = Predictor(load_model_dir(root if single else root / name))
            except Exception as error:  # whatever one bad directory raises, the others still load
                known = isinstance(error, ModelLoadError)
                logging.getLogger(__name__).warning("model %s not loaded: %s", name, error, exc_info=not known)
                errors[name] = str(error) if known else f"{root / name}: {type(error).__name__}: {error}"
        if not predictors and not errors:
            errors[str(root)] = f"{root}: no model directories found"
        return cls(predictors, errors)

    @property
    def model_names(self) -> list[str]:
        return list(self.predictors)

    @property
    def default_model(self) -> str:
        return self.model_names[0]

    def predictor(self, name: str | None) -> Predictor:
        if name is None or name == "":
            return self.predictors[self.default_model]
        if not isinstance(name, str):
            raise UserInputError(f"The model must be a model's name (a string), not a {type(name).__name__}.")
        if name not in self.predictors:
            raise UserInputError(f"Unknown model {name!r}; choose one of {', '.join(self.predictors)}.")
        return self.predictors[name]

    def predict(self, text: object, model: str | None = None) -> tuple[ModelResult, list[str]]:
        prepared = prepare_text(text)
        predictor = self.predictor(model)
        result = self._timed(predictor, prepared.text)
        return result, prepared.notes + self._truncation_notes([result])

    def _timed(self, predictor: Predictor, text: str) -> ModelResult:
        with self.model_slot():
            started = time.perf_counter()
            prediction = predictor.predict_or_skip([text])[0]
            latency = (time.perf_counter() - started) * 1000
        if prediction is None:
            raise UserInputError("Nothing to classify: the text has no words the model can read.")
        return ModelResult(
            model=predictor.name,
            label=prediction.label,
            probabilities=prediction.probabilities,
            latency_ms=latency,
            truncated=prediction.truncated,
            verdict=prediction.verdict,
            unfamiliar=prediction.unfamiliar,
        )

    def _truncation_notes(self, results: list[ModelResult]) -> list[str]:
        return [
            f"{result.model} read only the first {self.predictors[result.model].max_length} tokens of this text."
            for result in results
            if result.truncated
        ]

    def analyze(self, text: object, model: str | None = None) -> Analysis:
        prepared = prepare_text(text)
        predictor = self.predictor(model)
        with self.model_slot():
            started = time.perf_counter()
            prediction = predictor.predict_or_skip([prepared.text])[0]
            latency = (time.perf_counter() - started) * 1000
            explanation = explain(predictor, prepared.text) if prediction is not None else None
        if prediction is None:
            raise UserInputError("Nothing to classify: the text has no words the model can read.")
        notes = list(prepared.notes)
        if prediction.truncated:
            notes.append(f"{predictor.name} read only the first {predictor.max_length} tokens of this text.")
        return Analysis(
            text=prepared.text,
            model=predictor.name,
            prediction=prediction,
            explanation=explanation,
            latency_ms=latency,
            notes=notes,
        )

    def compare(self, text: object) -> tuple[list[ModelResult], list[str]]:
        prepared = prepare_text(text)
        results = [self._timed(predictor, prepared.text) for predictor in self.predictors.values()]
        notes = list(prepared.notes) + self._truncation_notes(results)
        labels = {result.label for result in results}
        if len(labels) > 1:
            by_label = {label: [r.model for r in results if r.label == label] for label in sorted(labels)}
            notes.append(
                "The models disagree: "
                + "; ".join(
                    f"{', '.join(models)} say{'s' if len(models) == 1 else ''} {label}"
                    for label, models in by_label.items()
                )
                + "."
            )
        return results, notes

    # --- inside the networks -------------------------------------------------------------------

    def trace(self, text: object, model: str | None = None) -> NetworkTrace:
        prepared = prepare_text(text, limit=INSIDE_MAX_CHARS)
        predictor = self.predictor(model)
        with self.model_slot():
            return trace_network(predictor, prepared.text)

    def gradient_flows(self, text: object) -> tuple[list[str], dict[str, list[float]]]:
        """Per-word gradient norms of every model on one word axis."""
        prepared = prepare_text(text, limit=INSIDE_MAX_CHARS)
        words: list[str] = []
        flows = {}
        for name, predictor in self.predictors.items():
            with self.model_slot():
                flow = gradient_flow(predictor, prepared.text)
            words, norms = word_level(flow, prepared.text)
            flows[name] = norms
        return words, flows

    # --- units, as LSTMVis explores them --------------------------------------------------------

    def explore_units(
        self, text: object, model: str | None, span: object, threshold: object = DEFAULT_THRESHOLD
    ) -> UnitExploration:
        """Units on across `span` (a phrase of the text), the reference phrases like it, and the sentiment units."""
        prepared = prepare_text(text, limit=INSIDE_MAX_CHARS)
        predictor = self.predictor(model)
        if not isinstance(span, str):
            raise UserInputError("The span must be a phrase of the text (a string).")
        try:
            with self.model_slot():
                return explore_units(self.units, predictor, prepared.text, span, number(threshold, "threshold"))
        except UnitError as error:
            raise UserInputError(sentence(error)) from error

    def ablate(self, text: object, model: str | None, units: object, value: object = 0.0) -> Ablation:
        """The prediction with `units` held at `value` (0: ablated) at every step."""
        prepared = prepare_text(text, limit=INSIDE_MAX_CHARS)
        predictor = self.predictor(model)
        try:
            with self.model_slot():
                return ablate_units(predictor, prepared.text, parse_units(units), number(value, "value"))
        except UnitError as error:
            raise UserInputError(sentence(error)) from error

    def cell_traces(self, text: object) -> list[NetworkTrace]:
        """The first recurrent model of each cell kind (SimpleRNN, LSTM, GRU) on one text."""
        prepared = prepare_text(text, limit=INSIDE_MAX_CHARS)
        firsts: dict[str, Predictor] = {}
        unidirectional_first = sorted(self.predictors.values(), key=lambda p: p.loaded.config.model.bidirectional)
        for predictor in unidirectional_first:
            cell = predictor.loaded.config.model.cell
            if predictor.loaded.config.model.architecture == "recurrent" and cell not in firsts:
                firsts[cell] = predictor
        traces = []
        for cell in ("rnn", "lstm", "gru"):
            if cell in firsts:
                with self.model_slot():
                    traces.append(trace_network(firsts[cell], prepared.text))
        return traces

    # --- leaderboard and pictures -------------------------------------------------------------

    def leaderboard(self) -> list[dict[str, Any]]:
        rows = []
        for name, predictor in self.predictors.items():
            metrics = predictor.metrics
            test = metrics.get("test") or {}
            interval = test.get("accuracy_ci95")
            rows.append(
                {
                    "model": name,
                    "test_accuracy": test.get("accuracy", math.nan),
                    "accuracy_ci95": tuple(interval) if interval else None,
                    "test_macro_f1": test.get("macro_f1", math.nan),
                    "behavioural_pass_rate": (metrics.get("behavioural") or {}).get("pass_rate"),
                    "behavioural_halves": (metrics.get("behavioural") or {}).get("halves"),
                    "test_ece_before": (metrics.get("calibration") or {}).get("test_ece_before"),
                    "test_ece_after": (metrics.get("calibration") or {}).get("test_ece_after"),
                    "temperature": predictor.calibration.temperature,
                    "parameters": metrics.get("parameters"),
                    "size_mb": directory_size(predictor.loaded.directory) / 1e6,
                    "training_seconds": metrics.get("training_seconds"),
                    "best_epoch": metrics.get("best_epoch"),
                    "teacher": (metrics.get("distillation") or {}).get("teacher"),
                }
            )
        return sorted(
            rows, key=lambda row: -row["test_accuracy"] if row["test_accuracy"] == row["test_accuracy"] else 0
        )

    def training_curves(self) -> list[dict[str, Any]]:
        """Long-format rows (model, epoch, metric, value) from every model's history."""
        rows = []
        for name, predictor in self.predictors.items():
            for record in predictor.metrics.get("history", []):
                for metric in ("train_accuracy", "validation_accuracy"):
                    if metric in record:
                        rows.append(
                            {
                                "model": name,
                                "epoch": record["epoch"],
                                "metric": metric.replace("_", " "),
                                "value": record[metric],
                            }
                        )
        return rows

    def calibration_diagrams(self) -> dict[str, dict]:
        """Each calibrated model's calibration record (ECE and reliability rows, from metrics.json)."""
        return {
            name: predictor.metrics["calibration"]
            for name, predictor in self.predictors.items()
            if isinstance(predictor.metrics.get("calibration"), dict)
        }

    def confusion_matrices(self) -> dict[str, tuple[list[str], list[list[int]]]]:
        result = {}
        for name, predictor in self.predictors.items():
            test = predictor.metrics.get("test") or {}
            if "confusion_matrix" in test:
                result[name] = (test.get("confusion_matrix_labels", predictor.labels), test["confusion_matrix"])
        return result

    # --- batch scoring ------------------------------------------------------------------------

    def inspect_upload(self, path: str | Path) -> tuple[list[str], list[dict[str, Any]]]:
        """Columns and rows of an uploaded file, within the size and row limits."""
        return batch.read_upload(path)

    def score_file(
        self,
        path: str | Path,
        text_column: str,
        label_column: str | None = None,
        models: list[str] | None = None,
        output_dir: Path | None = None,
        progress: Callable[[float, str], None] | None = None,
    ) -> batch.BatchResult:
        """Score every row of an uploaded file with `models` (default: all) into a CSV to download."""
        return batch.score_file(self, path, text_column, label_column, models, output_dir, progress)
