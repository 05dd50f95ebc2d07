"""The classifiers: padding never changes a result, in either direction, for every model."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from sentiment_app.config import MODEL_PRESETS, ModelConfig, preset
from sentiment_app.models.classifiers import (
    BagOfEmbeddingsClassifier,
    RecurrentClassifier,
    build_model,
    masked_pool,
    reverse_within_lengths,
)
from sentiment_app.tokenization import pad_batch

VOCAB = 50


def small(config: ModelConfig, **changes) -> ModelConfig:
    return dataclasses.replace(config, vocab_size=VOCAB, embedding_dim=8, hidden_dim=6, **changes)


VARIANTS = {name: small(config) for name, config in MODEL_PRESETS.items()}
VARIANTS |= {
    "birnn-2-layers-max": small(preset("simple-rnn"), bidirectional=True, num_layers=2, pooling="max"),
    "bigru-mean": small(preset("gru"), bidirectional=True, pooling="mean"),
    "bilstm-3-layers-last": small(preset("bilstm"), num_layers=3, pooling="last"),
    "bag-max": small(preset("bag-of-embeddings"), pooling="max"),
}


def random_texts(seed: int, count: int, longest: int) -> list[list[int]]:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, longest + 1, (count,), generator=generator)
    return [torch.randint(1, VOCAB, (int(n),), generator=generator).tolist() for n in lengths]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_a_text_scores_the_same_alone_and_inside_a_padded_batch(name):
    torch.manual_seed(0)
    model = build_model(VARIANTS[name]).eval()
    texts = random_texts(seed=1, count=12, longest=30)
    texts[5] = texts[5][:3]  # a short text among much longer ones
    batch = pad_batch(texts, padding_id=0)
    assert batch.token_ids.shape[1] > 3
    with torch.no_grad():
        together = torch.softmax(model(batch.token_ids, batch.lengths), dim=-1)
        for index, ids in enumerate(texts):
            alone = pad_batch([ids], padding_id=0)
            single = torch.softmax(model(alone.token_ids, alone.lengths), dim=-1)
            torch.testing.assert_close(together[index], single[0], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_padding_tokens_themselves_do_not_matter(name):
    """Filling the padded positions with arbitrary ids changes nothing."""
    torch.manual_seed(0)
    model = build_model(VARIANTS[name]).eval()
    batch = pad_batch(random_texts(seed=2, count=8, longest=20), padding_id=0)
    noisy = batch.token_ids.clone()
    padding = torch.arange(noisy.shape[1])[None, :] >= batch.lengths[:, None]
    noisy[padding] = torch.randint(1, VOCAB, (int(padding.sum()),))
    with torch.no_grad():
        torch.testing.assert_close(
            model(batch.token_ids, batch.lengths), model(noisy, batch.lengths), atol=1e-6, rtol=0
        )


def test_backward_direction_matches_torch_bidirectional_lstm_on_packed_input():
    """Our exact-without-packing backward pass equals torch's packed bidirectional LSTM."""
    torch.manual_seed(0)
    config = small(preset("bilstm"), pooling="last", dropout=0.0)
    model = RecurrentClassifier(config).eval()
    reference = torch.nn.LSTM(8, 6, batch_first=True, bidirectional=True)
    forward_layer, backward_layer = model.layers[0]
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(reference, f"{name}_l0").copy_(getattr(forward_layer, f"{name}_l0"))
            getattr(reference, f"{name}_l0_reverse").copy_(getattr(backward_layer, f"{name}_l0"))
    batch = pad_batch(random_texts(seed=3, count=6, longest=15), padding_id=0)
    embedded = model.embedding(batch.token_ids)
    packed = torch.nn.utils.rnn.pack_padded_sequence(embedded, batch.lengths, batch_first=True, enforce_sorted=False)
    with torch.no_grad():
        _, (final_states, _) = reference(packed)  # (2, batch, hidden)
        ours = model.encode(embedded, batch.lengths)  # (batch, 2 * hidden)
    torch.testing.assert_close(ours, torch.cat([final_states[0], final_states[1]], dim=1), atol=1e-6, rtol=0)


def test_reverse_within_lengths_reverses_real_tokens_and_keeps_padding():
    sequences = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])[:, :, None].float()
    reversed_ = reverse_within_lengths(sequences, torch.tensor([3, 2]))
    assert reversed_[:, :, 0].tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]
    torch.testing.assert_close(reverse_within_lengths(reversed_, torch.tensor([3, 2])), sequences)


def test_registered_names_build_the_described_networks():
    assert isinstance(build_model(VARIANTS["bag-of-embeddings"]), BagOfEmbeddingsClassifier)
    rnn = build_model(VARIANTS["simple-rnn"])
    assert isinstance(rnn.layers[0][0], torch.nn.RNN) and rnn.layers[0][0].nonlinearity == "tanh"
    assert isinstance(build_model(VARIANTS["gru"]).layers[0][0], torch.nn.GRU)
    bilstm = build_model(VARIANTS["bilstm"])
    assert len(bilstm.layers[0]) == 2 and isinstance(bilstm.layers[0][1], torch.nn.LSTM)
    assert set(MODEL_PRESETS) >= {"simple-rnn", "lstm", "bilstm", "gru", "bag-of-embeddings"}


def summed_biases(layer: torch.nn.LSTM, hidden: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input gate, forget gate) summed biases b_ih + b_hh, each (hidden,)."""
    bias = (layer.bias_ih_l0 + layer.bias_hh_l0).detach()
    return bias[:hidden], bias[hidden : 2 * hidden]


@pytest.mark.parametrize("forget_bias", [0.0, 1.0, 2.5])
def test_the_summed_lstm_forget_bias_is_exactly_the_setting_in_every_layer_and_direction(forget_bias):
    config = small(preset("bilstm"), num_layers=2, forget_bias=forget_bias)
    model = build_model(config)
    for directions in model.layers:
        for layer in directions:
            _, forget = summed_biases(layer, config.hidden_dim)
            assert torch.equal(forget, torch.full_like(forget, forget_bias))


def test_the_default_lstm_forget_bias_is_one_as_keras_unit_forget_bias():
    _, forget = summed_biases(build_model(VARIANTS["lstm"]).layers[0][0], VARIANTS["lstm"].hidden_dim)
    assert torch.equal(forget, torch.ones_like(forget))


def test_chrono_forget_biases_lie_in_their_range_and_the_input_bias_is_their_negative():
    torch.manual_seed(0)
    config = dataclasses.replace(small(preset("lstm")), hidden_dim=256, forget_bias_init="chrono", chrono_max_lag=100)
    input_gate, forget = summed_biases(build_model(config).layers[0][0], config.hidden_dim)
    assert float(forget.min()) >= 0.0 and float(forget.max()) <= math.log(99)
    assert float(forget.max()) > math.log(50) and float(forget.min()) < math.log(2)  # spread over the range
    torch.testing.assert_close(input_gate, -forget)


def test_a_config_without_the_forget_bias_fields_loads_with_the_default_and_round_trips():
    data = VARIANTS["lstm"].to_dict()
    for key in ("forget_bias", "forget_bias_init", "chrono_max_lag"):
        data.pop(key)
    loaded = ModelConfig.from_dict(data)
    assert (loaded.forget_bias, loaded.forget_bias_init, loaded.chrono_max_lag) == (1.0, "constant", 0)
    chrono = small(preset("lstm"), forget_bias_init="chrono", chrono_max_lag=30)
    assert ModelConfig.from_dict(chrono.to_dict()) == chrono


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"forget_bias": 2.0, "cell": "gru"}, "LSTM cells only"),
        ({"forget_bias_init": "chrono", "chrono_max_lag": 30, "cell": "rnn"}, "LSTM cells only"),
        ({"forget_bias_init": "chrono", "chrono_max_lag": 1}, "at least 2"),
        ({"forget_bias_init": "chrono", "chrono_max_lag": 30, "forget_bias": 2.0}, "leave forget_bias"),
        ({"chrono_max_lag": 30}, "only used with"),
        ({"forget_bias_init": "uniform"}, "unknown forget_bias_init"),
        ({"forget_bias": float("inf")}, "finite"),
    ],
)
def test_forget_bias_settings_that_cannot_apply_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        small(preset("lstm"), **changes)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = build_model(VARIANTS["bilstm"]).train()
    batch = pad_batch(random_texts(seed=4, count=4, longest=10), padding_id=0)
    model(batch.token_ids, batch.lengths).sum().backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert missing == []


@pytest.mark.parametrize("lengths", [[0, 3], [5, 3]])
def test_impossible_lengths_are_rejected(lengths):
    model = build_model(VARIANTS["lstm"])
    with pytest.raises(ValueError, match="length"):
        model(torch.ones(2, 4, dtype=torch.long), torch.tensor(lengths))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"cell": "transformer"}, "unknown cell"),
        ({"pooling": "median"}, "unknown pooling"),
        ({"hidden_dim": 0}, "hidden_dim"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_bad_settings_are_refused_with_the_valid_choices(change, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**change)


def test_unknown_model_name_lists_the_registered_ones():
    with pytest.raises(ValueError, match="simple-rnn"):
        preset("transformer")


def test_config_round_trips_through_json():
    config = small(preset("bilstm"), num_layers=2)
    assert ModelConfig.from_dict(config.to_dict()) == config


def test_masked_max_sends_each_gradient_to_the_step_that_held_the_maximum():
    torch.manual_seed(3)
    lengths = torch.tensor([5, 2, 4])
    values = torch.randn(3, 5, 7)  # (batch, time, features): no ties
    mask = torch.arange(5)[None, :] < lengths[:, None]
    upstream = torch.randn(3, 7)
    ours = values.clone().requires_grad_()
    (masked_pool(ours, mask, "max") * upstream).sum().backward()
    reference = values.clone().requires_grad_()
    (reference.masked_fill(~mask[:, :, None], float("-inf")).amax(dim=1) * upstream).sum().backward()
    torch.testing.assert_close(ours.grad, reference.grad, rtol=0, atol=0)
    assert not ours.grad[~mask].any()  # padding receives nothing
    with torch.no_grad():
        torch.testing.assert_close(
            masked_pool(values, mask, "max"), values.masked_fill(~mask[:, :, None], -1e9).amax(dim=1)
        )


def test_masked_max_sends_a_tied_maximum_to_its_first_step_as_max_does():
    """Saturated units repeat their value exactly (tanh(c) = 1.0 in float32 for c > 9): the
    gradient goes to the first step holding the maximum, as `max(dim)` chooses it."""
    values = torch.tensor([[[0.5, 1.0], [1.0, -2.0], [1.0, 1.0], [7.0, 9.0]]])  # (1, time 4, 2)
    mask = torch.tensor([[True, True, True, False]])  # the 7 and 9 are padding
    ours = values.clone().requires_grad_()
    pooled = masked_pool(ours, mask, "max")
    pooled.backward(torch.tensor([[10.0, 20.0]]))
    torch.testing.assert_close(pooled, torch.tensor([[1.0, 1.0]]))
    expected = torch.zeros(1, 4, 2)
    expected[0, 1, 0], expected[0, 0, 1] = 10.0, 20.0
    torch.testing.assert_close(ours.grad, expected, rtol=0, atol=0)
    reference = values.clone().requires_grad_()
    maxima, steps = reference.masked_fill(~mask[:, :, None], float("-inf")).max(dim=1)
    assert steps.tolist() == [[1, 0]]


def test_masked_max_of_diverged_states_stays_inside_the_tensor():
    """A NaN (a diverged run) gives NaN maxima and a gradient at a valid step, not an index error."""
    values = torch.tensor([[[float("nan"), 1.0], [2.0, 3.0]]], requires_grad=True)
    pooled = masked_pool(values, torch.tensor([[True, True]]), "max")
    assert torch.isnan(pooled[0, 0]) and pooled[0, 1] == 3.0
    pooled.sum().backward()
    assert values.grad.shape == values.shape


def test_reverse_within_lengths_matches_a_flip_of_each_text_with_its_gradient():
    torch.manual_seed(4)
    lengths = torch.tensor([6, 1, 3, 6])
    sequences = torch.randn(4, 6, 5, requires_grad=True)
    expected = torch.stack([torch.cat([s[: int(n)].flip(0), s[int(n) :]]) for s, n in zip(sequences, lengths)])
    reversed_ = reverse_within_lengths(sequences, lengths)
    torch.testing.assert_close(reversed_, expected, rtol=0, atol=0)
    upstream = torch.randn_like(reversed_)
    (gradient,) = torch.autograd.grad((reversed_ * upstream).sum(), sequences)
    # a permutation's gradient is the upstream gradient moved back: the same reversal again
    torch.testing.assert_close(gradient, reverse_within_lengths(upstream, lengths), rtol=0, atol=0)
