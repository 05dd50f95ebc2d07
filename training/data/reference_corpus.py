"""Write the reference corpus the app's unit explorer searches: the validation split that the
shipped models were chosen on, as JSON Lines of text and label (never the test split).

    python -m training.data.reference_corpus --model-dir assets/models/lstm --out assets/reference/validation.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sentiment_app.storage.atomic import atomic_write_text
from sentiment_app.storage.model_dir import METRICS_FILE
from training.data.sources import DatasetError, load_recorded_splits


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model-dir", type=Path, required=True, help="a model directory whose metrics.json names its data"
    )
    parser.add_argument("--out", type=Path, required=True, help="the JSON Lines file to write")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    dataset = json.loads((args.model_dir / METRICS_FILE).read_text(encoding="utf-8"))["dataset"]
    try:
        validation = load_recorded_splits(dataset).validation
    except DatasetError as error:
        print(f"reference_corpus: error: {error}", file=sys.stderr)
        return 2
    lines = [
        json.dumps({"text": text, "label": label}, ensure_ascii=False)
        for text, label in zip(validation["text"], validation["label"])
    ]
    atomic_write_text(args.out, "\n".join(lines) + "\n")
    print(f"{len(lines)} validation texts of {dataset['name']} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
