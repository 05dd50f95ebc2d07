"""sentiment-predict: stdin, .txt, .csv and .jsonl in; JSON Lines out, in order."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from sentiment_app.cli.predict import main
from tests.helpers import write_csv


def run(argv, capsys, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8"))))
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_standard_input_one_text_per_line(tiny_model_dir, capsys, monkeypatch):
    code, out, _ = run(
        ["--model", str(tiny_model_dir)],
        capsys,
        stdin="the film is wonderful\n\nthis movie is dreadful\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0
    rows = records(out)
    assert [r["text"] for r in rows] == ["the film is wonderful", "this movie is dreadful"]
    assert [r["label"] for r in rows] == ["positive", "negative"]
    assert set(rows[0]["probabilities"]) == {"negative", "positive"}


def test_txt_file_to_output_file(tiny_model_dir, tmp_path, capsys):
    source = tmp_path / "texts.txt"
    source.write_text("the cast is superb\nthe script is clumsy\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"
    code, out, _ = run(["--model", str(tiny_model_dir), "--input", str(source), "--output", str(output)], capsys)
    assert code == 0 and out == ""
    assert [r["label"] for r in records(output.read_text())] == ["positive", "negative"]


def test_csv_with_a_named_column_and_an_empty_row(tiny_model_dir, tmp_path, capsys):
    source = write_csv(
        tmp_path / "reviews.csv",
        [("1", "the story is moving"), ("2", ""), ("3", "its ending is dull")],
        header=("id", "review"),
    )
    code, out, _ = run(["--model", str(tiny_model_dir), "--input", str(source), "--text-column", "review"], capsys)
    rows = records(out)
    assert code == 0 and len(rows) == 3
    assert rows[0]["label"] == "positive" and rows[2]["label"] == "negative"
    assert rows[1]["label"] is None and "empty" in rows[1]["error"]


def test_jsonl_input(tiny_model_dir, tmp_path, capsys):
    source = tmp_path / "reviews.jsonl"
    source.write_text('{"text": "the film is brilliant"}\n{"text": "the film is tedious"}\n')
    code, out, _ = run(["--model", str(tiny_model_dir), "--input", str(source)], capsys)
    assert code == 0 and [r["label"] for r in records(out)] == ["positive", "negative"]


def test_missing_column_is_a_clear_error(tiny_model_dir, tmp_path, capsys):
    source = write_csv(tmp_path / "reviews.csv", [("the film is great",)], header=("review",))
    code, out, err = run(["--model", str(tiny_model_dir), "--input", str(source)], capsys)
    assert code == 2 and out == ""
    assert "no column 'text'; columns are 'review'" in err and "Traceback" not in err


def test_invalid_utf8_is_a_clear_error(tiny_model_dir, tmp_path, capsys):
    source = tmp_path / "texts.txt"
    source.write_bytes(b"caf\xe9 is great\n")
    code, _, err = run(["--model", str(tiny_model_dir), "--input", str(source)], capsys)
    assert code == 2 and "not valid UTF-8" in err


def test_unknown_model_is_a_clear_error(capsys, tmp_path):
    code, _, err = run(["--model", str(tmp_path / "nope")], capsys)
    assert code == 2 and "no such model directory" in err


@pytest.mark.parametrize("script", ["sentiment-predict", "sentiment-train"])
def test_console_scripts_are_installed_and_document_themselves(script):
    result = subprocess.run([script, "--help"], capture_output=True, text=True, check=True)
    assert "--model" in result.stdout and "examples:" in result.stdout


def test_console_script_end_to_end(tiny_model_dir):
    result = subprocess.run(
        ["sentiment-predict", "--model", str(tiny_model_dir)],
        input="the film is superb\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout)["label"] == "positive"
