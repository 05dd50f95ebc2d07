"""The seed's equations written out in plain tensor code, run with a trained model's own weights.

Elman RNN (SimpleRNN), as in the seed:
    h_t = tanh(W_h x_t + U_h h_{t-1} + b_h)                  y_t = W_y h_t + b_y
LSTM (gates in torch's order i, f, g, o):
    i_t = sigmoid(W_i x_t + U_i h_{t-1} + b_i)               input gate
    f_t = sigmoid(W_f x_t + U_f h_{t-1} + b_f)               forget gate
    g_t = tanh(W_g x_t + U_g h_{t-1} + b_g)                  candidate
    o_t = sigmoid(W_o x_t + U_o h_{t-1} + b_o)               output gate
    c_t = f_t * c_{t-1} + i_t * g_t                          cell state
    h_t = o_t * tanh(c_t)
GRU (torch's order r, z, n):
    r_t = sigmoid(W_r x_t + b_ir + U_r h_{t-1} + b_hr)       reset gate
    z_t = sigmoid(W_z x_t + b_iz + U_z h_{t-1} + b_hz)       update gate
    n_t = tanh(W_n x_t + b_in + r_t * (U_n h_{t-1} + b_hn))  candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

torch keeps two biases per gate (b_ih and b_hh); for the RNN and LSTM only their sum b = b_ih + b_hh
matters. These functions are slow and exist to be read, tested against torch's fused kernels, and
to record the gates for the "Inside the network" view.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from sentiment_app.models.classifiers import (
    RecurrentClassifier,
    masked_pool,
    reverse_within_lengths,
    select_steps,
    valid_mask,
)


@dataclass
class LayerWeights:
    """One direction of one layer: input weights W (gates*H, D), recurrent U (gates*H, H)."""

    cell: str
    W: torch.Tensor
    U: torch.Tensor
    b_input: torch.Tensor
    b_hidden: torch.Tensor

    @classmethod
    def from_module(cls, module: nn.RNNBase, cell: str) -> LayerWeights:
        return cls(
            cell=cell,
            W=module.weight_ih_l0,
            U=module.weight_hh_l0,
            b_input=module.bias_ih_l0,
            b_hidden=module.bias_hh_l0,
        )

    @property
    def hidden_dim(self) -> int:
        return self.U.shape[1]


def elman_step(x: torch.Tensor, h: torch.Tensor, w: LayerWeights) -> torch.Tensor:
    """x (batch, D), h (batch, H) -> h_t = tanh(W_h x_t + U_h h_{t-1} + b_h)."""
    return torch.tanh(x @ w.W.T + h @ w.U.T + w.b_input + w.b_hidden)


def lstm_step(
    x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, w: LayerWeights
) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """One LSTM step; returns h_t, c_t and the gate activations, each (batch, H)."""
    W_i, W_f, W_g, W_o = w.W.chunk(4)
    U_i, U_f, U_g, U_o = w.U.chunk(4)
    b_i, b_f, b_g, b_o = (w.b_input + w.b_hidden).chunk(4)
    input_gate = torch.sigmoid(x @ W_i.T + h @ U_i.T + b_i)
    forget_gate = torch.sigmoid(x @ W_f.T + h @ U_f.T + b_f)
    candidate = torch.tanh(x @ W_g.T + h @ U_g.T + b_g)
    output_gate = torch.sigmoid(x @ W_o.T + h @ U_o.T + b_o)
    c = forget_gate * c + input_gate * candidate
    h = output_gate * torch.tanh(c)
    gates = {"input": input_gate, "forget": forget_gate, "output": output_gate, "candidate": candidate}
    return h, c, gates


def gru_step(x: torch.Tensor, h: torch.Tensor, w: LayerWeights) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One GRU step; returns h_t and the gates, each (batch, H)."""
    W_r, W_z, W_n = w.W.chunk(3)
    U_r, U_z, U_n = w.U.chunk(3)
    bi_r, bi_z, bi_n = w.b_input.chunk(3)
    bh_r, bh_z, bh_n = w.b_hidden.chunk(3)
    reset_gate = torch.sigmoid(x @ W_r.T + bi_r + h @ U_r.T + bh_r)
    update_gate = torch.sigmoid(x @ W_z.T + bi_z + h @ U_z.T + bh_z)
    candidate = torch.tanh(x @ W_n.T + bi_n + reset_gate * (h @ U_n.T + bh_n))
    h = (1 - update_gate) * candidate + update_gate * h
    return h, {"reset": reset_gate, "update": update_gate, "candidate": candidate}


@dataclass
class LayerTrace:
    """What one direction of one layer did at every step: tensors (batch, time, H)."""

    hidden: torch.Tensor
    cell: torch.Tensor | None = None  # LSTM only
    gates: dict[str, torch.Tensor] = field(default_factory=dict)


def run_direction(inputs: torch.Tensor, w: LayerWeights, fixed_units: dict[int, float] | None = None) -> LayerTrace:
    """Run the written-out cell left to right over inputs (batch, time, D), from zero state;
    `fixed_units` {unit: value} holds those hidden units at a value at every step (ablation
    with 0, clamping otherwise), so that the rest of the network reads the edited state."""
    units = torch.tensor(sorted(fixed_units or {}), dtype=torch.long)
    values = torch.tensor([fixed_units[int(unit)] for unit in units], dtype=inputs.dtype) if fixed_units else None
    batch, steps, _ = inputs.shape
    h = inputs.new_zeros(batch, w.hidden_dim)
    c = inputs.new_zeros(batch, w.hidden_dim)
    hidden, cells, gates = [], [], {}
    for t in range(steps):
        x = inputs[:, t]
        if w.cell == "rnn":
            h = elman_step(x, h, w)
            step_gates = {}
        elif w.cell == "lstm":
            h, c, step_gates = lstm_step(x, h, c, w)
            cells.append(c)
        else:
            h, step_gates = gru_step(x, h, w)
        if values is not None:
            h = h.index_copy(1, units, values.expand(batch, -1))
        hidden.append(h)
        for name, value in step_gates.items():
            gates.setdefault(name, []).append(value)
    stack = lambda values: torch.stack(values, dim=1)  # noqa: E731  (batch, time, H)
    return LayerTrace(
        hidden=stack(hidden),
        cell=stack(cells) if cells else None,
        gates={name: stack(values) for name, values in gates.items()},
    )


@dataclass
class ReferenceOutput:
    logits: torch.Tensor  # (batch, num_labels)
    traces: list[list[LayerTrace]]  # [layer][direction], backward traces in reading order


def reference_forward(
    model: RecurrentClassifier,
    token_ids: torch.Tensor,
    lengths: torch.Tensor,
    embedded: torch.Tensor | None = None,
    fixed_units: dict[int, float] | None = None,
) -> ReferenceOutput:
    """The classifier's forward pass with every recurrent step written out (eval mode: no
    dropout). Matches `model(token_ids, lengths)` to float rounding. `fixed_units` holds units
    of the top layer (numbered over its directions: direction d has units d*H to d*H + H - 1)
    at fixed values at every step."""
    config = model.config
    hidden_dim = config.hidden_dim
    inputs = model.embedding(token_ids) if embedded is None else embedded
    traces = []
    outputs = []
    for depth, directions in enumerate(model.layers):
        outputs, layer_traces = [], []
        top = depth == len(model.layers) - 1
        for direction, module in enumerate(directions):
            weights = LayerWeights.from_module(module, config.cell)
            reading = inputs if direction == 0 else reverse_within_lengths(inputs, lengths)
            own = {
                unit - direction * hidden_dim: value
                for unit, value in (fixed_units or {}).items()
                if top and direction * hidden_dim <= unit < (direction + 1) * hidden_dim
            }
            trace = run_direction(reading, weights, own or None)
            layer_traces.append(trace)
            outputs.append(trace.hidden)
        traces.append(layer_traces)
        aligned = [outputs[0]] + [reverse_within_lengths(o, lengths) for o in outputs[1:]]
        inputs = torch.cat(aligned, dim=2)
    if config.pooling == "last":
        features = torch.cat([select_steps(states, lengths - 1) for states in outputs], dim=1)
    else:
        features = masked_pool(inputs, valid_mask(lengths, inputs.shape[1]), config.pooling)
    logits = features @ model.output.weight.T + model.output.bias  # y = W_y h + b_y
    return ReferenceOutput(logits=logits, traces=traces)
