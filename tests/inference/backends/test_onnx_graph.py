"""The hand-written ONNX graph computes what the eager model computes, for every cell, direction,
depth and pooling, on ragged batches (where the backward direction must read each text from its
own last token)."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import onnx
import pytest
import torch

from sentiment_app.config import preset
from sentiment_app.inference.backends.onnx_graph import recurrent_graph
from sentiment_app.models.classifiers import build_model
from sentiment_app.tokenization import pad_batch

onnxruntime = pytest.importorskip("onnxruntime")

VOCAB = 60
PRESET_OF_CELL = {"rnn": "simple-rnn", "lstm": "lstm", "gru": "gru"}
SHAPES = list(itertools.product(("rnn", "lstm", "gru"), (False, True), (1, 2), ("last", "max", "mean")))


def small_model(cell: str, bidirectional: bool, layers: int, pooling: str) -> torch.nn.Module:
    config = dataclasses.replace(
        preset(PRESET_OF_CELL[cell]),
        vocab_size=VOCAB,
        embedding_dim=8,
        hidden_dim=6,
        bidirectional=bidirectional,
        num_layers=layers,
        pooling=pooling,
    )
    torch.manual_seed(layers * 7 + len(pooling))
    return build_model(config).eval()


RAGGED, UNPADDED = [1, 9, 4, 9, 2, 7], [5, 5, 5]  # the graph pools an unpadded batch unmasked


def ragged_batch(seed: int, lengths: list[int] = RAGGED) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    texts = [torch.randint(1, VOCAB, (n,), generator=generator).tolist() for n in lengths]
    batch = pad_batch(texts, padding_id=0)
    return batch.token_ids, batch.lengths


@pytest.mark.parametrize("cell,bidirectional,layers,pooling", SHAPES)
@pytest.mark.parametrize("lengths", [RAGGED, UNPADDED], ids=["ragged", "unpadded"])
def test_graph_matches_the_eager_model(cell, bidirectional, layers, pooling, lengths):
    model = small_model(cell, bidirectional, layers, pooling)
    session = onnxruntime.InferenceSession(
        recurrent_graph(model).SerializeToString(), providers=["CPUExecutionProvider"]
    )
    token_ids, lengths = ragged_batch(seed=len(SHAPES), lengths=lengths)
    with torch.no_grad():
        expected = model(token_ids, lengths).numpy()
    logits = session.run(None, {"token_ids": token_ids.numpy(), "lengths": lengths.numpy()})[0]
    np.testing.assert_allclose(logits, expected, atol=1e-5, rtol=1e-5)


def test_each_layer_is_one_recurrent_node_that_reads_the_lengths():
    model = small_model("lstm", bidirectional=True, layers=2, pooling="max")
    graph = recurrent_graph(model).graph
    recurrent = [node for node in graph.node if node.op_type == "LSTM"]
    assert len(recurrent) == 2
    for node in recurrent:
        assert "sequence_lens" in node.input
        assert (
            onnx.helper.get_attribute_value(next(a for a in node.attribute if a.name == "direction"))
            == b"bidirectional"
        )
    # no reversed copy of the inputs: the operator reads each text backwards itself
    assert not any(node.op_type in ("GatherElements", "ReverseSequence") for node in graph.node)


def test_bag_of_embeddings_has_no_recurrent_graph():
    config = dataclasses.replace(preset("bag-of-embeddings"), vocab_size=VOCAB, embedding_dim=8, hidden_dim=6)
    with pytest.raises(ValueError, match="recurrent"):
        recurrent_graph(build_model(config))


def test_work_shared_over_the_cores_gives_what_one_session_gives():
    from sentiment_app.inference.backends.onnx import OnnxClassifier, run_session
    from sentiment_app.inference.batched import batched_probabilities

    model = small_model("lstm", bidirectional=True, layers=1, pooling="max")
    generator = torch.Generator().manual_seed(3)
    lengths = torch.randint(1, 12, (OnnxClassifier.SPLIT_MIN_TEXTS + 5,), generator=generator)
    texts = [torch.randint(1, VOCAB, (int(n),), generator=generator).tolist() for n in lengths]
    batch = pad_batch(texts, padding_id=0)
    runner = OnnxClassifier(model, threads=2)
    whole = run_session(runner.session, batch.token_ids.numpy(), batch.lengths.numpy())
    assert not runner.parts  # made on first use
    split = runner(batch.token_ids, batch.lengths)  # (37, 2): cut in two, run side by side
    assert len(runner.parts) == 2
    np.testing.assert_allclose(split.numpy(), whole, atol=1e-6, rtol=1e-6)
    with torch.no_grad():
        expected = model(batch.token_ids, batch.lengths)
    np.testing.assert_allclose(split.numpy(), expected.numpy(), atol=1e-5, rtol=1e-5)
    # many small batches shared out over the sessions come back in input order
    shared = batched_probabilities(runner, texts, padding_id=0, batch_size=4)
    np.testing.assert_allclose(shared.numpy(), torch.softmax(expected, dim=1).numpy(), atol=1e-5)
