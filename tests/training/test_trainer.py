"""Adversarial training (--adversarial-epsilon): the perturbation, the trainer's second pass and
what the run records."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch import nn

from sentiment_app.config import preset
from sentiment_app.models.classifiers import build_model
from tests.helpers import TINY_MODEL_ARGS
from training.train import main
from training.trainer import EmbeddingPerturbation, EncodedSplit, Trainer, TrainingConfig

LABELS = ["negative", "positive"]


def tiny_model(name: str = "bilstm"):
    torch.manual_seed(0)
    return build_model(dataclasses.replace(preset(name), vocab_size=30, embedding_dim=6, hidden_dim=5, dropout=0.0))


def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    token_ids = torch.tensor([[2, 3, 4, 5], [6, 7, 0, 0], [8, 9, 10, 0]])  # right-padded with 0
    return token_ids, torch.tensor([4, 2, 3]), torch.tensor([1, 0, 1])


def test_the_perturbation_has_norm_epsilon_per_text_spares_padding_and_raises_the_loss():
    model = tiny_model().train()
    perturbation = EmbeddingPerturbation(model.embedding)
    token_ids, lengths, labels = batch()
    loss_function = nn.CrossEntropyLoss(reduction="none")
    perturbation.record()
    clean = loss_function(model(token_ids, lengths), labels)  # (batch,)
    clean.sum().backward()
    perturbation.push(0.5)
    delta = perturbation.delta  # (batch, time, embedding)
    torch.testing.assert_close(delta.flatten(1).norm(dim=1), torch.full((3,), 0.5))
    assert torch.all(delta[1, 2:] == 0) and torch.all(delta[2, 3:] == 0)
    perturbed = loss_function(model(token_ids, lengths), labels)
    assert torch.all(perturbed > clean)  # each text's own worst direction, to first order
    perturbation.clear()
    torch.testing.assert_close(loss_function(model(token_ids, lengths), labels), clean)


def test_evaluation_is_never_perturbed():
    model = tiny_model()
    perturbation = EmbeddingPerturbation(model.embedding)
    token_ids, lengths, labels = batch()
    model.train()
    perturbation.record()
    nn.functional.cross_entropy(model(token_ids, lengths), labels).backward()
    perturbation.push(5.0)
    model.eval()
    with torch.inference_mode():
        plain = build_model(model.config)
        plain.load_state_dict(model.state_dict())
        torch.testing.assert_close(model(token_ids, lengths), plain.eval()(token_ids, lengths))


def test_the_hook_keeps_nothing_unless_armed():
    """Only the pass after record() is kept: other training passes hold no activations."""
    model = tiny_model().train()
    perturbation = EmbeddingPerturbation(model.embedding)
    token_ids, lengths, _ = batch()
    model(token_ids, lengths)
    assert perturbation.recorded is None
    perturbation.record()
    model(token_ids, lengths)
    kept = perturbation.recorded
    model(token_ids, lengths)  # a second pass does not replace the first
    assert kept is not None and perturbation.recorded is kept
    perturbation.clear()
    model(token_ids, lengths)
    assert perturbation.recorded is None


def test_push_without_a_recorded_pass_is_an_error():
    perturbation = EmbeddingPerturbation(tiny_model().embedding)
    with pytest.raises(RuntimeError, match="record"):
        perturbation.push(1.0)


@pytest.mark.parametrize("frozen", [False, True])
def test_each_step_learns_from_the_clean_and_the_perturbed_batch(frozen):
    """The step's gradient is the sum of both passes' gradients, recomputed here by hand; with
    frozen embeddings too (their output is then a leaf that must collect its own gradient)."""
    model = tiny_model()
    model.embedding.weight.requires_grad_(not frozen)
    token_ids, lengths, labels = batch()
    split = EncodedSplit([ids[:n].tolist() for ids, n in zip(token_ids, lengths)], labels.tolist())
    epsilon = 0.3
    trainer = Trainer(
        model,
        TrainingConfig(batch_size=8, adversarial_epsilon=epsilon, clip_norm=1e9),
        split,
        split,
        padding_id=0,
        label_names=LABELS,
        show_progress=False,
    )
    reference = tiny_model()
    reference.load_state_dict(model.state_dict())
    reference.embedding.weight.requires_grad_(not frozen)
    reference.train()
    nn.functional.cross_entropy(reference(token_ids, lengths), labels).backward()
    embedded = reference.embedding(token_ids).detach().requires_grad_(True)
    (gradient,) = torch.autograd.grad(
        nn.functional.cross_entropy(reference.forward_embedded(embedded, lengths), labels), embedded
    )
    delta = epsilon * gradient / gradient.flatten(1).norm(dim=1)[:, None, None]
    perturbed = reference.embedding(token_ids) + delta
    nn.functional.cross_entropy(reference.forward_embedded(perturbed, lengths), labels).backward()
    expected = {name: p.grad for name, p in reference.named_parameters() if p.grad is not None}

    captured = {}
    trainer.optimizer.step = lambda: captured.update(
        {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    )
    trainer.train_epoch(1)
    assert set(captured) == set(expected)
    assert ("embedding.weight" in captured) is not frozen
    for name, value in expected.items():
        torch.testing.assert_close(captured[name], value, rtol=1e-4, atol=1e-6)


def test_the_run_records_adversarial_training_in_metrics_and_model_card(tmp_path, tiny_csv):
    out = tmp_path / "model"
    assert (
        main(
            [
                "--model",
                "gru",
                "--dataset",
                str(tiny_csv),
                *TINY_MODEL_ARGS,
                "--epochs",
                "2",
                "--adversarial-epsilon",
                "0.5",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["training"]["adversarial_epsilon"] == 0.5
    assert "adversarial training" in (out / "README.md").read_text()
