"""A look inside a trained network on one text: gates and states per token, and how strongly
the loss reaches back to each token (gradient flow through time)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from sentiment_app.inference.predictor import Predictor
from sentiment_app.models.cells import reference_forward
from sentiment_app.models.classifiers import RecurrentClassifier
from sentiment_app.tokenization import pad_batch

DIRECTION_NAMES = ("left to right", "right to left")
SHOWN_GATES = {"lstm": ("forget", "input", "output"), "gru": ("update", "reset"), "rnn": ()}


@dataclass
class DirectionTrace:
    """One direction of the first recurrent layer, aligned with the text's tokens."""

    direction: str
    gates: dict[str, np.ndarray]  # gate name -> (tokens, hidden units) activations in [0, 1]
    hidden: np.ndarray  # (tokens, hidden units)
    cell_state: np.ndarray | None  # LSTM only, (tokens, hidden units)

    @property
    def gate_means(self) -> dict[str, list[float]]:
        return {name: values.mean(axis=1).tolist() for name, values in self.gates.items()}

    @property
    def hidden_norms(self) -> list[float]:
        return np.linalg.norm(self.hidden, axis=1).tolist()

    @property
    def cell_norms(self) -> list[float] | None:
        return None if self.cell_state is None else np.linalg.norm(self.cell_state, axis=1).tolist()

    def to_dict(self, full: bool = False) -> dict:
        data = {
            "direction": self.direction,
            "gate_means": self.gate_means,
            "hidden_norms": self.hidden_norms,
            "cell_norms": self.cell_norms,
        }
        if full:
            data["gates"] = {name: values.tolist() for name, values in self.gates.items()}
            data["hidden"] = self.hidden.tolist()
            if self.cell_state is not None:
                data["cell_state"] = self.cell_state.tolist()
        return data


@dataclass
class NetworkTrace:
    model: str
    cell: str  # "rnn", "lstm", "gru" or "bag" (no recurrence)
    tokens: list[str]
    directions: list[DirectionTrace] = field(default_factory=list)


def tokens_of(predictor: Predictor, text: str) -> tuple[list[int], list[str], list[tuple[int, int]]]:
    encoding = predictor.encoder.encode([text])[0]
    return encoding.ids, encoding.tokens, encoding.offsets


def trace_network(predictor: Predictor, text: str) -> NetworkTrace:
    """Gate activations and states of the first layer, per token, through the written-out
    equations run with the model's own weights."""
    ids, tokens, _ = tokens_of(predictor, text)
    model = predictor.model
    if not isinstance(model, RecurrentClassifier) or not ids:
        return NetworkTrace(model=predictor.name, cell="bag", tokens=tokens)
    batch = pad_batch([ids], predictor.encoder.padding_id)
    with torch.inference_mode():
        output = reference_forward(model, batch.token_ids, batch.lengths)
    directions = []
    for index, trace in enumerate(output.traces[0]):

        def in_text_order(steps: torch.Tensor, backward: bool = index == 1) -> np.ndarray:
            """(1, time, H) in reading order -> (time, H) aligned with the text's tokens."""
            return (steps[0].flip(0) if backward else steps[0]).numpy()

        directions.append(
            DirectionTrace(
                direction=DIRECTION_NAMES[index],
                gates={name: in_text_order(trace.gates[name]) for name in SHOWN_GATES[model.config.cell]},
                hidden=in_text_order(trace.hidden),
                cell_state=None if trace.cell is None else in_text_order(trace.cell),
            )
        )
    return NetworkTrace(model=predictor.name, cell=model.config.cell, tokens=tokens, directions=directions)


@dataclass
class GradientFlow:
    model: str
    tokens: list[str]
    offsets: list[tuple[int, int]]
    norms: list[float]  # || d loss / d embedding(token t) || for each token t
    target: str  # the label the loss is taken against


def gradient_flow(predictor: Predictor, text: str, target: str | None = None) -> GradientFlow:
    """Per-token gradient norm of the cross-entropy loss (against `target`, default the predicted
    label) with respect to the token embeddings. Through a SimpleRNN these norms shrink towards
    the start of a text (vanishing gradients); through an LSTM they stay far larger."""
    ids, tokens, offsets = tokens_of(predictor, text)
    if not ids:
        return GradientFlow(predictor.name, [], [], [], target or "")
    model = predictor.model
    batch = pad_batch([ids], predictor.encoder.padding_id)
    with torch.enable_grad():
        embedded = model.embedding(batch.token_ids).detach().requires_grad_(True)
        logits = model.forward_embedded(embedded, batch.lengths)  # (1, num_labels)
        label = target or predictor.labels[int(logits.argmax())]
        loss = nn.functional.cross_entropy(logits, torch.tensor([predictor.labels.index(label)]))
        (gradient,) = torch.autograd.grad(loss, embedded)  # (1, tokens, embedding_dim)
    return GradientFlow(
        model=predictor.name, tokens=tokens, offsets=offsets, norms=gradient[0].norm(dim=1).tolist(), target=label
    )


def word_level(flow: GradientFlow, text: str) -> tuple[list[str], list[float]]:
    """Gradient norms per whitespace word of `text` (root of the summed squares of its tokens),
    so that models with different tokenizers line up on one axis."""
    words, spans, position = [], [], 0
    for word in text.split():
        start = text.index(word, position)
        words.append(word)
        spans.append((start, start + len(word)))
        position = start + len(word)
    totals = np.zeros(len(words))
    for (start, end), norm in zip(flow.offsets, flow.norms):
        for index, (word_start, word_end) in enumerate(spans):
            if start < word_end and end > word_start:
                totals[index] += norm**2
                break
    return words, np.sqrt(totals).tolist()
