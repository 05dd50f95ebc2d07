"""The written-out equations reproduce torch's fused RNN, LSTM and GRU, and backpropagation
through time over them matches autograd."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from sentiment_app.config import preset
from sentiment_app.inference.predictor import load_predictor
from sentiment_app.models.cells import LayerWeights, reference_forward, run_direction
from sentiment_app.models.classifiers import build_model
from sentiment_app.tokenization import pad_batch

TORCH_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_written_out_cell_matches_torch_on_random_weights(cell):
    torch.manual_seed(0)
    module = TORCH_LAYERS[cell](input_size=7, hidden_size=5, batch_first=True)
    inputs = torch.randn(3, 11, 7)
    with torch.no_grad():
        expected, _ = module(inputs)
        trace = run_direction(inputs, LayerWeights.from_module(module, cell))
    assert (trace.hidden - expected).abs().max() <= 1e-5


@pytest.mark.parametrize(
    "name, changes",
    [
        ("simple-rnn", {}),
        ("lstm", {}),
        ("gru", {}),
        ("bilstm", {"num_layers": 2}),
        ("gru", {"bidirectional": True, "pooling": "mean"}),
        ("simple-rnn", {"pooling": "max"}),
    ],
)
def test_reference_forward_matches_the_classifier(name, changes):
    torch.manual_seed(1)
    config = dataclasses.replace(preset(name), vocab_size=40, embedding_dim=8, hidden_dim=6, **changes)
    model = build_model(config).eval()
    batch = pad_batch([[3, 4, 5, 6, 7, 8, 9], [10, 11], [12, 13, 14, 15]], padding_id=0)
    with torch.no_grad():
        expected = model(batch.token_ids, batch.lengths)
        reference = reference_forward(model, batch.token_ids, batch.lengths)
    assert (reference.logits - expected).abs().max() <= 1e-5


@pytest.mark.parametrize("name", ["simple-rnn", "lstm", "bilstm", "gru"])
def test_reference_forward_matches_the_trained_models(trained_models, name):
    predictor = load_predictor(trained_models / name)
    ids, _ = predictor.encode(["the film is wonderful from start to finish", "its ending is dull"])
    batch = pad_batch(ids, predictor.encoder.padding_id)
    with torch.no_grad():
        expected = predictor.model(batch.token_ids, batch.lengths)
        reference = reference_forward(predictor.model, batch.token_ids, batch.lengths)
    assert (reference.logits - expected).abs().max() <= 1e-5


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_backpropagation_through_time_over_the_equations_matches_autograd(cell):
    """gradcheck compares autograd's gradients with finite differences in float64."""
    torch.manual_seed(2)
    module = TORCH_LAYERS[cell](input_size=3, hidden_size=4, batch_first=True).double()
    weights = LayerWeights.from_module(module, cell)
    W, U, b_input, b_hidden = (
        p.detach().clone().requires_grad_(True) for p in (weights.W, weights.U, weights.b_input, weights.b_hidden)
    )
    inputs = torch.randn(2, 6, 3, dtype=torch.float64, requires_grad=True)

    def final_state(inputs, W, U, b_input, b_hidden):
        return run_direction(inputs, LayerWeights(cell, W, U, b_input, b_hidden)).hidden[:, -1]

    assert torch.autograd.gradcheck(final_state, (inputs, W, U, b_input, b_hidden), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradients_through_the_equations_equal_torch_kernel_gradients(cell):
    torch.manual_seed(3)
    module = TORCH_LAYERS[cell](input_size=3, hidden_size=4, batch_first=True).double()
    inputs = torch.randn(2, 9, 3, dtype=torch.float64, requires_grad=True)
    expected, _ = module(inputs)
    (grad_kernel,) = torch.autograd.grad(expected[:, -1].sum(), inputs)
    ours = run_direction(inputs, LayerWeights.from_module(module, cell)).hidden[:, -1]
    (grad_ours,) = torch.autograd.grad(ours.sum(), inputs)
    assert (grad_ours - grad_kernel).abs().max() <= 1e-10


def test_lstm_trace_records_gates_in_range():
    torch.manual_seed(4)
    module = nn.LSTM(5, 4, batch_first=True)
    with torch.no_grad():
        trace = run_direction(torch.randn(1, 8, 5), LayerWeights.from_module(module, "lstm"))
    for gate in ("input", "forget", "output"):
        assert trace.gates[gate].shape == (1, 8, 4)
        assert 0 <= float(trace.gates[gate].min()) and float(trace.gates[gate].max()) <= 1
    assert trace.cell.shape == (1, 8, 4)
