"""Gate traces, gradient flow, the long-range experiment and the sentiment-explain CLI."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from sentiment_app.explain_cli import main as explain_main
from sentiment_app.inference import load_predictor
from sentiment_app.internals import gradient_flow, trace_network, word_level
from training.long_range import main as long_range_main, make_split

TEXT = "the film is wonderful but its ending is dull"


@pytest.mark.parametrize("name, gates", [("lstm", {"forget", "input", "output"}),
                                         ("gru", {"update", "reset"}), ("simple-rnn", set())])
def test_traces_have_the_cells_gates_per_token(trained_models, name, gates):
    predictor = load_predictor(trained_models / name)
    trace = trace_network(predictor, TEXT)
    assert len(trace.directions) == 1 and set(trace.directions[0].gates) == gates
    direction = trace.directions[0]
    assert direction.hidden.shape == (len(trace.tokens), predictor.model.config.hidden_dim)
    for values in direction.gates.values():
        assert values.shape == direction.hidden.shape and values.min() >= 0 and values.max() <= 1
    assert (direction.cell_state is not None) == (name == "lstm")


def test_bidirectional_trace_aligns_the_backward_direction_with_the_text(trained_models):
    """At text position t the right-to-left state has read tokens t..end: it equals the fused
    kernel's backward output flipped back into text order."""
    import torch

    predictor = load_predictor(trained_models / "bilstm")
    trace = trace_network(predictor, TEXT)
    assert [d.direction for d in trace.directions] == ["left to right", "right to left"]
    ids, _ = predictor.encode([TEXT])
    model = predictor.model
    with torch.no_grad():
        embedded = model.embedding(torch.tensor(ids))
        model_layers = model.layers
        forward_states, _ = model_layers[0][0](embedded)
        backward_states, _ = model_layers[0][1](embedded.flip(1))
    np.testing.assert_allclose(trace.directions[0].hidden, forward_states[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(trace.directions[1].hidden, backward_states[0].flip(0).numpy(), atol=1e-5)


def test_bag_of_embeddings_has_no_trace(trained_models):
    trace = trace_network(load_predictor(trained_models / "bag-of-embeddings"), TEXT)
    assert trace.cell == "bag" and trace.directions == []


def test_gradient_flow_has_a_positive_norm_per_token(trained_models):
    flow = gradient_flow(load_predictor(trained_models / "lstm"), TEXT)
    assert len(flow.norms) == len(flow.tokens) > 5 and all(n > 0 for n in flow.norms)
    words, norms = word_level(flow, TEXT)
    assert words == TEXT.split() and all(n > 0 for n in norms)


def test_gradient_flow_matches_finite_differences(trained_models):
    """The reported norm is the real gradient: nudging the most important token's embedding
    along its gradient raises the loss by about norm * step."""
    import torch

    predictor = load_predictor(trained_models / "gru")
    flow = gradient_flow(predictor, TEXT, target="positive")
    ids, _ = predictor.encode([TEXT])
    token = int(np.argmax(flow.norms))
    model = predictor.model
    embedded = model.embedding(torch.tensor([ids[0]])).detach().requires_grad_(True)
    lengths = torch.tensor([len(ids[0])])
    loss = torch.nn.functional.cross_entropy(model.forward_embedded(embedded, lengths), torch.tensor([1]))
    (gradient,) = torch.autograd.grad(loss, embedded)
    direction = gradient[0, token] / gradient[0, token].norm()
    step = 1e-3
    nudged = embedded.detach().clone()
    nudged[0, token] += step * direction
    with torch.no_grad():
        raised = torch.nn.functional.cross_entropy(model.forward_embedded(nudged, lengths), torch.tensor([1]))
    assert float(raised - loss.detach()) / step == pytest.approx(flow.norms[token], rel=0.05)


def test_synthetic_long_range_task_puts_the_label_in_the_first_token():
    split = make_split(50, distance=7, rng=np.random.default_rng(0))
    for ids, label in zip(split.id_lists, split.labels):
        assert len(ids) == 8 and ids[0] == (1 if label == 1 else 2) and min(ids[1:]) >= 3


def test_long_range_quick_run_writes_json_and_plot(tmp_path, capsys):
    assert long_range_main(["--quick", "--out", str(tmp_path / "lr")]) == 0
    result = json.loads((tmp_path / "lr.json").read_text())
    assert set(result["summary"]) == {"simple-rnn", "lstm", "gru"}
    assert (tmp_path / "lr.png").read_bytes()[:4] == b"\x89PNG"


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
