"""Gate traces and gradient flow through time, on trained models."""

from __future__ import annotations

import numpy as np
import pytest

from sentiment_app.inference.internals import gradient_flow, trace_network, word_level
from sentiment_app.inference.predictor import load_predictor

TEXT = "the film is wonderful but its ending is dull"


@pytest.mark.parametrize(
    "name, gates", [("lstm", {"forget", "input", "output"}), ("gru", {"update", "reset"}), ("simple-rnn", set())]
)
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
