"""An ONNX graph written directly from a recurrent classifier's weights.

`torch.onnx.export` traces the eager model, so its graph keeps the eager model's workarounds:
the backward direction reads a copy of the inputs reversed within each text's length, and
every direction's states are transposed to batch-first before pooling. ONNX's own recurrent
operators take the texts' lengths (`sequence_lens`) and run both directions in one node, with
the backward one reading each text from its last real token. This graph uses them:

    token_ids (batch, time) -> Transpose -> Gather(embedding) -> x (time, batch, embedding)
    x -> LSTM / GRU / RNN (direction forward or bidirectional, sequence_lens = lengths)
      -> Y (time, directions, batch, hidden), Y_h (directions, batch, hidden)
    [more layers: Y -> (time, batch, directions * hidden) -> the next recurrent node]
    pooling: last = Y_h; max / mean = over the real time steps of Y
      -> (batch, directions * hidden) -> Gemm -> logits (batch, labels)

It computes the same function as the eager model (a test compares them on every cell,
direction, depth and pooling).
"""

from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OPSET = 17

# The row blocks of torch's gate weights, in the order ONNX's operator expects them.
# torch LSTM: i, f, g, o  -> ONNX i, o, f, c.  torch GRU: r, z, n -> ONNX z, r, h.
GATE_ORDER = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2], "rnn": [0]}
OPERATOR = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def reorder_gates(tensor: torch.Tensor, cell: str) -> np.ndarray:
    """(gates * hidden, ...) torch layout -> the same rows in ONNX's gate order."""
    blocks = tensor.detach().float().chunk(len(GATE_ORDER[cell]), dim=0)
    return torch.cat([blocks[index] for index in GATE_ORDER[cell]], dim=0).numpy()


def recurrent_weights(directions: list[torch.nn.RNNBase], cell: str) -> tuple[np.ndarray, ...]:
    """One ONNX recurrent node's W (dirs, gates*H, in), R (dirs, gates*H, H), B (dirs, 2*gates*H)."""
    inputs = [reorder_gates(layer.weight_ih_l0, cell) for layer in directions]
    recurrent = [reorder_gates(layer.weight_hh_l0, cell) for layer in directions]
    biases = [
        np.concatenate([reorder_gates(layer.bias_ih_l0, cell), reorder_gates(layer.bias_hh_l0, cell)])
        for layer in directions
    ]
    return np.stack(inputs), np.stack(recurrent), np.stack(biases)


def recurrent_graph(model: torch.nn.Module) -> onnx.ModelProto:
    """The ONNX model of a `RecurrentClassifier`: inputs token_ids (batch, time) int64 and
    lengths (batch,) int64, output logits (batch, labels) float32."""
    config = model.config
    if config.architecture != "recurrent":
        raise ValueError(f"recurrent_graph needs a recurrent model, not {config.architecture}")
    cell, hidden, directions = config.cell, config.hidden_dim, config.num_directions
    nodes: list[onnx.NodeProto] = []
    initializers = [
        numpy_helper.from_array(model.embedding.weight.detach().float().numpy(), "embedding"),
        numpy_helper.from_array(model.output.weight.detach().float().numpy(), "output_weight"),
        numpy_helper.from_array(model.output.bias.detach().float().numpy(), "output_bias"),
        constant("shape_batch_features", [0, -1]),
    ]
    nodes += [
        helper.make_node("Transpose", ["token_ids"], ["ids_time_major"], perm=[1, 0]),
        helper.make_node("Gather", ["embedding", "ids_time_major"], ["layer_0_input"]),  # (T, B, E)
        helper.make_node("Cast", ["lengths"], ["sequence_lens"], to=TensorProto.INT32),
    ]
    layer_input = "layer_0_input"
    for depth, layer_pair in enumerate(model.layers):
        w, r, b = recurrent_weights(list(layer_pair), cell)
        initializers += [
            numpy_helper.from_array(w, f"W_{depth}"),
            numpy_helper.from_array(r, f"R_{depth}"),
            numpy_helper.from_array(b, f"B_{depth}"),
        ]
        outputs = [f"Y_{depth}", f"Y_h_{depth}"] + ([f"Y_c_{depth}"] if cell == "lstm" else [])
        attributes = {"hidden_size": hidden, "direction": "bidirectional" if directions == 2 else "forward"}
        if cell == "gru":
            attributes["linear_before_reset"] = 1  # torch's GRU: r * (U_h h + b_hn)
        nodes.append(
            helper.make_node(
                OPERATOR[cell],
                [layer_input, f"W_{depth}", f"R_{depth}", f"B_{depth}", "sequence_lens"],
                outputs,
                **attributes,
            )
        )
        if depth + 1 < len(model.layers):  # (T, dirs, B, H) -> (T, B, dirs * H)
            if depth == 0:
                initializers.append(constant("shape_time_batch_features", [0, 0, -1]))
            nodes += [
                helper.make_node("Transpose", [f"Y_{depth}"], [f"Y_{depth}_by_batch"], perm=[0, 2, 1, 3]),
                helper.make_node(
                    "Reshape", [f"Y_{depth}_by_batch", "shape_time_batch_features"], [f"layer_{depth + 1}_input"]
                ),
            ]
            layer_input = f"layer_{depth + 1}_input"
    top = len(model.layers) - 1
    nodes += pooling_nodes(config.pooling, f"Y_{top}", f"Y_h_{top}", initializers)
    nodes += [
        helper.make_node("Transpose", ["pooled"], ["pooled_by_batch"], perm=[1, 0, 2]),  # (B, dirs, H)
        helper.make_node("Reshape", ["pooled_by_batch", "shape_batch_features"], ["features"]),
        helper.make_node("Gemm", ["features", "output_weight", "output_bias"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        f"{config.cell}-classifier",
        [
            helper.make_tensor_value_info("token_ids", TensorProto.INT64, ["batch", "time"]),
            helper.make_tensor_value_info("lengths", TensorProto.INT64, ["batch"]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", len(config.labels)])],
        initializers,
    )
    onnx_model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="sentiment_app", ir_version=8
    )  # ir 8 goes with opset 17
    onnx.checker.check_model(onnx_model)
    return onnx_model


def constant(name: str, value, dtype=np.int64) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(value, dtype=dtype), name)


def pooling_nodes(
    pooling: str, states: str, last_states: str, initializers: list[onnx.TensorProto]
) -> list[onnx.NodeProto]:
    """Nodes that pool `states` (T, dirs, B, H) into "pooled" (dirs, B, H).

    Max and mean pooling must leave padding out. When no text of the batch is padded (every
    length equals T: common once texts are sorted by length, and for long texts cut to
    max_length), an If node skips the mask: a plain ReduceMax / ReduceMean over time."""
    if pooling == "last":  # Y_h: the forward state at each text's last token, the backward at its first
        return [helper.make_node("Identity", [last_states], ["pooled"])]
    initializers += [
        constant("zero", 0),
        constant("one", 1),
        constant("axis_0", [0]),
        constant("axis_3", [3]),
        constant("axes_1_2", [1, 2]),
        constant("masked", -np.inf if pooling == "max" else 0.0, np.float32),
        constant("kept", 0.0 if pooling == "max" else 1.0, np.float32),
    ]
    if pooling == "mean":
        initializers.append(constant("axis_1", [1]))
    reduce = "ReduceMax" if pooling == "max" else "ReduceMean"
    unpadded = helper.make_graph(
        [helper.make_node(reduce, [states], ["pooled_unpadded"], axes=[0], keepdims=0)],
        "unpadded",
        [],
        [helper.make_tensor_value_info("pooled_unpadded", TensorProto.FLOAT, None)],
    )
    padded = helper.make_graph(
        masked_pooling_nodes(pooling, states),
        "padded",
        [],
        [helper.make_tensor_value_info("pooled_padded", TensorProto.FLOAT, None)],
    )
    return [
        helper.make_node("Shape", [states], ["states_shape"], start=0, end=1),
        helper.make_node("Squeeze", ["states_shape", "axis_0"], ["time_steps"]),
        helper.make_node("ReduceMin", ["lengths"], ["shortest"], keepdims=0),
        helper.make_node("Equal", ["shortest", "time_steps"], ["no_padding"]),
        helper.make_node("If", ["no_padding"], ["pooled"], then_branch=unpadded, else_branch=padded),
    ]


def masked_pooling_nodes(pooling: str, states: str) -> list[onnx.NodeProto]:
    """Pooling over the real steps only, into "pooled_padded" (dirs, B, H)."""
    # A small (T, 1, B, 1) tensor broadcast over the states: added (0 or -inf) for max pooling,
    # multiplied (1 or 0) for mean. Cheaper than a Where over the whole (T, dirs, B, H) tensor.
    nodes = [
        helper.make_node("Range", ["zero", "time_steps", "one"], ["positions"]),  # (T,)
        helper.make_node("Unsqueeze", ["positions", "axes_1_2"], ["positions_column"]),  # (T, 1, 1)
        helper.make_node("Less", ["positions_column", "lengths"], ["real_tokens"]),  # (T, 1, B)
        helper.make_node("Unsqueeze", ["real_tokens", "axis_3"], ["mask"]),  # (T, 1, B, 1)
        helper.make_node("Where", ["mask", "kept", "masked"], ["mask_values"]),
        helper.make_node("Add" if pooling == "max" else "Mul", [states, "mask_values"], ["masked_states"]),
    ]
    if pooling == "max":
        return nodes + [helper.make_node("ReduceMax", ["masked_states"], ["pooled_padded"], axes=[0], keepdims=0)]
    return nodes + [  # mean: the sum over the real steps / the length
        helper.make_node("ReduceSum", ["masked_states", "axis_0"], ["summed"], keepdims=0),  # (dirs, B, H)
        helper.make_node("Cast", ["lengths"], ["lengths_float"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["lengths_float", "axis_1"], ["counts"]),  # (B, 1)
        helper.make_node("Div", ["summed", "counts"], ["pooled_padded"]),
    ]
