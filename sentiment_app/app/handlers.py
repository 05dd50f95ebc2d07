"""Event handlers of the web app: plain functions from inputs to display-ready data.

They call `SentimentService` and only format its results; `ui.py` wires them to components.
User errors become friendly messages (or `gr.Error` for API callers), never tracebacks.
"""

from __future__ import annotations

import html
import logging
import math
from typing import Any

import gradio as gr
import pandas as pd

from sentiment_app.app.errors import UserInputError
from sentiment_app.app.plots import gates_figure, gradient_flow_figure, rendered
from sentiment_app.app.service import SentimentService
from sentiment_app.inference.explain import METHOD_DESCRIPTION, highlight_spans
from sentiment_app.limits import SHOWN_COLUMN_NAMES

logger = logging.getLogger(__name__)
ALL_MODELS = "All models"
NO_LABEL_COLUMN = "(none)"
TEXT_COLUMN_GUESSES = ("text", "review", "sentence", "content", "comment", "body")
LABEL_COLUMN_GUESSES = ("label", "sentiment", "labels", "target", "polarity")
UNEXPECTED = "Something went wrong on our side; the error was logged. Please try again."


def percent(value: float) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1%}"


def highlights_html(spans: list[tuple[str, float | None]]) -> str:
    """The text with each word shaded by its attribution: green towards positive, red towards
    negative, stronger for larger scores. User text is escaped: tags show as text."""
    pieces = []
    for piece, score in spans:
        escaped = html.escape(piece)
        if score is None:
            pieces.append(escaped)
            continue
        colour = "22, 163, 74" if score >= 0 else "220, 38, 38"
        alpha = 0.85 * min(abs(score), 1.0)  # a word that barely matters stays unshaded
        pieces.append(
            f'<span class="attribution" title="{score:+.2f}" data-score="{score:.4f}" '
            f'style="background: rgba({colour}, {alpha:.2f})">{escaped}</span>'
        )
    legend = (
        '<div class="attribution-legend"><span style="background: rgba(220, 38, 38, 0.8)">'
        'towards negative</span><span style="background: rgba(22, 163, 74, 0.8)">towards '
        "positive</span></div>"
    )
    return f'<div class="attributions">{"".join(pieces)}</div>{legend}' if pieces else ""


def behaviour_text(row: dict[str, Any]) -> str:
    halves = row.get("behavioural_halves")
    if halves:
        return f"{halves['tuning']:.1%} / {halves['held_apart']:.1%}"
    return percent(row["behavioural_pass_rate"]) if row.get("behavioural_pass_rate") is not None else "—"


def calibration_text(row: dict[str, Any]) -> str:
    if row.get("test_ece_after") is None:
        return "—"
    return f"{row['test_ece_before']:.3f} → {row['test_ece_after']:.3f} (T = {row['temperature']:.2f})"


def answer_html(prediction) -> str:
    """The answer as a card: the verdict ("positive", or "leans positive" inside the calibrated
    unsure band) in its colour, a two-colour bar of the probabilities, and the familiarity flag."""
    label, confidence = prediction.label, prediction.confidence
    unsure = prediction.verdict != label
    kind = "unsure" if unsure else label
    verdict = f"{prediction.verdict.capitalize()}, {confidence:.0%}"
    bars = "".join(
        f'<span class="bar bar-{html.escape(name)}" style="width: {100 * value:.1f}%" '
        f'title="{html.escape(name)} {value:.1%}">{html.escape(name) if value >= 0.18 else ""} {value:.0%}</span>'
        for name, value in prediction.probabilities.items()
    )
    note = '<div class="answer-note">Close to a coin flip for this model: it only leans.</div>' if unsure else ""
    flag = (
        f'<div class="answer-flag">⚠ Unlike what the models learned from: {html.escape(prediction.unfamiliar)}. '
        "Do not trust this answer.</div>"
        if prediction.unfamiliar
        else ""
    )
    return (
        f'<div class="answer answer-{html.escape(kind)}" data-label="{html.escape(label)}" '
        f'data-verdict="{html.escape(prediction.verdict)}"><div class="answer-verdict">{html.escape(verdict)}</div>'
        f'<div class="answer-bars">{bars}</div>{note}{flag}</div>'
    )


def notes_markdown(notes: list[str]) -> str:
    return "\n".join(f"- {note}" for note in notes)


class Handlers:
    def __init__(self, service: SentimentService) -> None:
        self.service = service

    # --- Analyze ------------------------------------------------------------------------------

    def analyze(self, text: str, model: str) -> tuple[str, str, str]:
        """-> (the answer as HTML, highlighted words as HTML, status markdown)."""
        try:
            analysis = self.service.analyze(text, model)
        except UserInputError as error:
            return "", "", f"*{error}*"
        except Exception:  # keep the app up and the traceback out of the page
            logger.exception("analyze failed")
            return "", "", UNEXPECTED
        prediction = analysis.prediction
        status = f"{analysis.model} answered in **{analysis.latency_ms:.1f} ms** ({prediction.num_tokens} tokens)"
        if analysis.notes:
            status += "\n\n" + notes_markdown(analysis.notes)
        spans = highlight_spans(analysis.text, analysis.explanation)
        return answer_html(prediction), highlights_html(spans), status + "\n\n" + METHOD_DESCRIPTION

    # --- Compare ------------------------------------------------------------------------------

    def compare(self, text: str) -> tuple[pd.DataFrame, str]:
        columns = ["model", "answer", "confidence", "P(positive)", "unlike the training data?", "latency (ms)"]
        try:
            results, notes = self.service.compare(text)
        except UserInputError as error:
            return pd.DataFrame(columns=columns), f"*{error}*"
        except Exception:
            logger.exception("compare failed")
            return pd.DataFrame(columns=columns), UNEXPECTED
        frame = pd.DataFrame(
            [
                [
                    r.model,
                    r.verdict or r.label,
                    percent(r.confidence),
                    f"{r.probabilities.get('positive', math.nan):.3f}",
                    r.unfamiliar or "no",
                    f"{r.latency_ms:.2f}",
                ]
                for r in results
            ],
            columns=columns,
        )
        if not notes:
            notes = [f"All {len(results)} models agree."]
        return frame, notes_markdown(notes)

    def leaderboard(self) -> pd.DataFrame:
        rows = []
        for row in self.service.leaderboard():
            interval = row["accuracy_ci95"]
            accuracy = percent(row["test_accuracy"])
            if interval:
                accuracy += f" ({interval[0]:.1%}–{interval[1]:.1%})"
            rows.append(
                {
                    "model": row["model"],
                    "test accuracy (95% CI)": accuracy,
                    "test macro-F1": f"{row['test_macro_f1']:.3f}"
                    if row["test_macro_f1"] == row["test_macro_f1"]
                    else "—",
                    "behavioural checks (tuning / held-apart half)": behaviour_text(row),
                    "calibration error (test)": calibration_text(row),
                    "parameters": f"{row['parameters']:,}" if row["parameters"] else "—",
                    "size on disk": f"{row['size_mb']:.2f} MB",
                    "training time": f"{row['training_seconds']:.0f} s" if row["training_seconds"] else "—",
                    "distilled": "yes" if row["teacher"] else "no",
                }
            )
        return pd.DataFrame(rows)

    # --- Batch --------------------------------------------------------------------------------

    def inspect_upload(self, file_path: str | None) -> tuple[list[str], str | None, str | None, str]:
        """-> (columns, guessed text column, guessed label column, message)."""
        if not file_path:
            return [], None, None, ""
        try:
            columns, rows = self.service.inspect_upload(file_path)
        except UserInputError as error:
            return [], None, None, f"*{error}*"
        except Exception:
            logger.exception("upload inspection failed")
            return [], None, None, UNEXPECTED
        lowered = {column.lower(): column for column in columns}
        text_column = next((lowered[g] for g in TEXT_COLUMN_GUESSES if g in lowered), columns[0] if columns else None)
        label_column = next((lowered[g] for g in LABEL_COLUMN_GUESSES if g in lowered), None)
        shown = ", ".join(columns[:SHOWN_COLUMN_NAMES])
        if len(columns) > SHOWN_COLUMN_NAMES:
            shown += f" and {len(columns) - SHOWN_COLUMN_NAMES} more"
        return columns, text_column, label_column, f"{len(rows):,} rows, columns: {shown}"

    def score_file(
        self, file_path: str | None, text_column: str | None, label_column: str | None, model_choice: str, progress=None
    ) -> tuple[str | None, pd.DataFrame, pd.DataFrame, str]:
        """-> (CSV path to download, preview, accuracy per model, notes)."""
        empty = pd.DataFrame()
        if not file_path:
            return None, empty, empty, "*Upload a CSV, TXT or JSONL file first.*"
        if not text_column:
            return None, empty, empty, "*Pick the column that holds the texts.*"
        models = None if model_choice in (None, "", ALL_MODELS) else [model_choice]
        label = None if label_column in (None, "", NO_LABEL_COLUMN) else label_column

        def report(fraction: float, description: str) -> None:
            if progress is not None:
                progress(fraction, desc=description)

        try:
            result = self.service.score_file(file_path, text_column, label, models, progress=report)
        except UserInputError as error:
            return None, empty, empty, f"*{error}*"
        except Exception:
            logger.exception("batch scoring failed")
            return None, empty, empty, UNEXPECTED
        accuracy = pd.DataFrame(
            [
                {"model": row["model"], "accuracy": percent(row["accuracy"]), "rows": row["rows"]}
                for row in result.accuracy
            ]
        )
        notes = [f"Scored {result.rows:,} rows with {', '.join(models or self.service.model_names)}."]
        return str(result.output_path), pd.DataFrame(result.preview), accuracy, notes_markdown(notes + result.notes)

    # --- Inside the network -------------------------------------------------------------------

    def inside(self, text: str, model: str, direction: str = "left to right"):
        """-> (gates figure or None, gradient-flow figure or None, notes markdown)."""
        try:
            return self._inside(text, model, direction)
        except UserInputError as error:
            return None, None, f"*{error}*"
        except Exception:
            logger.exception("inside view failed")
            return None, None, UNEXPECTED

    def _inside(self, text: str, model: str, direction: str):
        trace = self.service.trace(text, model)
        words, flows = self.service.gradient_flows(text)
        gradient = rendered(gradient_flow_figure, words, flows) if words else None
        if trace.cell == "bag" or not trace.directions:
            return (
                None,
                gradient,
                (
                    f"*{trace.model} has no recurrence (it averages its word "
                    "vectors), so it has no gates or hidden states to show.*"
                ),
            )
        shown = next((d for d in trace.directions if d.direction == direction), trace.directions[0])
        figure = rendered(
            gates_figure,
            trace.tokens,
            trace.cell,
            shown.direction,
            shown.gates,
            shown.hidden,
            shown.cell_state,
            trace.model,
        )
        notes = []
        if len(trace.directions) > 1:
            notes.append("This model reads the text in both directions; pick the direction to show.")
        return figure, gradient, notes_markdown(notes)

    # --- API ----------------------------------------------------------------------------------

    def predict_sentiment(self, text: str, model: str = "") -> dict[str, Any]:
        """Classify the sentiment of one English text, such as a movie review, as positive or negative.

        Args:
            text: The text to classify. A text over the length limit is cut, with a note.
            model: A loaded model's name (see list_models); empty for the app's default model.

        Returns:
            The model used, the label, its confidence, the probability of each label, the latency in
            milliseconds and notes (for example that the text was cut).
        """
        try:
            result, notes = self.service.predict(text, model or None)
        except Exception as error:
            raise refused("predict", error) from error
        return {**result.to_dict(), "notes": notes}

    def compare_models(self, text: str) -> dict[str, Any]:
        """Classify one English text with every loaded model and say whether they agree.

        Args:
            text: The text to classify. A text over the length limit is cut, with a note.

        Returns:
            One result per model (label, confidence, probabilities, latency), whether all labels
            agree, and notes.
        """
        try:
            results, notes = self.service.compare(text)
        except Exception as error:
            raise refused("compare", error) from error
        return {
            "results": [result.to_dict() for result in results],
            "agree": len({result.label for result in results}) == 1,
            "notes": notes,
        }

    def list_models(self) -> dict[str, Any]:
        """List the loaded sentiment models with their test accuracy, and any that failed to load.

        Returns:
            The leaderboard rows (model, test accuracy and interval, size) and the load errors by model.
        """
        return {"models": self.service.leaderboard(), "failed_to_load": self.service.load_errors}


def refused(endpoint: str, error: Exception) -> gr.Error:
    """A user error: one log line and its message for the caller; anything else: the traceback
    in the log and a generic message, never an empty error."""
    if isinstance(error, UserInputError):
        logger.info("%s refused: %s", endpoint, error)
        return gr.Error(str(error), print_exception=False)
    logger.error("%s failed", endpoint, exc_info=error)
    return gr.Error(UNEXPECTED, print_exception=False)


def upload_path(file: Any) -> str | None:
    """Gradio may hand a file as a path string or an object with .name."""
    if file is None:
        return None
    return str(getattr(file, "name", file))
