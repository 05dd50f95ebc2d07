"""Bad input through every entry point: a correct result or a clear message, never a traceback."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from sentiment_app import load_predictor
from sentiment_app.app.handlers import ALL_MODELS, Handlers
from sentiment_app.app.service import SentimentService
from sentiment_app.cli.predict import main as predict_main
from sentiment_app.limits import MAX_TEXT_CHARS, MAX_UPLOAD_ROWS

ONE_MEGABYTE = "a wonderful film " * (1024 * 1024 // 17)
ODD_TEXTS = {
    "one megabyte": ONE_MEGABYTE,
    "one 200,000-character word": "x" * 200_000,
    "null bytes and controls": "great\x00 film\x07\x1b[31m!",
    "emoji": "🎬🍿 loved it 😍",
    "CJK": "这部电影非常好看",
    "right to left": "הסרט היה נפלא ومذهل",
    "HTML and script": "<script>alert('x')</script><b>great</b>",
}


@pytest.fixture(scope="module")
def handlers(trained_models):
    return Handlers(SentimentService.from_directory(trained_models))


@pytest.mark.parametrize("name", sorted(ODD_TEXTS))
def test_python_api_scores_odd_texts(tiny_model_dir, name):
    prediction = load_predictor(tiny_model_dir).predict([ODD_TEXTS[name]])[0]
    assert prediction.label in ("negative", "positive")
    assert abs(sum(prediction.probabilities.values()) - 1) < 1e-6


@pytest.mark.parametrize("name", sorted(ODD_TEXTS))
def test_ui_handlers_score_odd_texts(handlers, name):
    answer, html, status = handlers.analyze(ODD_TEXTS[name], "bilstm")
    assert 'class="answer answer-' in answer and "Traceback" not in status
    if len(ODD_TEXTS[name]) > MAX_TEXT_CHARS:
        assert "cut to its first" in status
    table, notes = handlers.compare(ODD_TEXTS[name])
    assert len(table) == 5


@pytest.mark.parametrize("name", sorted(ODD_TEXTS))
def test_predict_cli_scores_odd_texts(tiny_model_dir, name, capsys, monkeypatch):
    text = ODD_TEXTS[name].replace("\n", " ")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((text + "\n").encode("utf-8"))))
    assert predict_main(["--model", str(tiny_model_dir)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["label"] in ("negative", "positive") and record["text"] == text


def test_whitespace_only_text_through_the_cli_gets_an_error_record_per_line(tiny_model_dir, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"   \n\t\n")))
    assert predict_main(["--model", str(tiny_model_dir)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(row["text"], row["label"], row["error"]) for row in rows] == [
        ("   ", None, "empty text: nothing to classify"),
        ("\t", None, "empty text: nothing to classify"),
    ]
    assert all({"verdict", "unfamiliar", "probabilities"} <= set(row) for row in rows)  # one record shape


@pytest.mark.slow
def test_a_hundred_thousand_row_upload_is_scored(handlers, tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for index in range(MAX_UPLOAD_ROWS):
            writer.writerow([f"the film is {'wonderful' if index % 2 else 'dreadful'} {index}", index % 2])
    output, preview, accuracy, notes = handlers.score_file(str(path), "text", "label", "bag-of-embeddings")
    assert output is not None and f"Scored {MAX_UPLOAD_ROWS:,} rows" in notes
    with open(output, encoding="utf-8") as handle:
        assert sum(1 for _ in handle) == MAX_UPLOAD_ROWS + 1
    assert accuracy["rows"].iloc[0] == MAX_UPLOAD_ROWS


def test_one_row_over_the_limit_gets_a_clear_message(handlers, tmp_path):
    path = tmp_path / "too_big.txt"
    path.write_text("good film\n" * (MAX_UPLOAD_ROWS + 1))
    output, _, _, notes = handlers.score_file(str(path), "text", None, ALL_MODELS)
    assert output is None and f"the limit is {MAX_UPLOAD_ROWS:,}" in notes


def test_mixed_and_unknown_labels_in_an_upload_are_counted_out(handlers, tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("text,label\nthe film is wonderful,positive\nthe film is dreadful,0\nmeh,neutral\n")
    _, _, accuracy, notes = handlers.score_file(str(path), "text", "label", "gru")
    assert accuracy["rows"].iloc[0] == 2 and "not 0/1 or negative/positive" in notes


def test_an_empty_file_and_a_header_only_csv(handlers, tmp_path):
    for name, content in (("empty.txt", ""), ("header.csv", "text,label\n")):
        path = tmp_path / name
        path.write_text(content)
        output, _, _, notes = handlers.score_file(str(path), "text", None, ALL_MODELS)
        assert output is None and "no rows" in notes
