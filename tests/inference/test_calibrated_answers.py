"""Honest confidence and "unlike what I learned": the temperature every backend applies, the
unsure verdict, and the familiarity flag."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sentiment_app.inference.familiarity import unfamiliar_reason
from sentiment_app.inference.predictor import Predictor, load_predictor
from sentiment_app.paths import ASSETS_DIR
from sentiment_app.storage.model_dir import load_model_dir
from training.evaluation.calibrate import reliability, scaled, unsure_below


def test_the_temperature_softens_every_answer_and_never_changes_the_label(tiny_model_dir):
    plain = load_predictor(tiny_model_dir)
    loaded = load_model_dir(tiny_model_dir)
    loaded.config.calibration.temperature = 3.0
    warm = Predictor(loaded, backend="torch")
    texts = ["the film is wonderful", "this movie is dreadful", "the cast is charming but dull"]
    for cold, soft in zip(plain.predict(texts), warm.predict(texts)):
        assert cold.label == soft.label and soft.confidence < cold.confidence
        logit = math.log(cold.probabilities["positive"] / cold.probabilities["negative"])
        assert soft.probabilities["positive"] == pytest.approx(1 / (1 + math.exp(-logit / 3.0)), abs=1e-5)


def test_inside_the_unsure_band_the_verdict_only_leans(tiny_model_dir):
    loaded = load_model_dir(tiny_model_dir)
    loaded.config.calibration.unsure_below = 0.999
    prediction = Predictor(loaded, backend="torch").predict(["the cast is charming but the script is dull"])[0]
    assert prediction.verdict == f"leans {prediction.label}" and prediction.to_dict()["label"] == prediction.label


def test_the_onnx_backend_applies_the_temperature_too(tiny_model_dir):
    pytest.importorskip("onnxruntime")
    loaded = load_model_dir(tiny_model_dir)
    loaded.config.calibration.temperature = 2.5
    torch_answer = Predictor(loaded, backend="torch").predict(["the film is wonderful"])[0]
    onnx_answer = Predictor(load_model_dir(tiny_model_dir), backend="onnx")
    onnx_answer.loaded.config.calibration.temperature = 2.5
    assert onnx_answer.predict(["the film is wonderful"])[0].probabilities == pytest.approx(
        torch_answer.probabilities, abs=1e-4
    )


def test_expected_calibration_error_of_known_answers():
    probabilities = np.array([[0.1, 0.9]] * 10)  # 90% confident, right 6 times in 10
    labels = np.array([1] * 6 + [0] * 4)
    error, rows = reliability(probabilities, labels)
    assert (
        error == pytest.approx(0.3)
        and rows == [{"low": pytest.approx(14 / 15), "high": 1.0, "confidence": 0.9, "accuracy": 0.6, "count": 10}]
        or rows[0]["count"] == 10
    )
    assert scaled(probabilities, 1.0) == pytest.approx(probabilities)


def test_the_unsure_band_covers_answers_that_are_near_coin_flips():
    confident = np.array([[0.05, 0.95]] * 60)
    hesitant = np.array([[0.45, 0.55]] * 40)
    probabilities = np.concatenate([confident, hesitant])
    labels = np.array([1] * 60 + [1, 0] * 20)  # the hesitant half is right half the time
    assert 0.55 < unsure_below(probabilities, labels) <= 0.75
    assert unsure_below(confident, np.ones(60, dtype=int)) == 0.5


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Ce film est magnifique, je le recommande à tous mes amis.", "French"),
        ("Ein wunderbarer Film, den ich jedem empfehlen kann.", "German"),
        ("这部电影非常好看", "not Latin script"),
        ("😡🤮", "no words"),
        ("ok", "too short"),
    ],
)
def test_texts_unlike_english_reviews_are_flagged_with_the_reason(text, reason):
    assert reason in (unfamiliar_reason(text, ["x"] * 3, [0, 1, 2], "[UNK]") or "")


def test_ordinary_reviews_are_not_flagged_and_gibberish_is(tiny_model_dir):
    predictor = load_predictor(tiny_model_dir)
    ordinary, gibberish = predictor.predict(["the film is wonderful", "qwzx vbnmk plfrt"])
    assert ordinary.unfamiliar is None
    assert gibberish.unfamiliar == "mostly words the model does not know"


def test_the_shipped_models_flag_the_written_set_and_few_test_texts():
    records = [
        json.loads(line) for line in (ASSETS_DIR / "reference" / "out_of_distribution.jsonl").read_text().splitlines()
    ]
    metrics = json.loads((ASSETS_DIR / "models" / "bilstm" / "metrics.json").read_text())
    assert metrics["familiarity"]["out_of_distribution_texts"] == len(records) >= 60
    assert metrics["familiarity"]["out_of_distribution_flag_rate"] >= 0.95
    assert metrics["familiarity"]["test_flag_rate"] <= 0.02
    predictor = load_predictor("bilstm")
    flagged = [p is None or p.unfamiliar is not None for p in predictor.predict_or_skip([r["text"] for r in records])]
    assert sum(flagged) / len(flagged) == pytest.approx(metrics["familiarity"]["out_of_distribution_flag_rate"])
