"""Make each model's confidence honest, and measure how honest it is:

    sentiment calibrate assets/models/bilstm runs/my-model
    sentiment calibrate assets/models/{simple-rnn,lstm,bilstm,gru,bag-of-embeddings} --plot assets/reliability.png

On the validation split: the temperature that minimises the negative log-likelihood (Guo et al.
2017) and the "unsure" band, the confidence below which the calibrated answers are right less than
60% of the time. On the test split: the expected calibration error (15 equal-width bins) and the
reliability diagram, before and after. Also the behavioural checks' two halves and the share of
texts the familiarity check flags (the test split, and a written set of texts that it should
flag). config.json gets the temperature and band (every backend applies them); metrics.json and
the model card get the figures. Accuracy does not move: dividing logits by one number never
changes which label wins.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import softmax

from sentiment_app.config import CalibrationConfig
from sentiment_app.inference.predictor import Predictor
from sentiment_app.paths import ASSETS_DIR
from sentiment_app.storage.atomic import atomic_write_text
from sentiment_app.storage.model_dir import (
    CARD_FILE,
    CONFIG_FILE,
    METRICS_FILE,
    ModelLoadError,
    dump_json,
    load_model_dir,
)
from training.data.sources import DatasetError, load_recorded_splits
from training.evaluation.calibration import fit_temperature
from training.model_card import render_model_card
from training.report import behavioural_figures

ECE_BINS = 15
UNSURE_ACCURACY = 0.60  # answers right less often than this on validation (little better than a coin) only lean
UNSURE_GRID = np.round(np.arange(0.50, 0.751, 0.01), 2)
MIN_BAND_TEXTS = 20  # a band is chosen only where validation has this many texts in it
OUT_OF_DISTRIBUTION = ASSETS_DIR / "reference" / "out_of_distribution.jsonl"


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> tuple[float, list[dict]]:
    """Expected calibration error over `bins` equal-width confidence bins, and the bins' rows
    (confidence, accuracy, count) of the reliability diagram. probabilities (n, labels)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    error, rows = 0.0, []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            gap = abs(confidence[inside].mean() - correct[inside].mean())
            error += inside.mean() * gap
            rows.append(
                {
                    "low": float(low),
                    "high": float(high),
                    "confidence": float(confidence[inside].mean()),
                    "accuracy": float(correct[inside].mean()),
                    "count": int(inside.sum()),
                }
            )
    return float(error), rows


def scaled(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T): the same as softmax(logits / T), since log p differs from the logits by a constant per row."""
    return softmax(np.log(np.clip(probabilities, 1e-12, 1.0)) / temperature, axis=1)


def unsure_below(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The largest confidence under which validation answers are right less than UNSURE_ACCURACY of the time (0.5: none)."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    chosen = 0.5
    for threshold in UNSURE_GRID[1:]:
        inside = confidence < threshold
        if inside.sum() >= MIN_BAND_TEXTS and correct[inside].mean() < UNSURE_ACCURACY:
            chosen = float(threshold)
    return chosen


def flag_rate(predictor: Predictor, texts: list[str]) -> float:
    """The share of texts the familiarity check flags (a text with no token counts as flagged)."""
    predictions = predictor.predict_or_skip(texts)
    return sum(prediction is None or prediction.unfamiliar is not None for prediction in predictions) / len(texts)


def calibrate_directory(directory: Path) -> dict[str, Any]:
    """Fit, measure and record; returns the calibration record written to metrics.json."""
    loaded = load_model_dir(directory)
    metrics = dict(loaded.metrics)
    if not metrics.get("test") or not isinstance(metrics.get("dataset"), dict):
        raise DatasetError(f"{directory}: metrics.json has no test figures or dataset record")
    splits = load_recorded_splits(metrics["dataset"])
    loaded.config.calibration = CalibrationConfig()  # measure from the raw model
    predictor = Predictor(loaded, backend="torch")

    def probabilities(split) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities and labels of the split's texts that have tokens (an empty one has no answer)."""
        id_lists = predictor.encode(list(split["text"]))[0]
        kept = [index for index, ids in enumerate(id_lists) if ids]
        labels = np.array(split["label"])[kept]
        return predictor.probabilities([id_lists[i] for i in kept]).numpy().astype(np.float64), labels

    validation, validation_labels = probabilities(splits.validation)
    test, test_labels = probabilities(splits.test)
    temperature = fit_temperature(np.log(np.clip(validation, 1e-12, 1.0)), validation_labels)
    band = unsure_below(scaled(validation, temperature), validation_labels)
    ece_before, diagram_before = reliability(test, test_labels)
    ece_after, diagram_after = reliability(scaled(test, temperature), test_labels)
    record = {
        "temperature": temperature,
        "unsure_below": band,
        "fitted_on": "validation",
        "unsure_rule": f"below this confidence, validation answers were right less than {UNSURE_ACCURACY:.0%} of the time",
        "bins": ECE_BINS,
        "test_ece_before": ece_before,
        "test_ece_after": ece_after,
        "test_unsure_share": float((scaled(test, temperature).max(axis=1) < band).mean()),
        "reliability_before": diagram_before,
        "reliability_after": diagram_after,
    }

    behaviour = behavioural_figures(loaded.model, loaded.encoder)  # as training reports them, halves included
    outside = [
        json.loads(line)["text"] for line in OUT_OF_DISTRIBUTION.read_text(encoding="utf-8").splitlines() if line
    ]
    familiarity = {
        "test_flag_rate": flag_rate(predictor, list(splits.test["text"])),
        "out_of_distribution_flag_rate": flag_rate(predictor, outside),
        "out_of_distribution_texts": len(outside),
    }
    metrics.update(calibration=record, behavioural=behaviour, familiarity=familiarity)
    loaded.config.calibration = CalibrationConfig(temperature=temperature, unsure_below=band)
    atomic_write_text(directory / CONFIG_FILE, dump_json(loaded.config.to_dict()))
    atomic_write_text(directory / METRICS_FILE, dump_json(metrics))
    atomic_write_text(directory / CARD_FILE, render_model_card(loaded.config, metrics))
    return record | {"behavioural_halves": behaviour["halves"], "familiarity": familiarity}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="sentiment calibrate",
        description=__doc__.split("\n\n")[0],
        epilog="example:\n  sentiment calibrate assets/models/bilstm runs/my-model",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("models", nargs="+", type=Path, help="model directories written by `sentiment train`")
    parser.add_argument(
        "--plot",
        type=Path,
        default=None,
        help="also draw the models' reliability diagrams into this PNG (default: none)",
    )
    args = parser.parse_args(argv)
    records = {}
    for directory in args.models:
        try:
            result = calibrate_directory(directory)
        except (DatasetError, ModelLoadError) as error:
            print(f"sentiment calibrate: error: {error}", file=sys.stderr)
            return 2
        records[directory.name] = result
        print(
            f"{directory}: temperature {result['temperature']:.3f}; test ECE {result['test_ece_before']:.4f} -> "
            f"{result['test_ece_after']:.4f}; unsure below {result['unsure_below']:.2f}; behavioural halves "
            f"{result['behavioural_halves']['tuning']:.1%} / {result['behavioural_halves']['held_apart']:.1%}; "
            f"flagged: test {result['familiarity']['test_flag_rate']:.2%}, "
            f"out-of-distribution set {result['familiarity']['out_of_distribution_flag_rate']:.1%}"
        )
    if args.plot:
        from sentiment_app.app.plots import reliability_figure

        reliability_figure(records).savefig(args.plot, dpi=110)
        print(f"reliability diagrams -> {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
