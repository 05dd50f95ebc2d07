"""The launched app, driven through gradio_client on every named endpoint."""

from __future__ import annotations

import json

import httpx
import pytest
from gradio_client.exceptions import AppError

from benchmarks.rest import call
from sentiment_app.limits import MAX_TEXT_CHARS

pytestmark = pytest.mark.slow


def test_the_named_endpoints_are_listed(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {"/predict", "/compare", "/models"} <= set(endpoints)


def test_predict_with_the_default_and_a_named_model(client):
    result = client.predict("the film is wonderful", "", api_name="/predict")
    assert result["model"] == "bilstm" and result["label"] == "positive"
    assert abs(sum(result["probabilities"].values()) - 1) < 1e-6
    named = client.predict("this movie is dreadful", "gru", api_name="/predict")
    assert named["model"] == "gru" and named["label"] == "negative"


def test_compare_scores_every_model(client):
    result = client.predict("the cast is charming", api_name="/compare")
    assert [r["model"] for r in result["results"]] == ["bilstm", "lstm", "gru", "simple-rnn", "bag-of-embeddings"]
    assert isinstance(result["agree"], bool)


def test_models_endpoint_reports_the_leaderboard(client):
    result = client.predict(api_name="/models")
    assert len(result["models"]) == 5 and result["failed_to_load"] == {}


def test_empty_text_is_a_clear_error(client):
    with pytest.raises(AppError, match="empty"):
        client.predict("   ", "", api_name="/predict")


def test_unknown_model_is_a_clear_error(client):
    with pytest.raises(AppError, match="Unknown model"):
        client.predict("good", "transformer", api_name="/predict")


def test_the_server_caps_long_texts_for_api_callers(client):
    result = client.predict("wonderful " * (MAX_TEXT_CHARS // 5), "", api_name="/predict")
    assert any("cut" in note for note in result["notes"])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (["\ud800 good", ""], "unpaired surrogate (U+D800 at character 0)"),
        (["good", ["bilstm"]], "must be a model's name (a string), not a list"),
        (["good", {"name": "bilstm"}], "not a dict"),
        ([["good"], ""], "must be a string, not a list"),
    ],
    ids=["lone surrogate", "list as model", "dict as model", "list as text"],
)
def test_odd_json_values_over_rest_get_the_reason_not_an_empty_error(app_url, data, expected):
    """The JSON escape "\\ud800" decodes to a lone surrogate; neither it nor a list is a text."""
    url = f"{app_url.rstrip('/')}/gradio_api/call/predict"
    with httpx.Client(timeout=30) as http:
        body = json.dumps({"data": data})  # ASCII: the surrogate travels as its escape, as a client may send it
        event_id = http.post(url, content=body, headers={"content-type": "application/json"}).json()["event_id"]
        stream = http.get(f"{url}/{event_id}").text
        assert "event: error" in stream
        error = json.loads(stream.split("data:", 1)[1].strip())["error"]
        assert error and expected in error
        assert call(http, app_url, "predict", ["the film is wonderful", ""])["label"] == "positive"


def test_the_unit_endpoints_answer_with_units_matches_and_the_ablation(client):
    text = "the film is wonderful and the cast is charming"
    found = client.predict(text, "lstm", "is wonderful", -0.9, api_name="/explore_units")
    assert found["span_tokens"] == ["is", "wonderful"] and found["selected_units"] and found["matches"]
    units = ", ".join(str(unit["unit"]) for unit in found["sentiment_units"])
    ablation = client.predict(text, "lstm", units, 0.0, api_name="/ablate_units")
    assert ablation["units"] == sorted(unit["unit"] for unit in found["sentiment_units"])
    assert ablation["before"]["probabilities"] != ablation["after"]["probabilities"]
    with pytest.raises(AppError, match="not part of the text"):
        client.predict(text, "lstm", "dreadful", 0.1, api_name="/explore_units")
    with pytest.raises(AppError, match="no recurrent units"):
        client.predict(text, "bag-of-embeddings", "3", 0.0, api_name="/ablate_units")
