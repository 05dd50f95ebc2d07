"""An optional ONNX Runtime backend behind the same predictor API.

The graph is built in memory from the model loaded out of model.safetensors (no other weight
file is read): written from the weights for the recurrent models (`onnx_graph`), traced by
`torch.onnx.export` for the bag of embeddings. A predictor uses it only when onnxruntime is
installed and the model's metrics.json records that ONNX Runtime agreed with eager PyTorch on the
test split: at least 99.5% of the labels, probabilities within 0.02 (see `verify_backend`).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

MIN_LABEL_AGREEMENT = 0.995
MAX_PROBABILITY_DIFFERENCE = 0.02


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class OnnxClassifier:
    """Callable like the torch classifier: (token_ids, lengths) -> logits tensor."""

    def __init__(self, model: torch.nn.Module, threads: int | None = None) -> None:
        import onnxruntime

        self.config = model.config
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(onnx_bytes(model), options,
                                                    providers=["CPUExecutionProvider"])

    def __call__(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        feeds = {"token_ids": token_ids.numpy(), "lengths": lengths.numpy()}
        return torch.from_numpy(self.session.run(None, feeds)[0])


def onnx_bytes(model: torch.nn.Module) -> bytes:
    """The serialised ONNX graph of `model`: written from the weights for recurrent models (see
    `onnx_graph`), exported by tracing for the bag of embeddings."""
    if model.config.architecture == "recurrent":
        from sentiment_app.onnx_graph import recurrent_graph

        return recurrent_graph(model).SerializeToString()
    example = (torch.ones(1, 4, dtype=torch.long), torch.tensor([4]))
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(), example, buffer, dynamo=False, opset_version=17,
            input_names=["token_ids", "lengths"], output_names=["logits"],
            dynamic_axes={"token_ids": {0: "batch", 1: "time"}, "lengths": {0: "batch"},
                          "logits": {0: "batch"}},
        )
    return buffer.getvalue()


def compare_backends(reference: np.ndarray, candidate: np.ndarray) -> dict[str, Any]:
    """Label agreement and largest probability difference of two (texts, labels) arrays."""
    agreement = float((reference.argmax(axis=1) == candidate.argmax(axis=1)).mean()) if len(reference) else 1.0
    difference = float(np.abs(reference - candidate).max()) if len(reference) else 0.0
    return {"label_agreement": agreement, "max_probability_difference": difference,
            "passed": agreement >= MIN_LABEL_AGREEMENT and difference <= MAX_PROBABILITY_DIFFERENCE,
            "texts": int(len(reference))}


def verify_backend(model: torch.nn.Module, id_lists: Sequence[Sequence[int]], padding_id: int) -> dict[str, Any]:
    """Score `id_lists` with eager PyTorch and with ONNX Runtime and compare them."""
    from sentiment_app.inference import batched_probabilities

    eager = batched_probabilities(model, id_lists, padding_id).numpy()
    exported = batched_probabilities(OnnxClassifier(model), id_lists, padding_id).numpy()
    return compare_backends(eager, exported)
