"""Handlers of the unit explorer (Inside tab) and its API endpoints: they call the service and
format its answers; errors become messages, never tracebacks."""

from __future__ import annotations

import html
import logging
from typing import Any

from sentiment_app.app.errors import UserInputError
from sentiment_app.app.handlers import UNEXPECTED, notes_markdown, refused
from sentiment_app.app.plots import rendered
from sentiment_app.app.service import SentimentService
from sentiment_app.app.unit_plots import cells_side_by_side_figure, sentiment_units_figure
from sentiment_app.inference.units import DEFAULT_THRESHOLD, PhraseMatch

logger = logging.getLogger(__name__)
SHOWN_UNITS = 24


def matches_html(matches: list[PhraseMatch]) -> str:
    """Each reference text with its matching window marked; user-derived text escaped."""
    if not matches:
        return "<p><em>No reference phrase switches on these units.</em></p>"
    rows = []
    for match in matches:
        before, phrase, after = (
            html.escape(part)
            for part in (match.text[: match.start], match.text[match.start : match.end], match.text[match.end :])
        )
        label = "positive" if match.label == 1 else "negative"
        rows.append(
            f'<li class="unit-match" data-score="{match.score:.3f}">{before}<mark>{phrase}</mark>{after} '
            f"<small>({label}; {match.shared_units} shared units, similarity {match.score:.2f})</small></li>"
        )
    return f'<ol class="unit-matches">{"".join(rows)}</ol>'


def units_text(units: list[int]) -> str:
    return ", ".join(map(str, units))


class UnitHandlers:
    def __init__(self, service: SentimentService) -> None:
        self.service = service

    def explore(self, text: str, model: str, span: str, threshold: float):
        """-> (summary markdown, matches HTML, sentiment-units figure, units to change)."""
        try:
            found = self.service.explore_units(text, model, span, threshold)
            leans = {unit.unit: unit.leans for unit in found.sentiment_units}
            figure = rendered(sentiment_units_figure, found.tokens, found.activations, leans)
        except UserInputError as error:
            return f"*{error}*", "", None, ""
        except Exception:
            logger.exception("unit exploration failed")
            return UNEXPECTED, "", None, ""
        selected = found.selected_units
        shown = units_text(selected[:SHOWN_UNITS]) + (
            f" and {len(selected) - SHOWN_UNITS} more" if len(selected) > SHOWN_UNITS else ""
        )
        span_words = " ".join(found.tokens[found.span[0] : found.span[1]])
        summary = (
            f"**{len(selected)} units** of {found.model} stay above {found.threshold:g} across "
            f"“{html.escape(span_words)}”: {shown or 'none (lower the threshold)'}. Below: the reference "
            "phrases that switch on the most similar set of units."
        )
        sentiment = units_text([unit.unit for unit in found.sentiment_units])
        return summary, matches_html(found.matches), figure, sentiment

    def ablate(self, text: str, model: str, units: str, mode: str, value: float):
        """-> markdown: the prediction before and after holding the units."""
        held = 0.0 if mode == "ablate (set to 0)" else value
        try:
            result = self.service.ablate(text, model, units, held)
        except UserInputError as error:
            return f"*{error}*"
        except Exception:
            logger.exception("ablation failed")
            return UNEXPECTED
        labels = self.service.predictor(model).labels
        positive = "positive" if "positive" in labels else labels[-1]
        change = result.after[positive] - result.before[positive]
        return notes_markdown(
            [
                f"Before: **{result.label_before}**, P({positive}) = {result.before[positive]:.3f}",
                f"With units {units_text(result.units)} held at {result.value:g}: **{result.label_after}**, "
                f"P({positive}) = {result.after[positive]:.3f} ({change:+.3f})",
            ]
        )

    def side_by_side(self, text: str):
        """-> (figure of three cells' gates on one text, or None; notes markdown)."""
        try:
            traces = [trace for trace in self.service.cell_traces(text) if trace.directions]
            return (rendered(cells_side_by_side_figure, traces) if traces else None), ""
        except UserInputError as error:
            return None, f"*{error}*"
        except Exception:
            logger.exception("side-by-side view failed")
            return None, UNEXPECTED

    # --- API ----------------------------------------------------------------------------------

    def explore_units(
        self, text: str, model: str = "", span: str = "", threshold: float = DEFAULT_THRESHOLD
    ) -> dict[str, Any]:
        """Find the hidden units that stay active across a phrase of a text, as LSTMVis does.

        Args:
            text: The text to look into.
            model: A loaded recurrent model's name; empty for the default model.
            span: A phrase of the text (a few consecutive words); the units above the threshold at every one of its tokens are selected.
            threshold: A unit counts as on above this value of its hidden state (between -1 and 1).

        Returns:
            The tokens, the span's token range, the selected units, the reference-corpus phrases whose states switch on the most similar units (with the matching window's character offsets and similarity), and the units that best separate positive from negative texts with their values over the text.
        """
        try:
            return self.service.explore_units(text, model or None, span, threshold).to_dict()
        except Exception as error:
            raise refused("explore_units", error) from error

    def ablate_units(self, text: str, model: str = "", units: str = "", value: float = 0.0) -> dict[str, Any]:
        """Hold hidden units of a recurrent model at a value at every step and see how its prediction moves.

        Args:
            text: The text to classify.
            model: A loaded recurrent model's name; empty for the default model.
            units: The units to hold, as numbers separated by commas or spaces (for example "3, 17, 42").
            value: The value to hold them at, between -1 and 1; 0 ablates them.

        Returns:
            The label and probabilities before and after, the units and the value.
        """
        try:
            return self.service.ablate(text, model or None, units, value).to_dict()
        except Exception as error:
            raise refused("ablate_units", error) from error
