"""`sentiment predict`: score texts from standard input or a file, write JSON Lines."""

from __future__ import annotations

import argparse
import io
import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from sentiment_app.cli.output import output_failed
from sentiment_app.inference.predictor import BACKENDS, BackendError, Predictor, default_model, load_predictor
from sentiment_app.storage.atomic import atomic_writer
from sentiment_app.storage.model_dir import ModelLoadError
from sentiment_app.storage.textio import InputFileError, read_texts

CHUNK = 1024  # texts scored per call, so memory stays flat on large inputs
# JSON allows these raw in strings, but line readers split at them: written escaped, same text
LINE_ENDS_ESCAPED = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})
MAX_LINE_BYTES = 1024 * 1024  # a longer input line is answered with an error record, unread

EPILOG = """input:
  standard input or a .txt file: one text per line, split at newlines only; a blank line gets
  an error record, so that output line N always belongs to input line N
  a .csv, .tsv or .jsonl file: the column named by --text-column (default "text")

output: JSON Lines, one object per input text, in input order:
  {"text": "...", "label": "positive", "probabilities": {"negative": 0.08, "positive": 0.92}}
  A row whose text is empty gets "label": null and an "error" field instead.

examples:
  echo "A quietly devastating film." | sentiment predict --model bilstm
  sentiment predict --model gru --input reviews.csv --text-column review --output scored.jsonl
  sentiment predict --model runs/my-model --input texts.txt
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentiment predict",
        description="Classify the sentiment of texts with a trained model.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model",
        default=None,
        help="a shipped model's name (e.g. bilstm), a model directory or a Hub repo id USER/NAME "
        "(default: the app's default model, bilstm)",
    )
    parser.add_argument("--input", type=Path, help="input file (default: standard input)")
    parser.add_argument("--output", type=Path, help="output .jsonl file, written atomically (default: standard output)")
    parser.add_argument("--text-column", default="text", help="text column of a CSV/JSONL input (default: text)")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per model call (default: 64)")
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="what runs the model: auto uses ONNX Runtime where the model passed its "
        "check, else PyTorch; torch; onnx; bfloat16 runs PyTorch in bfloat16 for "
        "bulk scoring, on CPUs with AVX512-BF16 or AMX and for models whose check "
        "passed (`sentiment verify`) (default: auto)",
    )
    return parser


class LineProblem(str):
    """An input line that cannot be scored (too long, not UTF-8): its record says why."""


def stdin_texts(stream: io.BufferedIOBase) -> Iterator[str]:
    """Standard input one line at a time, in bounded memory: each line at most MAX_LINE_BYTES."""
    for number in itertools.count(1):
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line
                raw = stream.readline(MAX_LINE_BYTES)
            yield LineProblem(f"line {number} is longer than {MAX_LINE_BYTES // 1024 // 1024} MiB: not read")
            continue
        line = raw.removesuffix(b"\n").removesuffix(b"\r")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as error:
            yield LineProblem(
                f"line {number} is not valid UTF-8 (byte 0x{line[error.start]:02x} at column {error.start + 1})"
            )
            continue
        yield text.removeprefix("\ufeff") if number == 1 else text


EMPTY_RECORD = {
    "label": None,
    "verdict": None,
    "probabilities": None,
    "unfamiliar": None,
}  # every record has these keys


def score(predictor: Predictor, texts: Iterable[str]) -> Iterator[dict[str, Any]]:
    """One output record per input text, in order; empty or unreadable ones get an error."""
    texts = iter(texts)
    while chunk := list(itertools.islice(texts, CHUNK)):
        readable = [text for text in chunk if not isinstance(text, LineProblem)]
        predictions = iter(predictor.predict_or_skip(readable))
        for text in chunk:
            if isinstance(text, LineProblem):
                yield {**EMPTY_RECORD, "text": None, "error": str(text)}
                continue
            prediction = next(predictions)
            if prediction is None:
                yield {**EMPTY_RECORD, "text": text, "error": "empty text: nothing to classify"}
            else:
                yield {"text": text, **prediction.to_dict()}


def write_records(records: Iterator[dict[str, Any]], stream: TextIO) -> int:
    """Write each record as a JSON line; returns how many."""
    count = 0
    for record in records:
        stream.write(json.dumps(record, ensure_ascii=False).translate(LINE_ENDS_ESCAPED) + "\n")
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        predictor = load_predictor(args.model or default_model(), batch_size=args.batch_size, backend=args.backend)
        texts = read_texts(args.input, args.text_column) if args.input else stdin_texts(sys.stdin.buffer)
    except (ModelLoadError, InputFileError, BackendError) as error:
        print(f"sentiment predict: error: {error}", file=sys.stderr)
        return 2
    records = score(predictor, texts)
    source = args.input or "standard input"
    try:
        if args.output:
            with atomic_writer(args.output) as handle:  # an empty input leaves an existing file alone
                text = io.TextIOWrapper(handle, encoding="utf-8")
                count = write_records(records, text)
                text.flush()
                text.detach()  # atomic_writer syncs and closes the file
                if count == 0:
                    raise InputFileError(f"no input: {source} holds no text")
        else:
            count = write_records(records, sys.stdout)
            sys.stdout.flush()
            if count == 0:
                raise InputFileError(f"no input: {source} holds no text")
    except InputFileError as error:
        print(f"sentiment predict: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        return output_failed("sentiment predict", error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
