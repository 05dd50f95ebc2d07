"""What a training step spends outside the recurrent kernels: the global gradient norm reads only
the embedding rows the step used, and must leave the training itself exactly as it was."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from sentiment_app.config import preset
from sentiment_app.models.classifiers import build_model
from training.gradient_norm import EmbeddingRowsRead, global_gradient_norm
from training.trainer import EncodedSplit, Trainer, TrainingConfig

LABELS = ["negative", "positive"]


def small_model(seed: int = 0, name: str = "bilstm") -> nn.Module:
    torch.manual_seed(seed)
    config = dataclasses.replace(preset(name), vocab_size=60, embedding_dim=6, hidden_dim=5)
    return build_model(config)


def texts(count: int = 48) -> EncodedSplit:
    generator = torch.Generator().manual_seed(7)
    id_lists = [
        torch.randint(2, 30, (int(torch.randint(1, 9, (1,), generator=generator)),), generator=generator).tolist()
        for _ in range(count)
    ]
    return EncodedSplit(id_lists, [len(ids) % 2 for ids in id_lists])


def full_norm(model: nn.Module) -> float:
    return float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in model.parameters() if p.grad is not None)))


def test_the_norm_from_the_rows_read_is_the_norm_of_every_gradient():
    model = small_model()
    model.train()
    token_ids = torch.tensor([[2, 3, 3, 9], [4, 9, 0, 0]])  # repeated ids, padding, rows 30+ unread
    with EmbeddingRowsRead(model.embedding) as rows_read:
        model(token_ids, torch.tensor([4, 2])).sum().backward()
        assert rows_read.gradient_rows().shape == (5, 6)  # 0, 2, 3, 4, 9
        norm = global_gradient_norm(model.parameters(), rows_read)
    assert float(norm) == pytest.approx(full_norm(model), rel=1e-6)
    # outside `with` nothing is recorded, and the whole gradient is read
    model(token_ids, torch.tensor([4, 2])).sum().backward()
    assert rows_read.ids == [] and rows_read.gradient_rows() is None
    assert float(global_gradient_norm(model.parameters(), rows_read)) == pytest.approx(full_norm(model), rel=1e-6)


def test_evaluation_passes_and_frozen_embeddings_are_left_alone():
    model = small_model()
    with EmbeddingRowsRead(model.embedding) as rows_read:
        model.eval()
        model(torch.tensor([[5, 6]]), torch.tensor([2]))
        assert rows_read.ids == []  # evaluation reads no gradient
        model.train()
        model.embedding.weight.requires_grad_(False)
        model(torch.tensor([[5, 6]]), torch.tensor([2])).sum().backward()
        assert rows_read.gradient_rows() is None  # no embedding gradient at all
        assert float(global_gradient_norm(model.parameters(), rows_read)) == pytest.approx(full_norm(model), rel=1e-6)


@pytest.mark.parametrize("name", ["bilstm", "bag-of-embeddings"])
@pytest.mark.parametrize("clip_norm", [5.0, 0.05])
def test_training_with_the_rows_read_ends_with_the_same_weights(name, clip_norm):
    """The same epoch with the norm from the rows read and from the whole gradient: the same
    weights when nothing is clipped; when every step is clipped, the same to rounding."""
    runs = []
    for use_rows in (True, False):
        model = small_model(name=name)
        trainer = Trainer(
            model,
            TrainingConfig(batch_size=8, clip_norm=clip_norm, seed=3),
            texts(),
            texts(),
            padding_id=0,
            label_names=LABELS,
            show_progress=False,
        )
        if not use_rows:
            trainer.rows_read = None
        torch.manual_seed(11)  # the same dropout masks
        record = trainer.train_epoch(1)
        runs.append((model.state_dict(), record))
    (rows_weights, rows_record), (full_weights, full_record) = runs
    assert rows_record["gradient_norm_mean"] == pytest.approx(full_record["gradient_norm_mean"], rel=1e-6)
    assert rows_record["clipped_fraction"] == full_record["clipped_fraction"] == (1.0 if clip_norm < 1 else 0.0)
    for key in rows_weights:
        if clip_norm < 1:
            torch.testing.assert_close(rows_weights[key], full_weights[key], rtol=1e-5, atol=1e-6)
        else:
            assert torch.equal(rows_weights[key], full_weights[key]), key


def test_the_trainer_records_rows_only_during_its_epochs():
    model = small_model()
    trainer = Trainer(
        model, TrainingConfig(batch_size=8), texts(), texts(), padding_id=0, label_names=LABELS, show_progress=False
    )
    trainer.train_epoch(1)
    assert trainer.rows_read.hook is None and trainer.rows_read.ids == []
    model.train()
    model(torch.tensor([[5, 6]]), torch.tensor([2])).sum().backward()  # another training pass
    assert trainer.rows_read.ids == []
