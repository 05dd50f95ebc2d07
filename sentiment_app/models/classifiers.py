"""The classifiers: a recurrent family (Elman RNN, LSTM, GRU; one or two directions) and a bag of
embeddings baseline. Only `nn.Module`s live here.

Padding never changes a result, and no packed sequences are needed for that. Texts are
right-padded, so a left-to-right recurrence reaches every real token before any padding:

    ids      the film was great [PAD] [PAD]     length 4
    forward  h1   h2   h3   h4    .     .       -> read h4 at position length - 1

The right-to-left direction reads each text reversed *within its own length*, which puts the
padding at the end again, so the same rule holds:

    reversed great was film the [PAD] [PAD]
    backward h1'  h2'  h3' h4'    .     .       -> h4' has read the whole text, right to left

Both directions then run on torch's fused kernel over a plain padded tensor.
"""

from __future__ import annotations

import torch
from torch import nn

from sentiment_app.config import ModelConfig
from sentiment_app.models.dropout import FastDropout

RECURRENT_LAYERS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def valid_mask(lengths: torch.Tensor, max_length: int) -> torch.Tensor:
    """(batch, max_length) True where a position holds a real token."""
    positions = torch.arange(max_length, device=lengths.device)
    return positions[None, :] < lengths[:, None]


def reverse_within_lengths(sequences: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence's first `length` steps, leaving padding in place (an involution).

    sequences: (batch, time, features); lengths: (batch,)
    """
    batch, time_steps, features = sequences.shape
    positions = torch.arange(time_steps, device=sequences.device)
    source = lengths[:, None] - 1 - positions[None, :]  # (batch, time)
    source = torch.where(source >= 0, source, positions[None, :])
    # whole rows of features moved by one flat index: a fifth less time than an element-wise
    # gather, forward and backward
    rows = (source + time_steps * torch.arange(batch, device=sequences.device)[:, None]).flatten()
    return sequences.reshape(batch * time_steps, features).index_select(0, rows).view_as(sequences)


def select_steps(sequences: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
    """sequences (batch, time, features), steps (batch,) -> (batch, features) at those steps."""
    index = steps[:, None, None].expand(-1, 1, sequences.shape[2])
    return sequences.gather(1, index).squeeze(1)


def padding_bias(mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(batch, time) mask -> (batch, time, 1): 0 at real positions, -inf at padding. Adding it
    masks a tensor for max pooling: float additions vectorise, where masked_fill's boolean mask is
    slow on CPU (`python -m benchmarks.pooling`)."""
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill_(~mask, float("-inf"))[:, :, None]


class MaskedMax(torch.autograd.Function):
    """Max over time of the real positions, (batch, time, features) -> (batch, features), whose
    backward sends each gradient to the first step that holds the maximum (as `max(dim)` does)
    in one multiplication, where autograd through a mask and amax makes several passes over the
    whole tensor. Real values are never -inf, so padding never holds a maximum.

    Which step holds each maximum comes from float passes, not from `max(dim)`: on CPU its
    indexed reduction (and `argmax`) took ten times as long as `amax` and the passes below."""

    @staticmethod
    def forward(ctx, sequences: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        masked = sequences + bias  # (batch, time, features); -inf at padding
        maxima = masked.amax(dim=1)  # (batch, features)
        # 1 where a step holds its feature's maximum, else 0 (the sign of a difference <= 0)
        holds = masked.sub_(maxima[:, None, :]).sign_().add_(1)  # (batch, time, features)
        # a tie: a saturated unit, a word repeated in a bag of embeddings; or a NaN
        if not bool((holds.sum(dim=1) == 1).all()):
            # keep the first step of each tie: weight the steps T, T-1, ..., 1 and keep the top
            countdown = torch.arange(sequences.shape[1], 0, -1, dtype=sequences.dtype, device=sequences.device)[
                None, :, None
            ]
            weighted = holds.mul_(countdown)
            holds = weighted.eq_(weighted.amax(dim=1, keepdim=True))  # 1.0 at the first step
        ctx.save_for_backward(holds)
        return maxima

    @staticmethod
    def backward(ctx, gradient: torch.Tensor) -> tuple[torch.Tensor, None]:
        (holds,) = ctx.saved_tensors  # (batch, time, features): 1 at each maximum's step
        return holds * gradient[:, None, :], None


def masked_pool(sequences: torch.Tensor, mask: torch.Tensor, mode: str, overwrite: bool = False) -> torch.Tensor:
    """Max or mean over the real positions: (batch, time, features) -> (batch, features).

    overwrite=True lets max pooling mask `sequences` in place (no copy of a tensor that can be
    tens of MB on long texts): only for tensors nobody reads again and no gradient flows through.
    """
    if mode == "max":
        bias = padding_bias(mask, sequences.dtype)  # (batch, time, 1)
        if overwrite:
            return sequences.add_(bias).amax(dim=1)
        if sequences.requires_grad:
            return MaskedMax.apply(sequences, bias)
        return (sequences + bias).amax(dim=1)
    counts = mask.sum(dim=1, keepdim=True).to(sequences.dtype)  # (batch, 1)
    return (sequences * mask[:, :, None].to(sequences.dtype)).sum(dim=1) / counts


def check_lengths(token_ids: torch.Tensor, lengths: torch.Tensor) -> None:
    if token_ids.dim() != 2 or lengths.shape != token_ids.shape[:1]:
        raise ValueError("expected token_ids (batch, time) and lengths (batch,)")
    if lengths.numel() and (int(lengths.min()) < 1 or int(lengths.max()) > token_ids.shape[1]):
        raise ValueError("every length must be between 1 and the padded width")


def forget_bias_values(config: ModelConfig) -> torch.Tensor:
    """(hidden,) initial forget-gate biases: all `forget_bias`, or chrono's log(U(1, T_max - 1))."""
    if config.forget_bias_init == "chrono":
        uniform = torch.empty(config.hidden_dim).uniform_(1.0, config.chrono_max_lag - 1.0)
        return uniform.log()
    return torch.full((config.hidden_dim,), float(config.forget_bias))


@torch.no_grad()
def set_forget_bias(layer: nn.LSTM, config: ModelConfig) -> None:
    """Make the summed forget bias b_ih_f + b_hh_f exactly the setting: b_hh_f = 0, b_ih_f = it.
    Chrono also sets the input gate's summed bias to -b_f (gates ordered i, f, g, o)."""
    hidden = config.hidden_dim
    forget = forget_bias_values(config)  # (hidden,)
    layer.bias_ih_l0[hidden : 2 * hidden] = forget
    layer.bias_hh_l0[hidden : 2 * hidden] = 0.0
    if config.forget_bias_init == "chrono":
        layer.bias_ih_l0[:hidden] = -forget
        layer.bias_hh_l0[:hidden] = 0.0


class RecurrentClassifier(nn.Module):
    """Embedding -> stacked recurrent layers (one or two directions) -> pooled state -> logits.

    With cell "rnn" each direction is the seed's Elman network,
    h_t = tanh(W_h x_t + U_h h_{t-1} + b_h), and the output layer is y = W_y h + b_y.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        hidden, directions = config.hidden_dim, config.num_directions
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.padding_id)
        layer_class = RECURRENT_LAYERS[config.cell]
        # layers[depth][direction]: direction 0 reads left to right, 1 right to left.
        self.layers = nn.ModuleList(
            nn.ModuleList(
                layer_class(config.embedding_dim if depth == 0 else hidden * directions, hidden, batch_first=True)
                for _ in range(directions)
            )
            for depth in range(config.num_layers)
        )
        self.dropout = FastDropout(config.dropout)
        self.output = nn.Linear(hidden * directions, len(config.labels))  # W_y, b_y
        self.reset_recurrent_parameters()

    def reset_recurrent_parameters(self) -> None:
        """Orthogonal recurrent weights (steady gradient flow); the LSTM's forget-gate bias as set."""
        hidden = self.config.hidden_dim
        for name, parameter in self.layers.named_parameters():
            if "weight_hh" in name:
                for gate in parameter.data.split(hidden, dim=0):
                    nn.init.orthogonal_(gate)
        if self.config.cell == "lstm":
            for directions in self.layers:
                for layer in directions:
                    set_forget_bias(layer, self.config)

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """token_ids (batch, time), lengths (batch,) -> logits (batch, num_labels)."""
        check_lengths(token_ids, lengths)
        return self.forward_embedded(self.embedding(token_ids), lengths)

    def forward_embedded(self, embedded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """embedded (batch, time, embedding_dim) -> logits; lets explanations take input grads."""
        features = self.encode(embedded, lengths)  # (batch, directions * hidden)
        return self.output(self.dropout(features))

    def run_layers(self, embedded: torch.Tensor, lengths: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of the top layer per direction, each (batch, time, hidden) in its own reading
        order: the backward direction's step t is the t-th token counted from the text's end."""
        inputs = self.dropout(embedded)
        for depth, directions in enumerate(self.layers):
            outputs = []
            for direction, layer in enumerate(directions):
                reading = inputs if direction == 0 else reverse_within_lengths(inputs, lengths)
                states, _ = layer(reading)  # (batch, time, hidden)
                outputs.append(states)
            if depth + 1 < len(self.layers):
                aligned = [outputs[0]] + [reverse_within_lengths(o, lengths) for o in outputs[1:]]
                inputs = self.dropout(torch.cat(aligned, dim=2))  # (batch, time, dirs * hidden)
        return outputs

    def encode(self, embedded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        outputs = self.run_layers(embedded, lengths)
        if self.config.pooling == "last":
            last = lengths - 1
            return torch.cat([select_steps(states, last) for states in outputs], dim=1)
        # Max and mean ignore order, and each direction's real steps are its first `length`
        # steps in its own reading order: pool each as it is, no re-alignment needed.
        mask = valid_mask(lengths, outputs[0].shape[1])
        overwrite = not torch.is_grad_enabled()  # the states are ours and read no more
        return torch.cat([masked_pool(states, mask, self.config.pooling, overwrite) for states in outputs], dim=1)


class BagOfEmbeddingsClassifier(nn.Module):
    """The baseline: word order ignored. Pooled embeddings -> hidden layer -> logits."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.padding_id)
        self.dropout = FastDropout(config.dropout)
        self.hidden = nn.Linear(config.embedding_dim, config.hidden_dim)
        self.output = nn.Linear(config.hidden_dim, len(config.labels))

    def forward(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        check_lengths(token_ids, lengths)
        return self.forward_embedded(self.embedding(token_ids), lengths)

    def forward_embedded(self, embedded: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = valid_mask(lengths, embedded.shape[1])
        pooled = masked_pool(self.dropout(embedded), mask, self.config.pooling)  # (batch, emb)
        hidden = torch.relu(self.hidden(pooled))  # (batch, hidden_dim)
        return self.output(self.dropout(hidden))


Classifier = RecurrentClassifier | BagOfEmbeddingsClassifier


def build_model(config: ModelConfig) -> Classifier:
    """The module a config describes, freshly initialised."""
    if config.architecture == "bag-of-embeddings":
        return BagOfEmbeddingsClassifier(config)
    return RecurrentClassifier(config)


def count_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())
