"""An optional ONNX Runtime backend behind the same predictor API.

The graph is built in memory from the model loaded out of model.safetensors (no other weight
file is read): written from the weights for the recurrent models (`onnx_graph`), traced by
`torch.onnx.export` for the bag of embeddings. A predictor uses it only when onnxruntime is
installed and the model's metrics.json records that ONNX Runtime agreed with eager PyTorch on the
test split: at least 99.5% of the labels, probabilities within 0.02 (`training.evaluation.verify_backends`).
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch

from sentiment_app.tokenization import EncodedBatch


def onnxruntime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def single_threaded_session(graph: bytes):
    """An ONNX Runtime session that runs in the thread that calls it."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


class OnnxClassifier:
    """Callable like the torch classifier: (token_ids, lengths) -> logits tensor.

    Every session is single-threaded. A few texts run in the calling thread's session; larger
    work is shared out over one session per core (made on first use): many batches whole
    (`score_batches`), one large batch cut into one part per core. A core then never waits for
    another between two time steps of the recurrence, as it must when the cores share each
    step's small matrix product; a two-threaded session was slower for bulk work, and for one
    text it lost its lead whenever PyTorch's OpenMP threads were still spinning (benchmarks/README.md).
    Rows are independent, so the results are those of one call.
    """

    SPLIT_MIN_TEXTS = 32  # a batch this large is cut into one part per core

    def __init__(self, model: torch.nn.Module, threads: int | None = None) -> None:
        self.config = model.config
        self.cores = threads or torch.get_num_threads()
        self.graph = onnx_bytes(model)
        self.session = single_threaded_session(self.graph)
        self.parts: list[Any] = []  # one session per core, the first being self.session
        self.pool: ThreadPoolExecutor | None = None
        self.lock = threading.Lock()

    def __call__(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        token_ids, lengths = token_ids.numpy(), lengths.numpy()  # (batch, time), (batch,)
        if self.cores < 2 or len(token_ids) < self.SPLIT_MIN_TEXTS:
            return torch.from_numpy(run_session(self.session, token_ids, lengths))
        pool, parts = self.part_sessions()
        cuts = np.linspace(0, len(token_ids), len(parts) + 1).astype(int)
        futures = [
            pool.submit(run_session, session, token_ids[start:end], lengths[start:end])
            for session, start, end in zip(parts, cuts[:-1], cuts[1:])
        ]
        return torch.from_numpy(np.concatenate([future.result() for future in futures]))

    def score_batches(self, batches: Iterable[EncodedBatch]) -> Iterator[torch.Tensor]:
        """Logits of each batch, in order, the batches shared out over the cores (a lone batch
        runs in the calling thread: handing it to another costs more than a short text takes)."""
        batches = list(batches)
        if self.cores < 2 or len(batches) == 1:
            yield from (self(batch.token_ids, batch.lengths) for batch in batches)
            return
        pool, parts = self.part_sessions()
        futures = [
            pool.submit(run_session, parts[index % len(parts)], batch.token_ids.numpy(), batch.lengths.numpy())
            for index, batch in enumerate(batches)
        ]
        yield from (torch.from_numpy(future.result()) for future in futures)

    def part_sessions(self) -> tuple[ThreadPoolExecutor, list[Any]]:
        with self.lock:
            if self.pool is None:
                self.parts = [self.session] + [single_threaded_session(self.graph) for _ in range(self.cores - 1)]
                self.pool = ThreadPoolExecutor(self.cores, thread_name_prefix="onnx-part")
            return self.pool, self.parts


def run_session(session, token_ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    return session.run(None, {"token_ids": token_ids, "lengths": lengths})[0]  # (batch, labels)


def onnx_bytes(model: torch.nn.Module) -> bytes:
    """The serialised ONNX graph of `model`: written from the weights for recurrent models (see
    `onnx_graph`), exported by tracing for the bag of embeddings."""
    if model.config.architecture == "recurrent":
        from sentiment_app.inference.backends.onnx_graph import recurrent_graph

        return recurrent_graph(model).SerializeToString()
    example = (torch.ones(1, 4, dtype=torch.long), torch.tensor([4]))
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(),
            example,
            buffer,
            dynamo=False,
            opset_version=17,
            input_names=["token_ids", "lengths"],
            output_names=["logits"],
            dynamic_axes={"token_ids": {0: "batch", 1: "time"}, "lengths": {0: "batch"}, "logits": {0: "batch"}},
        )
    return buffer.getvalue()
