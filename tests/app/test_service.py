"""The web app's inference layer and handlers, without a server."""

from __future__ import annotations

import csv
import html
import json
import re
import shutil

import pytest

from sentiment_app.app.errors import UserInputError
from sentiment_app.app.handlers import ALL_MODELS, NO_LABEL_COLUMN, Handlers, highlights_html
from sentiment_app.app.plots import validation_curves_figure
from sentiment_app.app.service import SentimentService, prepare_text
from sentiment_app.inference.explain import explain, highlight_spans
from sentiment_app.limits import MAX_TEXT_CHARS
from tests.helpers import write_csv


@pytest.fixture(scope="module")
def service(trained_models):
    return SentimentService.from_directory(trained_models)


@pytest.fixture(scope="module")
def handlers(service):
    return Handlers(service)


def test_models_load_best_first(service):
    assert service.model_names == ["bilstm", "lstm", "gru", "simple-rnn", "bag-of-embeddings"]
    assert service.load_errors == {}


def test_a_broken_model_is_skipped_and_reported(trained_models, tmp_path):
    root = tmp_path / "models"
    shutil.copytree(trained_models / "gru", root / "gru")
    shutil.copytree(trained_models / "lstm", root / "broken")
    (root / "broken" / "model.safetensors").write_bytes(b"garbage")
    service = SentimentService.from_directory(root)
    assert service.model_names == ["gru"]
    assert "broken" in service.load_errors and "model.safetensors" in service.load_errors["broken"]


@pytest.mark.parametrize("text", ["", "   \n ", None])
def test_empty_input_gets_a_friendly_message(text):
    with pytest.raises(UserInputError, match="empty"):
        prepare_text(text)


def test_long_input_is_capped_with_a_note():
    prepared = prepare_text("great " * 5000)
    assert len(prepared.text) == MAX_TEXT_CHARS and "cut" in prepared.notes[0]


def test_analyze_gives_the_answer_attributions_and_latency(handlers):
    answer, html, status = handlers.analyze("the film is wonderful but the script is dull", "bilstm")
    assert 'class="answer answer-' in answer and "negative" in answer and "positive" in answer
    assert "ms" in status and "Occlusion" in status
    assert "wonderful" in html and 'class="attribution"' in html


def test_analyze_empty_text_shows_a_message_not_an_error(handlers):
    assert handlers.analyze("   ", "bilstm") == ("", "", "*Type or paste a review to analyse: the text is empty.*")


def test_html_in_the_text_is_shown_escaped(handlers):
    text = "<script>alert('x')</script> <b>great</b> film"
    _, shown, _ = handlers.analyze(text, "bilstm")
    assert "<script>" not in shown and "<b>" not in shown and "&lt;" in shown
    words = re.sub(r"<div class=\"attribution-legend\">.*", "", shown)
    assert html.unescape(re.sub(r"</?(span|div)[^>]*>", "", words)) == text


def test_occlusion_scores_point_the_right_way(service):
    predictor = service.predictor("bag-of-embeddings")
    explanation = explain(predictor, "the film is wonderful")
    scores = {word.text: word.score for word in explanation.words}
    assert scores["wonderful"] > 0.05 and scores["wonderful"] == max(scores.values())
    negative = {w.text: w.score for w in explain(predictor, "the film is dreadful").words}
    assert negative["dreadful"] < -0.05


def test_highlight_spans_cover_the_text_exactly(service):
    text = "The cast,  honestly, is SUPERB!"
    spans = highlight_spans(text, explain(service.predictor("bilstm"), text))
    assert "".join(piece for piece, _ in spans) == text
    assert all(-1 <= score <= 1 for _, score in spans if score is not None)


def test_highlights_html_shades_by_sign():
    html = highlights_html([("good", 1.0), (" ", None), ("bad", -0.5)])
    assert "rgba(22, 163, 74, 0.85)" in html and "rgba(220, 38, 38, 0.42)" in html


def test_compare_lists_every_model_and_notes_disagreement(handlers, service, monkeypatch):
    table, notes = handlers.compare("the film is wonderful")
    assert list(table["model"]) == service.model_names
    labels = {service.predict("the film is wonderful", name)[0].label for name in service.model_names}
    assert (notes == "- All 5 models agree.") == (len(labels) == 1)
    import torch

    class FixedLogits:
        def __init__(self, config, row):
            self.config, self.row = config, row

        def __call__(self, token_ids, lengths):
            return torch.tensor([self.row] * len(token_ids))

    for name, predictor in service.predictors.items():
        row = [9.0, -9.0] if name == "gru" else [-9.0, 9.0]
        monkeypatch.setattr(predictor, "runner", FixedLogits(predictor.model.config, row))
    _, notes = handlers.compare("the film is wonderful")
    assert "disagree" in notes and "gru says negative" in notes
    monkeypatch.undo()
    for predictor in service.predictors.values():
        monkeypatch.setattr(predictor, "runner", FixedLogits(predictor.model.config, [-9.0, 9.0]))
    _, notes = handlers.compare("the film is wonderful")
    assert notes == "- All 5 models agree."


def test_leaderboard_reads_metrics(handlers):
    board = handlers.leaderboard()
    assert set(board["model"]) == {"bilstm", "lstm", "gru", "simple-rnn", "bag-of-embeddings"}
    assert board["size on disk"].str.endswith("MB").all()
    assert set(board["distilled"]) == {"no"}  # the fixture's models had no teacher


def test_training_curves_have_every_model_and_whole_epoch_ticks(handlers):
    rows = handlers.service.training_curves()
    validation = [row for row in rows if row["metric"] == "validation accuracy"]
    assert {row["model"] for row in validation} == {"bilstm", "lstm", "gru", "simple-rnn", "bag-of-embeddings"}
    assert all(0 <= row["value"] <= 1 for row in validation)
    figure = validation_curves_figure(rows)
    figure.canvas.draw()
    ticks = [
        tick
        for tick in figure.axes[0].get_xticks()
        if figure.axes[0].get_xlim()[0] <= tick <= figure.axes[0].get_xlim()[1]
    ]
    assert ticks and all(float(tick).is_integer() for tick in ticks)


def test_batch_scoring_writes_a_csv_and_reports_accuracy(handlers, tmp_path):
    rows = [
        ("the film is wonderful", "positive"),
        ("the film is dreadful", "negative"),
        ("", "positive"),
        ("the story is superb", "1"),
    ]
    path = write_csv(tmp_path / "upload.csv", rows, header=("review", "sentiment"))
    columns, text_guess, label_guess, message = handlers.inspect_upload(str(path))
    assert (columns, text_guess, label_guess) == (["review", "sentiment"], "review", "sentiment")
    steps = []
    output, preview, accuracy, notes = handlers.score_file(
        str(path), "review", "sentiment", ALL_MODELS, progress=lambda f, desc: steps.append(f)
    )
    with open(output, newline="", encoding="utf-8") as handle:
        scored = list(csv.DictReader(handle))
    assert len(scored) == 4 and scored[0]["bilstm_label"] == "positive" and scored[2]["bilstm_label"] == ""
    assert set(accuracy["model"]) == {"bilstm", "lstm", "gru", "simple-rnn", "bag-of-embeddings"}
    assert steps[-1] == pytest.approx(1.0)
    assert "no text" in notes


def test_batch_with_one_model_and_no_labels(handlers, tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("the cast is charming\nits ending is dull\n")
    output, preview, accuracy, _ = handlers.score_file(str(path), "text", NO_LABEL_COLUMN, "gru")
    assert list(preview.columns) == ["text", "gru_label", "gru_verdict", "gru_positive_probability", "gru_unfamiliar"]
    assert accuracy.empty
    assert set(preview["gru_unfamiliar"]) == {""}  # two English sentences: nothing to flag


@pytest.mark.parametrize(
    "content, name, message",
    [
        ("review\nthe film\n", "a.csv", "no column 'text'"),
        (b"caf\xe9\n", "a.txt", "not valid UTF-8"),
        ("{not json}\n", "a.jsonl", "not valid JSON"),
        ("plain", "a.pdf", "Upload a"),
    ],
)
def test_bad_uploads_get_clear_messages(handlers, tmp_path, content, name, message):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    output, _, _, notes = handlers.score_file(str(path), "text", None, ALL_MODELS)
    assert output is None and message in notes


def test_api_predict_and_compare_return_plain_data(handlers):
    result = handlers.predict_sentiment("the film is wonderful")
    assert result["model"] == "bilstm" and result["label"] == "positive"
    json.dumps(result)
    compared = handlers.compare_models("the film is wonderful")
    assert len(compared["results"]) == 5 and isinstance(compared["agree"], bool)


def test_api_errors_are_gradio_errors(handlers):
    import gradio as gr

    with pytest.raises(gr.Error, match="empty"):
        handlers.predict_sentiment("")
    with pytest.raises(gr.Error, match="Unknown model"):
        handlers.predict_sentiment("good", "transformer")


def test_the_scored_csv_cannot_run_formulas_in_a_spreadsheet(service, tmp_path):
    """The attack (OWASP CSV injection): texts a spreadsheet would run as formulas."""
    attacks = [
        '=HYPERLINK("http://attacker.example","click")',
        "+cmd|' /C calc'!A0",
        "-2+3 the film",
        "@SUM(A1)",
        "\tthe film is wonderful",
        "\rthe film is dreadful",
        "the film is wonderful",
    ]
    path = write_csv(tmp_path / "attack.csv", [(text, 1) for text in attacks])
    result = service.score_file(path, "text", models=["gru"], output_dir=tmp_path)
    with open(result.output_path, newline="", encoding="utf-8") as handle:
        written = [row["text"] for row in csv.DictReader(handle)]
    assert written[:6] == ["'" + text for text in attacks[:6]]  # shown as text, never run
    assert written[6] == "the film is wonderful"  # other cells unchanged
