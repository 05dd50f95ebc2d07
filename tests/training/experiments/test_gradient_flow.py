"""The gradient-decay measure on layers whose Jacobians are known in closed form."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from training.experiments.gradient_flow import decay_per_step, elman_bound, measured, state_gradient_norms

HIDDEN, STEPS = 4, 25


def elman(recurrent: torch.Tensor, input_weights: float = 0.0) -> nn.RNN:
    layer = nn.RNN(3, HIDDEN, batch_first=True)
    with torch.no_grad():
        layer.weight_hh_l0.copy_(recurrent)
        layer.weight_ih_l0.fill_(input_weights)
        layer.bias_ih_l0.zero_()
        layer.bias_hh_l0.zero_()
    return layer


def test_an_elman_rnn_with_half_the_identity_loses_half_the_gradient_per_step():
    # zero inputs keep h at 0, where tanh' = 1: d h_T / d h_t = (0.5 I)^(T - t)
    result = measured(elman(0.5 * torch.eye(HIDDEN)), torch.randn(6, STEPS, 3))
    expected = [0.5**k for k in range(STEPS)]
    assert result["norms"] == pytest.approx(expected, rel=1e-9)
    assert result["decay_per_step"] == pytest.approx(0.5, rel=1e-9)
    assert result["bound"]["factor"] == pytest.approx(0.5)  # the bound is tight here
    assert result["bound"]["norms"] == pytest.approx(expected, rel=1e-9)


def test_the_measured_elman_gradient_never_exceeds_either_bound():
    torch.manual_seed(0)
    layer = elman(torch.randn(HIDDEN, HIDDEN), input_weights=0.7)
    inputs = torch.randn(8, STEPS, 3)
    result = state_gradient_norms(layer, inputs)
    bound = elman_bound(layer, result["states"], STEPS)
    assert bound["factor"] > 1  # a random U_h: the closed-form bound grows
    for k, value in enumerate(result["norms"]):
        assert value <= bound["step_product_norms"][k] * (1 + 1e-9) <= bound["norms"][k] * (1 + 1e-9)
    assert result["norms"][-1] < 1e-3 * bound["norms"][-1]  # and it is far from tight


def closed_lstm(forget_bias: float) -> nn.LSTM:
    """No weights; input gate shut (c stays 0, tanh'(c) = 1), output gate open, forget bias given."""
    layer = nn.LSTM(3, HIDDEN, batch_first=True)
    with torch.no_grad():
        for parameter in layer.parameters():
            parameter.zero_()
        layer.bias_ih_l0[:HIDDEN] = -20.0  # input gate
        layer.bias_ih_l0[HIDDEN : 2 * HIDDEN] = forget_bias
        layer.bias_ih_l0[3 * HIDDEN :] = 20.0  # output gate
    return layer


@pytest.mark.parametrize("forget_bias, flat", [(10.0, True), (0.0, False)])
def test_an_lstm_keeps_the_gradient_as_its_forget_gate_keeps_the_cell(forget_bias, flat):
    # d(v . h_T) / d c_t = v * o * tanh'(c_T) * f^(T - t), and nothing flows through h_t
    result = measured(closed_lstm(forget_bias), torch.randn(5, STEPS, 3))
    forget, output = 1 / (1 + math.exp(-forget_bias)), 1 / (1 + math.exp(-20.0))
    assert result["norms"][1:] == pytest.approx([output * forget**k for k in range(1, STEPS)], rel=1e-6)
    assert (min(result["norms"]) > 0.99) == flat
    assert result["decay_per_step"] == pytest.approx(forget, rel=1e-6)
    assert "bound" not in result


def test_the_decay_per_step_of_a_geometric_series_is_its_ratio_and_of_zeros_is_zero():
    assert decay_per_step([0.9**k for k in range(40)]) == pytest.approx(0.9)
    assert decay_per_step([1.0] + [0.0] * 10) == 0.0
