"""`sentiment predict`: score texts from standard input or a file, write JSON Lines."""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from sentiment_app.inference.predictor import BACKENDS, BackendError, Predictor, default_model, load_predictor
from sentiment_app.storage.atomic import atomic_write_text
from sentiment_app.storage.model_dir import ModelLoadError
from sentiment_app.storage.textio import InputFileError, decode_utf8, lines_to_texts, read_texts

CHUNK = 1024  # texts scored per call, so memory stays flat on large inputs

EPILOG = """input:
  standard input or a .txt file: one text per line (blank lines are skipped)
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
        help="a shipped model's name (e.g. bilstm) or a model directory (default: the app's default model, bilstm)",
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


def read_stdin() -> list[str]:
    return lines_to_texts(decode_utf8(sys.stdin.buffer.read(), "standard input"))


def score(predictor: Predictor, texts: Sequence[str]) -> Iterator[dict[str, Any]]:
    """One output record per text; empty texts get an error instead of a label."""
    for start in range(0, len(texts), CHUNK):
        chunk = list(texts[start : start + CHUNK])
        for text, prediction in zip(chunk, predictor.predict_or_skip(chunk)):
            if prediction is None:
                yield {"text": text, "label": None, "probabilities": None, "error": "empty text: nothing to classify"}
            else:
                yield {"text": text, **prediction.to_dict()}


def write_records(records: Iterator[dict[str, Any]], stream: TextIO) -> None:
    for record in records:
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        predictor = load_predictor(args.model or default_model(), batch_size=args.batch_size, backend=args.backend)
        texts = read_texts(args.input, args.text_column) if args.input else read_stdin()
    except (ModelLoadError, InputFileError, BackendError) as error:
        print(f"sentiment predict: error: {error}", file=sys.stderr)
        return 2
    records = score(predictor, texts)
    if args.output:
        buffer = io.StringIO()
        write_records(records, buffer)
        atomic_write_text(args.output, buffer.getvalue())
    else:
        write_records(records, sys.stdout)
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
