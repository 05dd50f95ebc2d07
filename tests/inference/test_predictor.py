"""The public predictor: load_predictor(name_or_path).predict(texts)."""

from __future__ import annotations

import math

import pytest

from sentiment_app import EmptyTextError, ModelLoadError, available_models, load_predictor


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return load_predictor(tiny_model_dir)


def test_predictions_come_in_order_with_probabilities_for_each_label(predictor):
    texts = ["the film is wonderful", "this movie is dreadful", "the story is superb in the end"]
    predictions = predictor.predict(texts)
    assert [p.label for p in predictions] == ["positive", "negative", "positive"]
    for prediction in predictions:
        assert set(prediction.probabilities) == {"negative", "positive"}
        assert math.isclose(sum(prediction.probabilities.values()), 1.0, rel_tol=1e-6)
        assert prediction.confidence == max(prediction.probabilities.values())
        assert prediction.to_dict() == {
            "label": prediction.label,
            "verdict": prediction.label,  # an uncalibrated model is never unsure
            "probabilities": prediction.probabilities,
            "unfamiliar": None,
        }


def test_batch_and_single_predictions_agree(predictor):
    texts = ["the cast is charming", "its ending is tedious from start to finish honestly"] * 40
    together = predictor.predict(texts)
    for text, prediction in zip(texts[:2], together[:2]):
        alone = predictor.predict([text])[0]
        for label in alone.probabilities:
            assert abs(alone.probabilities[label] - prediction.probabilities[label]) < 1e-5


def test_a_bare_name_resolves_under_the_models_directory(trained_models, monkeypatch):
    monkeypatch.setenv("SENTIMENT_APP_MODELS", str(trained_models))
    assert load_predictor("gru").name == "gru"
    assert set(available_models()) == {"simple-rnn", "lstm", "bilstm", "gru", "bag-of-embeddings"}


def test_an_unknown_name_lists_the_available_models(trained_models, monkeypatch):
    monkeypatch.setenv("SENTIMENT_APP_MODELS", str(trained_models))
    with pytest.raises(ModelLoadError, match="no model named 'transformer'.*available: bag-of"):
        load_predictor("transformer")


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x00\x07"])
def test_texts_without_tokens_are_refused_clearly(predictor, text):
    with pytest.raises(EmptyTextError, match="index 1"):
        predictor.predict(["the film is great", text])
    assert predictor.predict_or_skip(["the film is great", text])[1] is None


def test_a_single_string_is_a_type_error(predictor):
    with pytest.raises(TypeError, match="list of texts"):
        predictor.predict("the film is great")


def test_long_texts_are_truncated_and_flagged(predictor):
    prediction = predictor.predict(["the film is great " * 500])[0]
    assert prediction.truncated and prediction.num_tokens == predictor.max_length
    assert not predictor.predict(["the film is great"])[0].truncated


@pytest.mark.parametrize(
    "text", ["😀 great film 🎬", "这部电影很好", "הסרט מצוין", "x" * 200_000, "<script>alert(1)</script> great"]
)
def test_unusual_scripts_and_sizes_get_a_prediction(predictor, text):
    prediction = predictor.predict([text])[0]
    assert prediction.label in ("negative", "positive")
