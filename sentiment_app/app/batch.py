"""Score an uploaded file: read it within the limits, run the models in chunks, write a CSV
that a spreadsheet shows rather than runs, and keep a small preview."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentiment_app.app.errors import UserInputError
from sentiment_app.inference.predictor import Prediction
from sentiment_app.labels import label_to_id
from sentiment_app.limits import (
    BATCH_CHUNK,
    MAX_TEXT_CHARS,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_ROWS,
    PREVIEW_CELL_CHARS,
    PREVIEW_COLUMNS,
    PREVIEW_ROWS,
    UPLOAD_SUFFIXES,
    size_text,
)
from sentiment_app.storage.textio import (
    InputFileError,
    TooManyRows,
    column_texts,
    decode_utf8,
    read_table,
    split_lines,
    spreadsheet_safe,
)

if TYPE_CHECKING:
    from sentiment_app.app.service import SentimentService


@dataclass
class BatchResult:
    output_path: Path
    rows: int
    preview: list[dict[str, Any]]  # the first rows and columns of the output table
    accuracy: list[dict[str, Any]]  # per model, when the file has a label column
    notes: list[str]


def read_upload(path: str | Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and rows of an uploaded file, within the type, size and row limits."""
    path = Path(path)
    if path.suffix.lower() not in UPLOAD_SUFFIXES:
        raise UserInputError(f"Upload a {', '.join(UPLOAD_SUFFIXES)} file; got {path.suffix or 'no extension'}.")
    if not path.is_file():
        raise UserInputError("The upload is not a file the app can read; upload it again.")
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        raise UserInputError(f"The file is {size_text(size)}; the limit is {size_text(MAX_UPLOAD_BYTES)}.")
    with open(path, "rb") as handle:
        data = handle.read(MAX_UPLOAD_BYTES + 1)
    if path.suffix.lower() == ".txt":  # lines counted before anything is split
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        if lines > MAX_UPLOAD_ROWS:
            raise UserInputError(f"The file has {lines:,} rows; the limit is {MAX_UPLOAD_ROWS:,}.")
    try:
        if path.suffix.lower() == ".txt":
            columns, rows = ["text"], [{"text": line} for line in split_lines(decode_utf8(data, path.name))]
        else:
            columns, rows = read_table(data, path.name, max_rows=MAX_UPLOAD_ROWS)
    except TooManyRows as error:
        raise UserInputError(f"The file has {str(error).split(': ', 1)[1]}.") from error
    except InputFileError as error:
        raise UserInputError(str(error).replace(str(path), path.name)) from error
    if len(rows) > MAX_UPLOAD_ROWS:
        raise UserInputError(f"The file has {len(rows):,} rows; the limit is {MAX_UPLOAD_ROWS:,}.")
    if not rows:
        raise UserInputError("The file has no rows to score.")
    return columns, rows


def score_file(
    service: SentimentService,
    path: str | Path,
    text_column: str,
    label_column: str | None = None,
    models: list[str] | None = None,
    output_dir: Path | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> BatchResult:
    """Every row scored by every model in `models` (default: all), as a CSV and a preview."""
    columns, rows = read_upload(path)
    try:
        texts = column_texts(columns, rows, text_column, Path(path).name)
    except InputFileError as error:
        raise UserInputError(str(error)) from error
    if label_column and label_column not in columns:
        raise UserInputError(f"No label column {label_column!r}; the columns are {', '.join(map(repr, columns))}.")
    names = models or service.model_names
    for name in names:
        service.predictor(name)
    taken = [column for name in names for column in output_columns(name) if column in columns]
    if taken:
        raise UserInputError(
            f"The file already has a column {taken[0]!r}, which the scores would overwrite; rename it."
        )
    notes = []
    capped = sum(len(text) > MAX_TEXT_CHARS for text in texts)
    texts = [text[:MAX_TEXT_CHARS] for text in texts]
    if capped:
        notes.append(f"{capped:,} texts were cut to {MAX_TEXT_CHARS:,} characters.")
    outputs = run_models(service, names, texts, progress)
    empty = sum(prediction is None for prediction in outputs[names[0]])
    if empty:
        notes.append(f"{empty:,} rows have no text and were left unscored.")
    table = []
    for index, row in enumerate(rows):
        record = {column: row.get(column, "") for column in columns}
        for name in names:
            prediction = outputs[name][index]
            label_key, verdict_key, probability_key, flag_key = output_columns(name)
            record[label_key] = prediction.label if prediction else ""
            record[verdict_key] = prediction.verdict if prediction else ""
            record[probability_key] = round(prediction.probabilities.get("positive", math.nan), 6) if prediction else ""
            record[flag_key] = (prediction.unfamiliar or "") if prediction else ""
        table.append(record)
    accuracy = accuracy_rows(service, rows, label_column, names, outputs, notes) if label_column else []
    output_path = write_csv(table, Path(output_dir) if output_dir else service.results.new_directory(), Path(path).stem)
    if len(columns) > PREVIEW_COLUMNS:
        notes.append(f"The preview shows {PREVIEW_COLUMNS} of the file's {len(columns)} columns; the CSV has them all.")
    return BatchResult(
        output_path=output_path, rows=len(table), preview=preview_rows(table, columns), accuracy=accuracy, notes=notes
    )


def output_columns(model: str) -> tuple[str, str, str, str]:
    """The columns a model's scores go in: label, verdict (a lean inside the unsure band),
    calibrated P(positive), and why the text is unlike the training data (empty if it is not)."""
    return f"{model}_label", f"{model}_verdict", f"{model}_positive_probability", f"{model}_unfamiliar"


def run_models(
    service: SentimentService, names: list[str], texts: list[str], progress: Callable[[float, str], None] | None
) -> dict[str, list[Prediction | None]]:
    """Each model over the texts in chunks, each chunk in one of the service's model slots."""
    outputs: dict[str, list[Prediction | None]] = {}
    steps = len(names) * max(1, math.ceil(len(texts) / BATCH_CHUNK))
    done = 0
    for name in names:
        predictor = service.predictors[name]
        outputs[name] = []
        for start in range(0, len(texts), BATCH_CHUNK):
            with service.model_slot():
                outputs[name].extend(predictor.predict_or_skip(texts[start : start + BATCH_CHUNK]))
            done += 1
            if progress is not None:
                progress(done / steps, f"{name}: {min(start + BATCH_CHUNK, len(texts)):,} of {len(texts):,} rows")
    return outputs


def accuracy_rows(
    service: SentimentService,
    rows: list[dict[str, Any]],
    label_column: str,
    names: list[str],
    outputs: dict[str, list[Prediction | None]],
    notes: list[str],
) -> list[dict[str, Any]]:
    """Each model's accuracy on the rows whose label reads as 0/1 or negative/positive."""
    gold = [label_to_id(row.get(label_column)) for row in rows]
    usable = [i for i, value in enumerate(gold) if value is not None]
    if len(usable) < len(gold):
        notes.append(
            f"{len(gold) - len(usable):,} rows have a label that is not 0/1 or "
            "negative/positive and are not counted in the accuracy."
        )
    result = []
    for name in names:
        labels = service.predictors[name].labels
        scored = [i for i in usable if outputs[name][i] is not None]
        correct = sum(labels.index(outputs[name][i].label) == gold[i] for i in scored)
        result.append({"model": name, "accuracy": correct / len(scored) if scored else math.nan, "rows": len(scored)})
    return result


def write_csv(table: list[dict[str, Any]], directory: Path, stem: str) -> Path:
    """The scored table as CSV, every cell that would start a formula quoted."""
    safe_stem = "".join(ch for ch in stem if ch.isalnum() or ch in "-_")[:60] or "texts"
    path = directory / f"{safe_stem}-scored.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows({key: spreadsheet_safe(value) for key, value in row.items()} for row in table)
    return path


def preview_rows(table: list[dict[str, Any]], columns: list[str]) -> list[dict[str, Any]]:
    """The first rows, the file's first columns and every model column, long cells cut."""
    hidden = set(columns[PREVIEW_COLUMNS:])

    def cut(value: Any) -> Any:
        return value[:PREVIEW_CELL_CHARS] + "…" if isinstance(value, str) and len(value) > PREVIEW_CELL_CHARS else value

    return [{key: cut(value) for key, value in row.items() if key not in hidden} for row in table[:PREVIEW_ROWS]]
