"""`sentiment explain`: tokens, attributions, gate traces and gradient norms as JSON."""

from __future__ import annotations

import json
import subprocess

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
