"""sentiment predict: stdin, .txt, .csv and .jsonl in; JSON Lines out, one record per input line, in order."""

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
    assert "\u2028" not in text and "\u2029" not in text and "\x85" not in text  # escaped for line readers
    return [json.loads(line) for line in text.split("\n") if line]


def test_standard_input_one_text_per_line(tiny_model_dir, capsys, monkeypatch):
    code, out, _ = run(
        ["--model", str(tiny_model_dir)],
        capsys,
        stdin="the film is wonderful\n\nthis movie is dreadful\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0
    rows = records(out)
    assert [r["text"] for r in rows] == ["the film is wonderful", "", "this movie is dreadful"]
    assert [r["label"] for r in rows] == ["positive", None, "negative"]
    assert rows[1]["error"] == "empty text: nothing to classify"  # output line N is input line N
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


def test_lines_are_split_only_where_the_user_split_them(tiny_model_dir, capsys, monkeypatch):
    """The attack: Unicode line ends, a form feed and a blank line in five input lines."""
    stdin = b"good film\nbad\xc2\x85film\nnice\xe2\x80\xa8movie\n\ngreat\x0cfun\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    assert main(["--model", str(tiny_model_dir)]) == 0
    rows = records(capsys.readouterr().out)
    assert [r["text"] for r in rows] == ["good film", "bad\x85film", "nice\u2028movie", "", "great\x0cfun"]


def test_jsonl_with_a_raw_line_separator_inside_a_string_is_read(tiny_model_dir, tmp_path, capsys):
    path = tmp_path / "texts.jsonl"
    path.write_text(json.dumps({"text": "a fine\u2028film"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["--model", str(tiny_model_dir), "--input", str(path)]) == 0
    assert [r["text"] for r in records(capsys.readouterr().out)] == ["a fine\u2028film"]


def test_empty_input_says_so_and_leaves_an_existing_output_alone(tiny_model_dir, tmp_path, capsys, monkeypatch):
    output = tmp_path / "scored.jsonl"
    output.write_text("earlier results\n")
    code, out, err = run(["--model", str(tiny_model_dir), "--output", str(output)], capsys, "", monkeypatch)
    assert code == 2 and "no input: standard input holds no text" in err
    assert output.read_text() == "earlier results\n"


def test_an_overlong_or_undecodable_line_gets_its_own_error_record(tiny_model_dir, capsys, monkeypatch):
    stdin = b"ok film\n" + b"a" * (2 * 1024 * 1024) + b"\nbad \xe9 byte\nlast film\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    assert main(["--model", str(tiny_model_dir)]) == 0
    rows = records(capsys.readouterr().out)
    assert [r["text"] for r in rows] == ["ok film", None, None, "last film"]
    assert rows[1]["error"] == "line 2 is longer than 1 MiB: not read"
    assert rows[2]["error"] == "line 3 is not valid UTF-8 (byte 0xe9 at column 5)"


def peak_rss_of_predict(model_dir, blocks: int, block: bytes) -> tuple[list[dict], int]:
    """Run `sentiment predict` on `blocks` copies of `block`; its records and its peak RSS in MiB."""
    script = (  # VmHWM: this process's own peak since exec (ru_maxrss also counts the forked parent's)
        "import re, sys; from sentiment_app.cli.predict import main; code = main(sys.argv[1:]); "
        "status = open('/proc/self/status').read(); "
        "print(int(re.search(r'VmHWM:\\s+(\\d+)', status).group(1)) // 1024, file=sys.stderr); sys.exit(code)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script, "--model", str(model_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    for _ in range(blocks):
        process.stdin.write(block)
    process.stdin.close()
    out, err = process.stdout.read(), process.stderr.read()
    assert process.wait(timeout=300) == 0, err
    return [json.loads(line) for line in out.splitlines()], int(err.split()[-1])


@pytest.mark.slow
def test_a_huge_line_on_standard_input_is_streamed_in_bounded_memory(tiny_model_dir):
    """The attack: 256 MiB without a newline; the reader never holds more than one bounded line."""
    _, baseline_mib = peak_rss_of_predict(tiny_model_dir, 1, b"the film is wonderful\n")
    rows, peak_mib = peak_rss_of_predict(tiny_model_dir, 256, b"\0" * (1024 * 1024))
    assert [row["error"] for row in rows] == ["line 1 is longer than 1 MiB: not read"]
    assert peak_mib - baseline_mib < 64, f"peak RSS {peak_mib} MiB against {baseline_mib} MiB for one short line"


def test_a_closed_pipe_and_a_full_disk_end_in_one_line_and_a_failure(tiny_model_dir):
    command = [sys.executable, "-m", "sentiment_app.cli.predict", "--model", str(tiny_model_dir)]
    reader = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    reader.stdin.write(b"the film is wonderful\n" * 2000)  # fits the pipe; the output does not
    reader.stdin.close()
    reader.stdout.readline()
    reader.stdout.close()  # as `| head -1` does
    assert reader.wait(timeout=120) == 1
    assert reader.stderr.read().decode().strip().splitlines() == [
        "sentiment predict: error: the output was closed before the last record"
    ]
    with open("/dev/full", "w") as full:
        result = subprocess.run(command, input=b"good\n", stdout=full, stderr=subprocess.PIPE, timeout=120)
    assert result.returncode == 1
    assert (
        result.stderr.decode().strip() == "sentiment predict: error: cannot write the output: No space left on device"
    )
