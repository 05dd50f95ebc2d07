"""Batched scoring of tokenised texts: the one loop every backend and the trainer run texts through."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from sentiment_app.tokenization import FlatIds, pad_batch

DEFAULT_BATCH_SIZE = 64


@torch.inference_mode()
def batched_probabilities(
    model: torch.nn.Module,
    id_lists: Sequence[Sequence[int]] | FlatIds,
    padding_id: int,
    batch_size: int = DEFAULT_BATCH_SIZE,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Softmax outputs (num_texts, num_labels) of logits / temperature, in input order. Texts of
    similar length are batched together, so that little time goes into padding (which never
    changes a result)."""
    if isinstance(id_lists, FlatIds):  # the trainer's flat arrays: lengths and batches are slices
        lengths, pad = id_lists.lengths, lambda rows: id_lists.pad(rows, padding_id)
    else:
        lengths = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(id_lists))
        pad = lambda rows: pad_batch([id_lists[index] for index in rows], padding_id)  # noqa: E731
    order = np.argsort(lengths, kind="stable")  # (texts,), shortest first
    result = torch.empty(len(id_lists), len(model.config.labels))
    chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    batches = (pad(chunk) for chunk in chunks)
    if hasattr(model, "score_batches"):  # ONNX Runtime: batches shared out over the cores
        scored = model.score_batches(batches)
    else:
        device = model_device(model)
        scored = (model(batch.token_ids.to(device), batch.lengths.to(device)) for batch in batches)
    # no torch work while ONNX Runtime's threads run: idle torch threads would spin and take
    # their cores; the softmax is one op at the end
    logits = [batch_logits.float().cpu() for batch_logits in scored]  # each (chunk, labels)
    if logits:
        result[torch.from_numpy(order)] = torch.softmax(torch.cat(logits) / temperature, dim=-1)
    return result


def model_device(model) -> torch.device:
    """Where a torch module's weights live (CPU for anything else, such as the ONNX runner)."""
    parameters = getattr(model, "parameters", None)
    first = next(parameters(), None) if callable(parameters) else None
    return first.device if first is not None else torch.device("cpu")
