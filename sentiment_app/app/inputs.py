"""Checks of what a request sends, before any model runs: texts, numbers and unit lists."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from sentiment_app.app.errors import UserInputError
from sentiment_app.limits import MAX_TEXT_CHARS
from sentiment_app.tokenization import InvalidTextError, check_texts


@dataclass
class PreparedText:
    text: str
    notes: list[str] = field(default_factory=list)


def prepare_text(text: object, limit: int = MAX_TEXT_CHARS) -> PreparedText:
    """Check and cap one text: empty or whitespace-only text is refused with a friendly message."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise UserInputError(f"The text must be a string, not a {type(text).__name__}.")
    try:
        check_texts([text])
    except InvalidTextError as error:
        raise UserInputError("The " + str(error).removeprefix("text 0 ") + ".") from error
    notes = []
    if len(text) > limit:
        text = text[:limit]
        notes.append(f"The text was cut to its first {limit:,} characters.")
    if not text.strip():
        raise UserInputError("Type or paste a review to analyse: the text is empty.")
    return PreparedText(text=text, notes=notes)


def number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise UserInputError(f"The {what} must be a number.")
    try:
        result = float(value)
    except ValueError as error:
        raise UserInputError(f"The {what} must be a number, got {value!r}.") from error
    if not math.isfinite(result):
        raise UserInputError(f"The {what} must be a finite number.")
    return result


def sentence(error: Exception) -> str:
    text = str(error)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
