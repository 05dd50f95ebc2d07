"""Rebuild the comparison table of a directory of trained models from their metrics.json files.

    sentiment compare assets/models

`sentiment train --models a,b,c --out DIR` writes DIR/comparison.{json,md} itself. Retrain one of
those models alone (`sentiment train --model b --out DIR/b ...`) and this refreshes the table,
McNemar's tests between the models included, without retraining the others. The models must have
been tested on the same split (same dataset fingerprint and split seed); the test labels come
from that split, loaded again.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sentiment_app.storage.atomic import atomic_write_text
from sentiment_app.tokenization import TextEncoder, load_tokenizer
from training.data.sources import DatasetError, load_recorded_splits
from training.evaluation.metrics import comparison_markdown, comparison_rows, pairwise_mcnemar, reference_row
from training.trainer import encode_split


class CompareError(ValueError):
    pass


def read_results(directory: Path) -> dict[str, dict[str, Any]]:
    """metrics.json of every model directory under `directory`, by name, in name order."""
    results = {}
    for metrics_path in sorted(Path(directory).glob("*/metrics.json")):
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        if metrics.get("test") and "predictions" in metrics["test"]:
            results[metrics_path.parent.name] = metrics
    if not results:
        raise CompareError(f"{directory}: no model directory with test figures in it")
    splits = {(m["dataset"]["name"], m["dataset"]["fingerprint"], m["dataset"]["split_seed"]) for m in results.values()}
    if len(splits) > 1:
        raise CompareError(
            f"{directory}: the models were tested on different data "
            f"({', '.join(sorted(str(s[:2]) for s in splits))}); retrain them on one split"
        )
    return results


def test_labels(directory: Path, results: dict[str, dict[str, Any]]) -> list[int]:
    """The labels of the test texts the models scored (texts with at least one token)."""
    name, metrics = next(iter(results.items()))
    splits = load_recorded_splits(metrics["dataset"])
    encoder = TextEncoder(load_tokenizer(Path(directory) / name / "tokenizer.json"))
    labels = encode_split(encoder, splits.splits["test"]).labels  # as sentiment train encoded them
    for model, model_metrics in results.items():
        if len(model_metrics["test"]["predictions"]) != len(labels):
            raise CompareError(f"{model}: its test predictions do not line up with the test split")
    return labels


def write_comparison(out: Path, results: dict[str, dict[str, Any]], dataset: str, labels: list[int] | None) -> str:
    """Write out/comparison.json and out/comparison.md; returns the markdown table."""
    rows = comparison_rows(results)
    reference = reference_row(results)
    pairs = [] if labels is None else pairwise_mcnemar(results, labels)
    atomic_write_text(
        Path(out) / "comparison.json",
        json.dumps({"dataset": dataset, "models": rows, "reference": reference, "mcnemar": pairs}, indent=2) + "\n",
    )
    table = comparison_markdown(rows, dataset, reference, pairs)
    atomic_write_text(Path(out) / "comparison.md", table)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sentiment compare",
        description="Rebuild DIR/comparison.{json,md} from the model directories in DIR.",
        epilog="examples:\n  sentiment compare assets/models --models simple-rnn,lstm,bilstm,gru,bag-of-embeddings\n"
        "  sentiment compare runs/compare",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("directory", type=Path, help="a directory of model directories")
    parser.add_argument(
        "--models", default=None, help="comma-separated model names, in table order (default: all, by name)"
    )
    args = parser.parse_args(argv)
    try:
        results = read_results(args.directory)
        if args.models:
            order = [name.strip() for name in args.models.split(",") if name.strip()]
            missing = [name for name in order if name not in results]
            if missing:
                raise CompareError(f"{args.directory}: no tested model named {', '.join(missing)}")
            results = {name: results[name] for name in order}
        labels = test_labels(args.directory, results)
    except (CompareError, DatasetError) as error:
        print(f"sentiment compare: error: {error}", file=sys.stderr)
        return 2
    print(write_comparison(args.directory, results, next(iter(results.values()))["dataset"]["name"], labels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
