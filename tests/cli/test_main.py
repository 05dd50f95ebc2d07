"""`sentiment`: one command lists every task and runs each subcommand; the old names still work."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import pytest

from sentiment_app.app.service import SentimentService
from sentiment_app.cli.main import SUBCOMMANDS, main


def test_help_lists_every_subcommand(capsys):
    assert main(["--help"]) == 0
    shown = capsys.readouterr().out
    for name, command in SUBCOMMANDS.items():
        assert f"  {name} " in shown and command.summary in shown


def test_an_unknown_or_missing_command_is_a_clear_error(capsys):
    assert main(["trian"]) == 2
    assert "unknown command 'trian'" in capsys.readouterr().err
    assert main([]) == 2


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_every_subcommand_has_help_with_its_own_name(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])
    assert exit_info.value.code == 0
    assert f"sentiment {name}" in capsys.readouterr().out


def test_predict_defaults_to_the_apps_default_model(trained_models, monkeypatch, capsys):
    monkeypatch.setenv("SENTIMENT_APP_MODELS", str(trained_models))
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"the film is wonderful\n")))
    assert main(["predict"]) == 0
    record = json.loads(capsys.readouterr().out)
    service = SentimentService.from_directory(trained_models)
    expected = service.predictors[service.default_model].predict(["the film is wonderful"])[0]
    assert service.default_model == "bilstm" and record["probabilities"] == expected.probabilities


def test_serve_accepts_a_single_model_directory(tiny_model_dir):
    service = SentimentService.from_directory(tiny_model_dir)
    assert service.model_names == [tiny_model_dir.name] and not service.load_errors


@pytest.mark.parametrize(
    "script",
    ["sentiment", "sentiment-app", "sentiment-predict", "sentiment-explain", "sentiment-train", "sentiment-teacher"],
)
def test_console_scripts_and_aliases_answer_help(script):
    if shutil.which(script) is None:
        pytest.skip(f"{script} is not installed (pip install -e .)")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_train_dry_run_through_the_console_script():
    if shutil.which("sentiment") is None:
        pytest.skip("sentiment is not installed (pip install -e .)")
    result = subprocess.run(
        ["sentiment", "train", "--recipe", "bilstm", "--dry-run"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["resolved"]["training"]["candidates"] == 4


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (BrokenPipeError(32, "Broken pipe"), "sentiment compare: error: the output was closed before the last record"),
        (OSError(28, "No space left on device"), "sentiment compare: error: cannot write the output: No space left"),
    ],
    ids=["closed pipe", "full disk"],
)
def test_an_output_failure_a_command_leaves_uncaught_is_one_line(monkeypatch, capsys, error, expected):
    def fails(argv):
        raise error

    monkeypatch.setattr("training.evaluation.compare.main", fails)
    monkeypatch.setattr("sentiment_app.cli.output.silence_stdout", lambda: None)  # keep pytest's stdout
    assert main(["compare", "runs"]) == 1
    assert capsys.readouterr().err.strip().startswith(expected)
