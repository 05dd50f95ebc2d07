"""The global gradient norm of a training step, reading only the embedding rows the step used.

A batch reads a small share of the embedding table's rows; every other row's gradient is zero and
adds nothing to the norm, so reading the whole table for it is wasted time. The rows the step read give the same norm to rounding (the sum runs in
another order); it decides whether to clip, and the shipped models' training never clipped, so
their weights come out the same to the bit (a test checks one epoch both ways).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle


class EmbeddingRowsRead:
    """Inside `with`, records the ids a training model's embedding reads between two clear()
    calls: the only rows of the table whose gradient can be non-zero."""

    def __init__(self, embedding: nn.Embedding) -> None:
        self.embedding = embedding
        self.ids: list[torch.Tensor] = []  # each (ids,) of one forward pass
        self.hook: RemovableHandle | None = None

    def __enter__(self) -> EmbeddingRowsRead:
        self.hook = self.embedding.register_forward_pre_hook(self.record)
        return self

    def __exit__(self, *exc_info) -> None:
        self.hook.remove()
        self.hook = None
        self.clear()

    @property
    def weight(self) -> nn.Parameter:
        return self.embedding.weight

    def record(self, module: nn.Module, inputs: tuple) -> None:
        if module.training and torch.is_grad_enabled():
            self.ids.append(inputs[0].reshape(-1))

    def clear(self) -> None:
        self.ids = []

    def gradient_rows(self) -> torch.Tensor | None:
        """The gradient's rows that can be non-zero, (rows, embedding_dim); None when no pass
        was recorded (then the whole gradient must be read)."""
        if self.hook is None or self.weight.grad is None or not self.ids:
            return None
        return self.weight.grad.index_select(0, torch.cat(self.ids).unique())


def global_gradient_norm(
    parameters: Iterable[nn.Parameter], rows_read: EmbeddingRowsRead | None = None
) -> torch.Tensor:
    """The L2 norm of all the parameters' gradients together, as `clip_grad_norm_` measures it;
    with `rows_read`, the embedding's gradient is read only where the step used it."""
    rows = rows_read.gradient_rows() if rows_read is not None else None
    gradients = [
        parameter.grad
        for parameter in parameters
        if parameter.grad is not None and (rows is None or parameter is not rows_read.weight)
    ]
    if rows is not None:
        gradients.append(rows)
    return nn.utils.get_total_norm(gradients)
