"""How much of the final state's gradient reaches each earlier state of a recurrent layer.

For a layer run over inputs x_1 .. x_T, the measure at distance k = T - t is

    g(k) = E_v || d(v . h_T) / d s_t ||      v uniform on the unit sphere, one per sequence

where s_t is the recurrent state at step t: h_t for the Elman RNN and the GRU, (h_t, c_t) for the
LSTM. E_v ||v^T J||^2 = ||J||_F^2 / hidden, so g is the root-mean-square singular value of the
Jacobian d h_T / d s_t; one backward pass gives it for every t. g(0) is 1, but for the LSTM,
whose h_T = o_T * tanh(c_T) also depends on c_T, it is a little more. For the Elman RNN,
h_t = tanh(W_h x_t + U_h h_{t-1} + b_h), the chain rule bounds it:

    || d h_T / d h_t || <= prod_j || diag(tanh'_j) U_h || <= (sigma_max(U_h) * max tanh')^k

and the first bound guarantees the decay once sigma_max(U_h) * max tanh' < 1 (Pascanu et al. 2013).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

CELLS_OF_LAYERS: dict[type[nn.RNNBase], type[nn.RNNCellBase]] = {
    nn.RNN: nn.RNNCell,
    nn.LSTM: nn.LSTMCell,
    nn.GRU: nn.GRUCell,
}


def stepping_cell(layer: nn.RNNBase) -> nn.RNNCellBase:
    """A float64 cell with a one-layer, one-direction layer's weights, to step it by hand."""
    options = {"nonlinearity": layer.nonlinearity} if isinstance(layer, nn.RNN) else {}
    cell = CELLS_OF_LAYERS[type(layer)](layer.input_size, layer.hidden_size, **options)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(layer, f"{name}_l0"))
    return cell.double()


def state_gradient_norms(layer: nn.RNNBase, inputs: torch.Tensor, seed: int = 0) -> dict[str, Any]:
    """g(k) for k = 0 .. T - 1 (the mean over the sequences) and the hidden states seen.

    inputs: (batch, T, input_size), the layer's input (embedded tokens); float64 throughout, so
    that a gradient of 1e-100 is measured rather than rounded to zero."""
    cell = stepping_cell(layer)
    inputs = inputs.detach().double()
    batch, steps, _ = inputs.shape
    hidden = torch.zeros(batch, layer.hidden_size, dtype=torch.float64)  # (batch, hidden)
    memory = torch.zeros_like(hidden) if isinstance(layer, nn.LSTM) else None
    states: list[tuple[torch.Tensor, ...]] = []  # per step: h_t (and c_t)
    for step in range(steps):
        if memory is None:
            hidden = cell(inputs[:, step], hidden)
            state: tuple[torch.Tensor, ...] = (hidden,)
        else:
            hidden, memory = cell(inputs[:, step], (hidden, memory))
            state = (hidden, memory)
        for part in state:
            part.retain_grad()
        states.append(state)
    generator = torch.Generator().manual_seed(seed)
    probe = torch.randn(batch, layer.hidden_size, generator=generator, dtype=torch.float64)
    probe = probe / probe.norm(dim=1, keepdim=True)  # (batch, hidden): unit vectors v
    (probe * hidden).sum().backward()
    norms = []
    for state in reversed(states):  # distance 0, 1, ..., T - 1
        squares = sum((part.grad**2).sum(dim=1) for part in state if part.grad is not None)  # (batch,)
        norms.append(float(torch.as_tensor(squares).sqrt().mean()))
    observed = torch.stack([state[0].detach() for state in states], dim=1)  # (batch, T, hidden)
    return {"norms": norms, "states": observed}


def elman_bound(layer: nn.RNN, states: torch.Tensor, distances: int) -> dict[str, Any]:
    """The two bounds on g(k) for k = 0 .. distances - 1, from the observed states (batch, T, hidden):
    (sigma_max(U_h) * max tanh')^k with max tanh' = max(1 - h^2) over all of them, and the
    tighter mean over sequences of prod_j || diag(1 - h_j^2) U_h || over the last k steps."""
    recurrent = layer.weight_hh_l0.detach().double()  # U_h, (hidden, hidden)
    states = states.double()
    sigma_max = float(torch.linalg.matrix_norm(recurrent, ord=2))
    max_slope = float((1 - states**2).max())
    factor = sigma_max * max_slope
    # || d h_j / d h_{j-1} || = || diag(1 - h_j^2) U_h || for every sequence and step
    step_norms = torch.linalg.matrix_norm((1 - states**2)[..., None] * recurrent, ord=2)  # (batch, T)
    newest_first = step_norms.flip(1)[:, : distances - 1]  # (batch, distances - 1)
    products = torch.cat([torch.ones(len(states), 1, dtype=torch.float64), newest_first.cumprod(dim=1)], dim=1)
    return {
        "sigma_max": sigma_max,
        "max_tanh_derivative": max_slope,
        "factor": factor,
        "norms": [factor**k for k in range(distances)],
        "step_product_norms": products.mean(dim=0).tolist(),
    }


def decay_per_step(norms: list[float], floor: float = 1e-280) -> float:
    """exp of the least-squares slope of log g(k) over k >= 1: the factor g shrinks by per step."""
    points = [(k, math.log(value)) for k, value in enumerate(norms) if k >= 1 and value > floor]
    if len(points) < 2:
        return 0.0
    mean_k = sum(k for k, _ in points) / len(points)
    mean_log = sum(log for _, log in points) / len(points)
    slope = sum((k - mean_k) * (log - mean_log) for k, log in points) / sum((k - mean_k) ** 2 for k, _ in points)
    return math.exp(slope)


def measured(layer: nn.RNNBase, inputs: torch.Tensor, seed: int = 0) -> dict[str, Any]:
    """g(k), its decay per step and, for the Elman RNN, the bound beside it (JSON-ready)."""
    result = state_gradient_norms(layer, inputs, seed)
    record: dict[str, Any] = {"norms": result["norms"], "decay_per_step": decay_per_step(result["norms"])}
    if isinstance(layer, nn.RNN):
        record["bound"] = elman_bound(layer, result["states"], len(result["norms"]))
    return record
