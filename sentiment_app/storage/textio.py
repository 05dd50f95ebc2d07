"""Read texts to score from .txt, .csv/.tsv and .jsonl files, and keep the CSVs written back
safe for spreadsheets (standard library only)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sentiment_app.limits import MAX_CELLS, MAX_COLUMN_NAME_CHARS, MAX_COLUMNS, MAX_FIELD_CHARS, UPLOAD_SUFFIXES

TEXT_SUFFIXES = UPLOAD_SUFFIXES
csv.field_size_limit(MAX_FIELD_CHARS)  # one cell may hold a whole long review, not a whole file


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet will show, not run: a leading quote before a formula start."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


JSON_KINDS = {dict: "object", list: "array"}


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


OBJECTS_PER_ROW = 4  # nested objects a JSON array's rows may hold on average before the parse is refused


class TooManyRows(InputFileError):
    """A file with more rows (or cells) than the caller reads; raised as soon as the bound is passed."""


def check_size(rows: int, columns: int, max_rows: int | None, name: str) -> None:
    """Stop reading once a file passes `max_rows` rows or MAX_CELLS cells (rows times columns)."""
    if max_rows is not None and rows > max_rows:
        raise TooManyRows(f"{name}: over {max_rows:,} rows; the limit is {max_rows:,}")
    if max_rows is not None and rows * max(columns, 1) > MAX_CELLS:
        raise TooManyRows(f"{name}: over {MAX_CELLS:,} cells (rows times columns); the limit is {MAX_CELLS:,}")


def rows_from_table(
    text: str, name: str, delimiter: str, max_rows: int | None = None
) -> tuple[list[str], list[dict[str, str]]]:
    """Columns and rows of a CSV/TSV text; a file that parses two ways is refused, never guessed."""
    first_line = text[: text.find("\n") if "\n" in text else len(text)]
    if len(first_line) > MAX_COLUMNS * (MAX_COLUMN_NAME_CHARS + 3):
        raise InputFileError(
            f"{name}: the header line is {len(first_line):,} characters; at most {MAX_COLUMNS} columns "
            f"of {MAX_COLUMN_NAME_CHARS} characters are read"
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[dict[str, str]] = []
    columns: list[str] = []
    start = 1
    try:
        for record in reader:
            if not columns:
                columns = header_columns(record, name)
            elif record:  # a blank line is no record
                if len(record) != len(columns):
                    raise InputFileError(
                        f"{name}: line {start} has {len(record)} field{'s' if len(record) != 1 else ''}; "
                        f"the header has {len(columns)} (a missing or extra delimiter?)"
                    )
                rows.append(dict(zip(columns, record)))
                check_size(len(rows), len(columns), max_rows, name)
            start = reader.line_num + 1
    except csv.Error as error:
        raise InputFileError(f"{name}: {table_error(str(error), start)}") from error
    return columns, rows


def header_columns(header: list[str], name: str) -> list[str]:
    """The header's column names, refused when too many, too long, unnamed or repeated."""
    if len(header) > MAX_COLUMNS:
        raise InputFileError(f"{name}: the file has {len(header):,} columns; the limit is {MAX_COLUMNS}")
    seen: dict[str, int] = {}
    for number, column in enumerate(header, start=1):
        if not column.strip():
            raise InputFileError(f"{name}: column {number} of the header has no name")
        if len(column) > MAX_COLUMN_NAME_CHARS:
            raise InputFileError(
                f"{name}: the name of column {number} is {len(column):,} characters; "
                f"the limit is {MAX_COLUMN_NAME_CHARS}"
            )
        if column in seen:
            raise InputFileError(f"{name}: columns {seen[column]} and {number} are both named {column!r}")
        seen[column] = number
    return header


def table_error(message: str, line: int) -> str:
    """The csv module's error as a sentence naming the line where the record began."""
    if "unexpected end of data" in message:
        return f"line {line}: a quote opened here is never closed (rows would merge); check the quotes"
    if "field larger than field limit" in message:
        return f"line {line}: a cell is longer than {MAX_FIELD_CHARS:,} characters"
    return f"line {line}: malformed CSV ({message})"


def parse_json(text: str, where: str, whole_file: bool = False) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        detail = f"{error.msg}, line {error.lineno}" if whole_file else error.msg
        raise InputFileError(f"{where} is not valid JSON ({detail})") from error
    except RecursionError as error:
        raise InputFileError(f"{where} is nested too deeply to read") from error


def rows_from_jsonl(text: str, name: str, max_rows: int | None = None) -> tuple[list[str], list[dict]]:
    """JSON Lines (one object per line, split at \\n only), or one JSON array of objects."""
    array = text.lstrip().startswith("[")
    if max_rows is not None:  # bound the parse: a JSON Lines record is a line, an array's is an object
        if not array:
            check_size(text.count("\n") + 1 - text.endswith("\n"), 1, max_rows, name)
        elif text.count("{") > OBJECTS_PER_ROW * max_rows:
            raise TooManyRows(
                f"{name}: over {OBJECTS_PER_ROW * max_rows:,} JSON objects; at most {max_rows:,} rows are read"
            )
    if array:
        parsed = parse_json(text, name, whole_file=True)
        numbered = list(enumerate(parsed, start=1)) if isinstance(parsed, list) else [(1, parsed)]
    else:
        numbered = [
            (number, parse_json(line, f"{name}: line {number}"))
            for number, line in enumerate(split_lines(text), start=1)
            if line.strip()
        ]
    rows, columns = [], {}
    for number, row in numbered:
        if not isinstance(row, dict):
            raise InputFileError(f"{name}: record {number} is not a JSON object")
        rows.append(row)
        columns.update(dict.fromkeys(row))
        check_size(len(rows), len(columns), max_rows, name)
        if len(columns) > MAX_COLUMNS:
            raise InputFileError(
                f"{name}: the records have over {MAX_COLUMNS} distinct keys; the limit is {MAX_COLUMNS}"
            )
    return list(columns), rows


def read_table(data: bytes, name: str, max_rows: int | None = None) -> tuple[list[str], list[dict]]:
    """Columns and rows of a .csv, .tsv or .jsonl/.json (JSON Lines) file's bytes; with `max_rows`,
    reading stops as soon as the file passes it (or MAX_CELLS cells)."""
    suffix = Path(name).suffix.lower()
    text = decode_utf8(data, name)
    if suffix in (".csv", ".tsv"):
        return rows_from_table(text, name, "\t" if suffix == ".tsv" else ",", max_rows)
    if suffix in (".jsonl", ".json"):
        return rows_from_jsonl(text, name, max_rows)
    raise InputFileError(f"{name}: not a table; use .csv, .tsv or .jsonl")


def column_texts(columns: list[str], rows: list[dict], column: str, name: str) -> list[str]:
    if column not in columns:
        shown = ", ".join(map(repr, columns)) or "none"
        raise InputFileError(f"{name}: no column {column!r}; columns are {shown}")
    texts = []
    for number, row in enumerate(rows, start=1):
        value = row.get(column)
        if isinstance(value, (dict, list)):
            raise InputFileError(
                f"{name}: record {number}: {column!r} holds a JSON {JSON_KINDS[type(value)]}, not text"
            )
        texts.append("" if value is None else str(value))
    return texts


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
