"""FastDropout: nn.Dropout's behaviour with masks drawn from 16-bit slices of torch's generator."""

from __future__ import annotations

import pytest
import torch

from sentiment_app.models.dropout import FastDropout, dropped_draws, keep_mask


@pytest.mark.parametrize("probability", [0.1, 0.2, 0.5, 0.7])
def test_the_dropped_share_and_the_scale_match_the_probability(probability):
    torch.manual_seed(0)
    mask = keep_mask(torch.Size([400, 500]), probability, torch.float32)  # 200,000 draws
    dropped = (mask == 0).float().mean().item()
    # binomial standard deviation at 200,000 draws is at most 0.0012: allow five of them
    assert abs(dropped - probability) < 0.006
    kept_scale = 1 / (1 - dropped_draws(probability) / 65536)
    assert mask.unique().tolist() == [0.0, pytest.approx(kept_scale)]
    assert abs(kept_scale - 1 / (1 - probability)) < 1e-4
    assert abs(mask.mean().item() - 1.0) < 0.015  # the output's expectation is the input


def test_draws_are_independent_across_the_slices_of_one_random_number():
    torch.manual_seed(1)
    kept = keep_mask(torch.Size([400_000]), 0.5, torch.float32) > 0
    slices = kept.view(-1, 4).float()  # the four 16-bit draws of each 64-bit number
    both = (slices[:, :, None] * slices[:, None, :]).mean(dim=0)  # P(slice i and slice j kept)
    off_diagonal = both[~torch.eye(4, dtype=torch.bool)]
    assert torch.all((off_diagonal - 0.25).abs() < 0.01)


def test_masks_follow_torch_manual_seed():
    layer = FastDropout(0.5).train()
    inputs = torch.ones(8, 30, 16)
    torch.manual_seed(7)
    first = layer(inputs)
    torch.manual_seed(7)
    again = layer(inputs)
    torch.manual_seed(8)
    other = layer(inputs)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_evaluation_and_zero_probability_leave_the_input_alone():
    inputs = torch.randn(4, 9, 3)
    assert torch.equal(FastDropout(0.5).eval()(inputs), inputs)
    assert torch.equal(FastDropout(0.0).train()(inputs), inputs)


def test_the_gradient_is_the_mask():
    torch.manual_seed(2)
    inputs = torch.randn(16, 12, 8, requires_grad=True)
    outputs = FastDropout(0.3).train()(inputs)
    (gradient,) = torch.autograd.grad(outputs.sum(), inputs)
    torch.testing.assert_close(gradient * inputs.detach(), outputs.detach())
    assert torch.equal(gradient == 0, outputs == 0)


def test_half_precision_inputs_keep_their_dtype_and_the_exact_share():
    torch.manual_seed(3)
    outputs = FastDropout(0.25).train()(torch.ones(200, 1000, dtype=torch.bfloat16))
    assert outputs.dtype == torch.bfloat16
    assert abs((outputs == 0).float().mean().item() - 0.25) < 0.006


@pytest.mark.parametrize("probability", [-0.1, 1.0])
def test_impossible_probabilities_are_refused(probability):
    with pytest.raises(ValueError, match="dropout probability"):
        FastDropout(probability)


@pytest.mark.parametrize("shape", [(3, 5, 7), (1,), (0, 4)])
def test_sizes_that_are_not_a_multiple_of_four_draws_keep_their_shape(shape):
    torch.manual_seed(4)
    outputs = FastDropout(0.5).train()(torch.ones(shape))
    assert outputs.shape == shape
    assert set(outputs.unique().tolist()) <= {0.0, 2.0}
