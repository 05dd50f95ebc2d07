"""What the web app does, as plain functions over the predictors: the UI only formats it.

Every entry point checks its input here (length caps, empty text, file size and rows), so the
limits hold for the browser and for API callers alike.
"""

from __future__ import annotations

import csv
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentiment_app.inference.explain import Explanation, explain
from sentiment_app.inference.internals import NetworkTrace, gradient_flow, trace_network, word_level
from sentiment_app.inference.predictor import Prediction, Predictor, available_models, order_models
from sentiment_app.labels import label_to_id
from sentiment_app.paths import models_dir
from sentiment_app.storage.model_dir import ModelLoadError, is_model_dir, load_model_dir, model_name
from sentiment_app.storage.textio import (
    InputFileError,
    column_texts,
    decode_utf8,
    read_table,
    split_lines,
    spreadsheet_safe,
)

MAX_TEXT_CHARS = 5_000  # typed or API text; longer text is cut, with a note
INSIDE_MAX_CHARS = 600  # the network views draw one column per token: keep them readable
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MAX_UPLOAD_ROWS = 100_000
BATCH_CHUNK = 2_000  # rows per model call while scoring a file
UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".jsonl", ".json")


class UserInputError(ValueError):
    """Input the app cannot use; the message is shown to the user as is."""


@dataclass
class PreparedText:
    text: str
    notes: list[str] = field(default_factory=list)


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

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "label": self.label,
            "confidence": self.confidence,
            "probabilities": self.probabilities,
            "latency_ms": self.latency_ms,
        }


@dataclass
class BatchResult:
    output_path: Path
    rows: int
    preview: list[dict[str, Any]]  # the first rows of the output table
    accuracy: list[dict[str, Any]]  # per model, when the file has a label column
    notes: list[str]


def prepare_text(text: object, limit: int = MAX_TEXT_CHARS) -> PreparedText:
    """Check and cap one text: empty or whitespace-only text is refused with a friendly message."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise UserInputError("The text must be a string.")
    notes = []
    if len(text) > limit:
        text = text[:limit]
        notes.append(f"The text was cut to its first {limit:,} characters.")
    if not text.strip():
        raise UserInputError("Type or paste a review to analyse: the text is empty.")
    return PreparedText(text=text, notes=notes)


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
            except ModelLoadError as error:
                errors[name] = str(error)
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
        if not name:
            return self.predictors[self.default_model]
        if name not in self.predictors:
            raise UserInputError(f"Unknown model {name!r}; choose one of {', '.join(self.predictors)}.")
        return self.predictors[name]

    def predict(self, text: object, model: str | None = None) -> tuple[ModelResult, list[str]]:
        prepared = prepare_text(text)
        predictor = self.predictor(model)
        result = self._timed(predictor, prepared.text)
        return result, prepared.notes + self._truncation_notes([result])

    def _timed(self, predictor: Predictor, text: str) -> ModelResult:
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
        started = time.perf_counter()
        prediction = predictor.predict_or_skip([prepared.text])[0]
        latency = (time.perf_counter() - started) * 1000
        if prediction is None:
            raise UserInputError("Nothing to classify: the text has no words the model can read.")
        notes = list(prepared.notes)
        if prediction.truncated:
            notes.append(f"{predictor.name} read only the first {predictor.max_length} tokens of this text.")
        return Analysis(
            text=prepared.text,
            model=predictor.name,
            prediction=prediction,
            explanation=explain(predictor, prepared.text),
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
        return trace_network(self.predictor(model), prepared.text)

    def gradient_flows(self, text: object) -> tuple[list[str], dict[str, list[float]]]:
        """Per-word gradient norms of every model on one word axis."""
        prepared = prepare_text(text, limit=INSIDE_MAX_CHARS)
        words: list[str] = []
        flows = {}
        for name, predictor in self.predictors.items():
            words, norms = word_level(gradient_flow(predictor, prepared.text), prepared.text)
            flows[name] = norms
        return words, flows

    # --- leaderboard and pictures -------------------------------------------------------------

    def leaderboard(self) -> list[dict[str, Any]]:
        rows = []
        for name, predictor in self.predictors.items():
            metrics = predictor.metrics
            test = metrics.get("test", {})
            interval = test.get("accuracy_ci95")
            rows.append(
                {
                    "model": name,
                    "test_accuracy": test.get("accuracy", math.nan),
                    "accuracy_ci95": tuple(interval) if interval else None,
                    "test_macro_f1": test.get("macro_f1", math.nan),
                    "behavioural_pass_rate": metrics.get("behavioural", {}).get("pass_rate"),
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

    def confusion_matrices(self) -> dict[str, tuple[list[str], list[list[int]]]]:
        result = {}
        for name, predictor in self.predictors.items():
            test = predictor.metrics.get("test", {})
            if "confusion_matrix" in test:
                result[name] = (test.get("confusion_matrix_labels", predictor.labels), test["confusion_matrix"])
        return result

    # --- batch scoring ------------------------------------------------------------------------

    def inspect_upload(self, path: str | Path) -> tuple[list[str], list[dict[str, Any]]]:
        """Columns and rows of an uploaded file, within the size and row limits."""
        path = Path(path)
        if path.suffix.lower() not in UPLOAD_SUFFIXES:
            raise UserInputError(f"Upload a {', '.join(UPLOAD_SUFFIXES)} file; got {path.suffix or 'no extension'}.")
        size = path.stat().st_size
        if size > MAX_UPLOAD_BYTES:
            raise UserInputError(f"The file is {size / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB.")
        with open(path, "rb") as handle:
            data = handle.read(MAX_UPLOAD_BYTES + 1)
        try:
            if path.suffix.lower() == ".txt":
                columns, rows = ["text"], [{"text": line} for line in split_lines(decode_utf8(data, path.name))]
            else:
                columns, rows = read_table(data, path.name)
        except InputFileError as error:
            raise UserInputError(str(error).replace(str(path), path.name)) from error
        if len(rows) > MAX_UPLOAD_ROWS:
            raise UserInputError(f"The file has {len(rows):,} rows; the limit is {MAX_UPLOAD_ROWS:,}.")
        if not rows:
            raise UserInputError("The file has no rows to score.")
        return columns, rows

    def score_file(
        self,
        path: str | Path,
        text_column: str,
        label_column: str | None = None,
        models: list[str] | None = None,
        output_dir: Path | None = None,
        progress: Callable[[float, str], None] | None = None,
    ) -> BatchResult:
        columns, rows = self.inspect_upload(path)
        try:
            texts = column_texts(columns, rows, text_column, Path(path).name)
        except InputFileError as error:
            raise UserInputError(str(error)) from error
        names = models or self.model_names
        for name in names:
            self.predictor(name)
        notes = []
        capped = sum(len(text) > MAX_TEXT_CHARS for text in texts)
        texts = [text[:MAX_TEXT_CHARS] for text in texts]
        if capped:
            notes.append(f"{capped:,} texts were cut to {MAX_TEXT_CHARS:,} characters.")
        outputs: dict[str, list[Prediction | None]] = {}
        steps = len(names) * max(1, math.ceil(len(texts) / BATCH_CHUNK))
        done = 0
        for name in names:
            predictor = self.predictors[name]
            outputs[name] = []
            for start in range(0, len(texts), BATCH_CHUNK):
                outputs[name].extend(predictor.predict_or_skip(texts[start : start + BATCH_CHUNK]))
                done += 1
                if progress is not None:
                    progress(done / steps, f"{name}: {min(start + BATCH_CHUNK, len(texts)):,} of {len(texts):,} rows")
        empty = sum(prediction is None for prediction in outputs[names[0]])
        if empty:
            notes.append(f"{empty:,} rows have no text and were left unscored.")
        table = []
        for index, row in enumerate(rows):
            record = {column: row.get(column, "") for column in columns}
            for name in names:
                prediction = outputs[name][index]
                record[f"{name}_label"] = prediction.label if prediction else ""
                record[f"{name}_positive_probability"] = (
                    round(prediction.probabilities.get("positive", math.nan), 6) if prediction else ""
                )
            table.append(record)
        accuracy = self._accuracy(rows, label_column, names, outputs, notes) if label_column else []
        output_path = self._write_csv(table, output_dir, Path(path).stem)
        return BatchResult(output_path=output_path, rows=len(table), preview=table[:20], accuracy=accuracy, notes=notes)

    def _accuracy(self, rows, label_column, names, outputs, notes) -> list[dict[str, Any]]:
        gold = [label_to_id(row.get(label_column)) for row in rows]
        usable = [i for i, value in enumerate(gold) if value is not None]
        if len(usable) < len(gold):
            notes.append(
                f"{len(gold) - len(usable):,} rows have a label that is not 0/1 or "
                "negative/positive and are not counted in the accuracy."
            )
        result = []
        for name in names:
            labels = self.predictors[name].labels
            scored = [i for i in usable if outputs[name][i] is not None]
            correct = sum(labels.index(outputs[name][i].label) == gold[i] for i in scored)
            result.append(
                {"model": name, "accuracy": correct / len(scored) if scored else math.nan, "rows": len(scored)}
            )
        return result

    @staticmethod
    def _write_csv(table: list[dict[str, Any]], output_dir: Path | None, stem: str) -> Path:
        directory = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="sentiment-batch-"))
        safe_stem = "".join(ch for ch in stem if ch.isalnum() or ch in "-_")[:60] or "texts"
        path = directory / f"{safe_stem}-scored.csv"
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(table[0]))
            writer.writeheader()
            writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()} for row in table)
        return path
