"""Check the faster backends against eager float32 PyTorch on a model's test split, and record
the result in its metrics.json and model card (`sentiment train` does this when it trains):

    sentiment verify assets/models/bilstm runs/my-model

ONNX Runtime (chosen by the predictor's default "auto" backend where it passed) and bfloat16
(opt-in, `backend="bfloat16"`) must each agree with float32 PyTorch on at least 99.5% of the test
labels, with no probability more than 0.02 apart. A check that cannot run here (onnxruntime not
installed; a CPU without bfloat16 arithmetic) leaves the recorded one as it was.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sentiment_app.inference.backends.agreement import agreement_with_eager
from sentiment_app.inference.backends.bfloat16 import Bfloat16Classifier, bfloat16_native
from sentiment_app.inference.backends.onnx import OnnxClassifier, onnxruntime_available
from sentiment_app.storage.atomic import atomic_write_text
from sentiment_app.storage.model_dir import CARD_FILE, METRICS_FILE, ModelLoadError, dump_json, load_model_dir
from training.data.sources import DatasetError, load_recorded_splits
from training.model_card import render_model_card
from training.trainer import encode_split


def onnx_figures(model, id_lists: Sequence[Sequence[int]], padding_id: int) -> dict[str, Any] | None:
    """Does ONNX Runtime agree with eager PyTorch? None where onnxruntime is not installed."""
    if not onnxruntime_available():
        return None
    return agreement_with_eager(model, OnnxClassifier(model), id_lists, padding_id)


def bfloat16_figures(model, id_lists: Sequence[Sequence[int]], padding_id: int) -> dict[str, Any] | None:
    """Do bfloat16 scores agree with float32 ones? None where this CPU has no bfloat16 arithmetic."""
    if not bfloat16_native():
        return None
    return agreement_with_eager(model, Bfloat16Classifier(model), id_lists, padding_id)


BACKEND_CHECKS = {"onnx": onnx_figures, "bfloat16": bfloat16_figures}


def verify_directory(directory: Path) -> dict[str, Any]:
    """Run every check that can run here on the directory's test split; rewrite metrics.json and
    README.md with the results (each file atomically). Returns the new results by backend."""
    loaded = load_model_dir(directory)
    metrics = dict(loaded.metrics)
    if not metrics.get("test") or not isinstance(metrics.get("dataset"), dict):
        raise DatasetError(
            f"{directory}: metrics.json has no test figures or dataset record "
            "(a tuning run with --skip-test, or not written by `sentiment train`)"
        )
    test = encode_split(loaded.encoder, load_recorded_splits(metrics["dataset"]).test)
    results = {}
    for backend, check in BACKEND_CHECKS.items():
        figures = check(loaded.model, test.ids, loaded.encoder.padding_id)
        if figures is not None:
            results[backend] = metrics[backend] = figures
    if results:
        atomic_write_text(directory / METRICS_FILE, dump_json(metrics))
        atomic_write_text(directory / CARD_FILE, render_model_card(loaded.config, metrics))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sentiment verify",
        description=__doc__.split("\n\n")[0],
        epilog="example:\n  sentiment verify assets/models/bilstm runs/my-model",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("models", nargs="+", type=Path, help="model directories written by `sentiment train`")
    args = parser.parse_args(argv)
    import datasets

    datasets.disable_progress_bars()
    for directory in args.models:
        try:
            results = verify_directory(directory)
        except (DatasetError, ModelLoadError) as error:
            print(f"sentiment verify: error: {error}", file=sys.stderr)
            return 2
        if not results:
            print(f"{directory}: no check can run here (no onnxruntime, no bfloat16 arithmetic)")
        for backend, figures in results.items():
            print(
                f"{directory}: {backend}: {figures['label_agreement']:.2%} of {figures['texts']:,} labels "
                f"agree, probabilities within {figures['max_probability_difference']:.4f}: "
                f"{'passed' if figures['passed'] else 'FAILED'}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
