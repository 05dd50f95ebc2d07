"""Read texts to score from .txt, .csv/.tsv and .jsonl files, and keep the CSVs written back
safe for spreadsheets (standard library only)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

TEXT_SUFFIXES = (".txt", ".csv", ".tsv", ".jsonl", ".json")
csv.field_size_limit(16 * 1024 * 1024)  # one field may hold a whole long review


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet will show, not run: a leading quote before a formula start."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class InputFileError(ValueError):
    """An input file that cannot be read as asked; the message names the file and the fix."""


def decode_utf8(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputFileError(
            f"{name}: not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start}); save the file as UTF-8"
        ) from error


def split_lines(text: str) -> list[str]:
    """One text per line as the user split them: at \\n (and \\r\\n) only, never at the other line
    ends of str.splitlines (U+2028, U+0085, form feed...); a blank line is an empty text, so that
    output N belongs to input line N."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def rows_from_table(text: str, name: str, delimiter: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as error:
        raise InputFileError(f"{name}: malformed CSV ({error})") from error
    return list(reader.fieldnames or []), rows


def rows_from_jsonl(text: str, name: str) -> tuple[list[str], list[dict]]:
    """JSON Lines (one object per line), or one JSON array of objects."""
    if text.lstrip().startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputFileError(f"{name}: not valid JSON ({error.msg}, line {error.lineno})") from error
        numbered = list(enumerate(parsed, start=1))
    else:
        numbered = []
        for number, line in enumerate(split_lines(text), start=1):
            if not line.strip():
                continue
            try:
                numbered.append((number, json.loads(line)))
            except json.JSONDecodeError as error:
                raise InputFileError(f"{name}: line {number} is not valid JSON ({error.msg})") from error
    rows, columns = [], {}
    for number, row in numbered:
        if not isinstance(row, dict):
            raise InputFileError(f"{name}: record {number} is not a JSON object")
        rows.append(row)
        columns.update(dict.fromkeys(row))
    return list(columns), rows


def read_table(data: bytes, name: str) -> tuple[list[str], list[dict]]:
    """Columns and rows of a .csv, .tsv or .jsonl/.json (JSON Lines) file's bytes."""
    suffix = Path(name).suffix.lower()
    text = decode_utf8(data, name)
    if suffix in (".csv", ".tsv"):
        return rows_from_table(text, name, "\t" if suffix == ".tsv" else ",")
    if suffix in (".jsonl", ".json"):
        return rows_from_jsonl(text, name)
    raise InputFileError(f"{name}: not a table; use .csv, .tsv or .jsonl")


def column_texts(columns: list[str], rows: list[dict], column: str, name: str) -> list[str]:
    if column not in columns:
        shown = ", ".join(map(repr, columns)) or "none"
        raise InputFileError(f"{name}: no column {column!r}; columns are {shown}")
    return ["" if row.get(column) is None else str(row.get(column)) for row in rows]


def read_texts(path: Path, text_column: str = "text") -> list[str]:
    """Texts from a file: .txt gives one per line (blank ones empty); tables give `text_column`."""
    path = Path(path)
    if path.suffix.lower() not in TEXT_SUFFIXES:
        raise InputFileError(f"{path}: unsupported file type; use {', '.join(TEXT_SUFFIXES)}")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputFileError(f"{path}: cannot read ({error.strerror})") from error
    if path.suffix.lower() == ".txt":
        return split_lines(decode_utf8(data, str(path)))
    columns, rows = read_table(data, str(path))
    return column_texts(columns, rows, text_column, str(path))
