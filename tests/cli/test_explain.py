"""`sentiment explain`: tokens, attributions, gate traces and gradient norms as JSON."""

from __future__ import annotations

import json
import subprocess
import sys

from sentiment_app.cli.explain import main as explain_main
from sentiment_app.inference.predictor import load_predictor

TEXT = "the film is wonderful but its ending is dull"


def test_explain_cli_prints_tokens_attributions_gates_and_gradients(tiny_model_dir, capsys):
    assert explain_main(["--model", str(tiny_model_dir), TEXT]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["label"] in ("negative", "positive")
    assert [t["token"] for t in record["tokens"]] and all(t["gradient_norm"] > 0 for t in record["tokens"])
    assert all(-1 <= t["attribution"] <= 1 for t in record["tokens"])
    read_ids = load_predictor(tiny_model_dir).encoder.encode([TEXT])[0].ids
    assert len(record["tokens"]) == len(read_ids)  # one attribution per token the model read
    assert [a["word"] for a in record["attributions"]] == TEXT.split()
    assert record["gate_traces"][0]["gate_means"]["forget"]
    assert len(record["gate_traces"]) == 2  # bidirectional


def test_explain_cli_full_and_errors(tiny_model_dir, capsys, tmp_path):
    assert explain_main(["--model", str(tiny_model_dir), "--full", "great"]) == 0
    assert "hidden" in json.loads(capsys.readouterr().out)["gate_traces"][0]
    assert explain_main(["--model", str(tiny_model_dir), "   "]) == 2
    assert "empty" in capsys.readouterr().err
    assert explain_main(["--model", str(tmp_path / "none"), "good"]) == 2


def test_explain_console_script_help():
    result = subprocess.run(["sentiment-explain", "--help"], capture_output=True, text=True, check=True)
    assert "--model" in result.stdout and "gradient" in result.stdout


def test_bad_arguments_a_closed_pipe_and_a_full_disk_end_in_one_line(tiny_model_dir):
    command = [sys.executable, "-m", "sentiment_app.cli.explain", "--model", str(tiny_model_dir)]
    not_utf8 = subprocess.run([*command, b"caf\xe9 good"], capture_output=True, timeout=120)
    assert not_utf8.returncode == 2
    assert not_utf8.stderr.decode().strip() == (
        "sentiment explain: error: the text is not valid UTF-8 (byte 0xe9 at offset 3)"
    )
    reader = subprocess.Popen(
        [*command, "--full", "the film is wonderful " * 40], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    reader.stdout.read(10)
    reader.stdout.close()  # as `| head -c 10` does
    assert reader.wait(timeout=120) == 1
    assert reader.stderr.read().decode().strip().splitlines() == [
        "sentiment explain: error: the output was closed before the last record"
    ]
    with open("/dev/full", "w") as full:
        result = subprocess.run([*command, "good"], stdout=full, stderr=subprocess.PIPE, timeout=120)
    assert result.returncode == 1
    assert (
        result.stderr.decode().strip() == "sentiment explain: error: cannot write the output: No space left on device"
    )


def test_explain_carries_the_units_their_matches_and_an_ablation(tiny_model_dir, capsys):
    text = "the film is wonderful and the cast is charming"
    code = explain_main(
        ["--model", str(tiny_model_dir), "--span", "is wonderful", "--threshold", "-0.9", "--ablate", "0,1,2", text]
    )
    record = json.loads(capsys.readouterr().out)
    assert code == 0
    assert record["units"]["span_tokens"] == ["is", "wonderful"] and record["units"]["matches"]
    assert record["units"]["sentiment_units"] and record["ablation"]["units"] == [0, 1, 2]
    assert set(record["ablation"]["after"]) == {"label", "probabilities"}
    assert explain_main(["--model", str(tiny_model_dir), "--ablate", "x,y", text]) == 2
    assert "--ablate takes unit numbers" in capsys.readouterr().err


def test_explain_carries_the_verdict_and_refuses_units_of_a_model_without_them(trained_models, capsys):
    assert explain_main(["--model", str(trained_models / "lstm"), TEXT]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["verdict"] == record["label"] and record["unfamiliar"] is None
    assert explain_main(["--model", str(trained_models / "bag-of-embeddings"), "--span", "dull", TEXT]) == 2
    assert "no recurrent units" in capsys.readouterr().err
