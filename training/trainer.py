"""The training loop: Adam, backpropagation through time, gradient-norm clipping, early
stopping on validation accuracy. It knows nothing about files; `train.py` does the I/O."""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import distributed, nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm.auto import tqdm

from sentiment_app.inference.batched import batched_probabilities
from sentiment_app.tokenization import FlatIds, TextEncoder
from training.batching import epoch_batches, iterate_batches, shard_batches
from training.evaluation.metrics import classification_report
from training.gradient_norm import EmbeddingRowsRead, global_gradient_norm
from training.precision import autocast, check_precision


@dataclass
class TrainingConfig:
    epochs: int = 15  # upper bound; early stopping usually ends sooner
    batch_size: int = 64
    learning_rate: float = 2e-3
    weight_decay: float = 0.0
    clip_norm: float = 5.0  # max global gradient norm (the seed's exploding gradients)
    patience: int = 3  # epochs without a better validation accuracy before stopping
    token_dropout: float = 0.0  # share of tokens replaced by [UNK] in each training batch
    distillation_temperature: float = 1.0  # softens teacher and student alike (with soft targets)
    # Decay of an exponential moving average of the weights, updated after every step; when set,
    # validation, early stopping and the saved model use the averaged weights (0 = off).
    average_decay: float = 0.0
    # Adversarial training (Miyato et al. 2017, fast gradient method): each step also learns
    # from the batch with its embeddings pushed this far (L2 norm per text) in the direction
    # that raises the loss most (0 = off; each step then costs about two).
    adversarial_epsilon: float = 0.0
    seed: int = 13  # weights, dropout and batch order
    # Arithmetic of the forward and backward passes: float32, or bfloat16 mixed precision
    # (training/precision.py); the weights, Adam and the loss stay float32 either way.
    precision: str = "float32"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EncodedSplit:
    """A tokenised split: every text's ids in one flat array (lists of lists are converted)."""

    ids: FlatIds
    labels: list[int]
    # A teacher's (texts, num_labels) logits: when present the model learns to match the
    # teacher's probabilities instead of the 0/1 labels (knowledge distillation).
    soft_targets: np.ndarray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.ids, FlatIds):
            self.ids = FlatIds.from_lists(self.ids)
        if len(self.ids) != len(self.labels):
            raise ValueError(f"{len(self.ids)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.labels)


ENCODE_CHUNK = 10_000  # texts read and tokenised at a time: bounded memory, parallel encoding


def encode_split(encoder: TextEncoder, dataset, soft_targets: np.ndarray | None = None) -> EncodedSplit:
    """Tokenise a split once, a chunk of rows at a time, straight into flat arrays (never one
    row at a time through `datasets`, whose per-row reads grow with the table); texts with no
    tokens are left out (and their rows of `soft_targets`, a teacher's logits, with them)."""
    parts: list[FlatIds] = []
    labels: list[int] = []
    for rows in dataset.select_columns(["text", "label"]).iter(batch_size=ENCODE_CHUNK):
        parts.append(encoder.encode_flat(rows["text"]))
        labels.extend(rows["label"])
    ids = FlatIds.concatenate(parts)
    keep = np.flatnonzero(ids.lengths > 0)
    if len(keep) == len(ids):
        return EncodedSplit(ids=ids, labels=labels, soft_targets=soft_targets)
    return EncodedSplit(
        ids=ids.take(keep),
        labels=np.asarray(labels, dtype=np.int64)[keep].tolist(),
        soft_targets=None if soft_targets is None else soft_targets[keep],
    )


@dataclass
class TrainerState:
    """Everything that changes while training, so that a run can stop and resume exactly."""

    next_epoch: int = 1
    history: list[dict[str, Any]] = field(default_factory=list)
    best_accuracy: float = -1.0
    best_epoch: int = 0
    epochs_without_gain: int = 0
    best_weights: dict[str, torch.Tensor] | None = None
    elapsed_seconds: float = 0.0


def averaging_horizon(decay: float) -> float:
    """About how many recent steps an exponential moving average with this decay reflects."""
    return 1 / (1 - decay)


def process_group() -> tuple[int, int]:
    """(rank, world size) of this process: (0, 1) unless launched by torchrun."""
    if distributed.is_available() and distributed.is_initialized():
        return distributed.get_rank(), distributed.get_world_size()
    return 0, 1


def evaluate_split(
    model: nn.Module, split: EncodedSplit, padding_id: int, label_names: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1, confusion matrix and mean cross-entropy of `model` on `split`."""
    was_training = model.training
    model.eval()
    probabilities = batched_probabilities(model, split.ids, padding_id, batch_size=256)
    model.train(was_training)
    labels = torch.as_tensor(split.labels)
    picked = probabilities[torch.arange(len(labels)), labels].clamp_min(1e-12)
    predictions = probabilities.argmax(dim=1).tolist()
    report = classification_report(split.labels, predictions, label_names)
    report["loss"] = float(-picked.log().mean())
    report["predictions"] = predictions
    return report


class EmbeddingPerturbation:
    """Adds an adversarial perturbation to an embedding layer's output, through a forward hook.

    record() arms the hook to keep the next training pass's embedding output and its gradient;
    after that pass's backward, push(epsilon) makes the following pass add epsilon * g / ||g||
    to it, g being the loss's gradient with respect to the embeddings and the norm taken per
    text over (time, embedding); clear() ends it. Padding positions get no gradient, so they
    stay unperturbed. Outside record() ... clear() the hook does nothing.
    """

    def __init__(self, embedding: nn.Module) -> None:
        self.armed = False
        self.recorded: torch.Tensor | None = None  # (batch, time, embedding_dim)
        self.delta: torch.Tensor | None = None  # (batch, time, embedding_dim)
        embedding.register_forward_hook(self.hook)

    def hook(self, module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if not module.training:
            return None
        if self.delta is not None:
            return output + self.delta
        if self.armed and torch.is_grad_enabled():
            if output.requires_grad:
                output.retain_grad()
            else:  # frozen embeddings: the output is a leaf, made to collect its gradient
                output.requires_grad_(True)
            self.recorded, self.armed = output, False
        return None

    def record(self) -> None:
        self.armed, self.recorded, self.delta = True, None, None

    def push(self, epsilon: float) -> None:
        if self.recorded is None or self.recorded.grad is None:
            raise RuntimeError("no recorded embedding gradient: call record() before the pass")
        gradient = self.recorded.grad.detach()  # (batch, time, embedding_dim)
        norms = gradient.flatten(1).norm(dim=1).clamp_min(1e-12)  # (batch,)
        self.delta = epsilon * gradient / norms[:, None, None]
        self.recorded = None

    def clear(self) -> None:
        self.armed, self.recorded, self.delta = False, None, None


class Trainer:
    def __init__(
        self,
        model: nn.Module,
        config: TrainingConfig,
        train: EncodedSplit,  # or a StreamingTrainSplit (training/data/streaming.py)
        validation: EncodedSplit,
        padding_id: int,
        label_names: Sequence[str],
        show_progress: bool = True,
        unknown_id: int | None = None,
        device: torch.device | None = None,
    ) -> None:
        self.device = device or torch.device("cpu")
        check_precision(config.precision, self.device)
        self.model = model.to(self.device)
        self.rank, self.world_size = process_group()
        # Under torchrun every process trains on its share of each epoch's batches and
        # DistributedDataParallel averages the gradients, so all copies stay identical.
        self.network = model
        if self.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.network = DistributedDataParallel(model, device_ids=device_ids)
        self.config = config
        self.train_split = train
        self.validation_split = validation
        self.padding_id = padding_id
        self.unknown_id = unknown_id
        if config.token_dropout and unknown_id is None:
            raise ValueError("token_dropout needs the [UNK] id")
        self.label_names = list(label_names)
        self.show_progress = show_progress
        self.optimizer = torch.optim.Adam(
            model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay, fused=True
        )
        self.loss_function = nn.CrossEntropyLoss()
        self.averaged: AveragedModel | None = None
        if config.average_decay:
            self.averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.average_decay))
        self.state = TrainerState()
        self.perturbation = EmbeddingPerturbation(model.embedding) if config.adversarial_epsilon else None
        # Under torchrun the gradients are averaged over every process's rows, so only a single
        # process knows which embedding rows can hold a gradient.
        self.rows_read = EmbeddingRowsRead(model.embedding) if self.world_size == 1 else None

    def epoch_share(self, epoch: int) -> list[np.ndarray]:
        """This process's batches of the epoch: all of them, or every world_size-th under
        torchrun (cut to an equal count, since every process must take the same steps)."""
        lengths = self.train_split.ids.lengths
        batches = epoch_batches(lengths, self.config.batch_size, self.config.seed, epoch)
        return shard_batches(batches, self.rank, self.world_size)

    def train_epoch(self, epoch: int) -> dict[str, Any]:
        self.model.train()
        split = self.train_split
        if isinstance(split, EncodedSplit):
            batches = self.epoch_share(epoch)
            planned = sum(len(rows) for rows in batches)
            batch_stream = iterate_batches(split.ids, split.labels, batches, self.padding_id)
        else:  # a stream (training/data/streaming.py): its length is known, its batches come as read
            planned = len(split) // self.world_size
            batch_stream = split.batches(
                epoch, self.config.batch_size, self.config.seed, self.rank, self.world_size, self.padding_id
            )
        total_loss = correct = seen = 0
        gradient_norms: list[float] = []
        started = time.perf_counter()
        progress = tqdm(
            total=planned,
            desc=f"epoch {epoch}",
            unit="sample",
            disable=not self.show_progress or self.rank != 0,
            leave=False,
            dynamic_ncols=True,
        )
        soft = split.soft_targets
        with self.rows_read or contextlib.nullcontext():
            for batch, labels, rows in batch_stream:
                targets = torch.as_tensor(labels).to(self.device)
                token_ids = self.drop_tokens(batch.token_ids, batch.lengths).to(self.device)
                lengths = batch.lengths.to(self.device)
                teacher = None if soft is None else torch.as_tensor(soft[rows]).to(self.device)
                self.optimizer.zero_grad(set_to_none=True)
                if self.rows_read is not None:
                    self.rows_read.clear()
                if self.perturbation is not None:
                    self.perturbation.record()
                logits = self.logits(token_ids, lengths)  # (batch, num_labels)
                loss = self.batch_loss(logits, targets, teacher)
                loss.backward()  # backpropagation through time, through every step of every text
                if self.perturbation is not None:  # the same batch again, perturbed against itself
                    self.perturbation.push(self.config.adversarial_epsilon)
                    self.batch_loss(self.logits(token_ids, lengths), targets, teacher).backward()
                    self.perturbation.clear()
                norm = self.clip_gradients()
                self.optimizer.step()
                if self.averaged is not None:
                    self.averaged.update_parameters(self.model)
                gradient_norms.append(float(norm))
                total_loss += float(loss.detach()) * len(labels)
                correct += int((logits.argmax(dim=1) == targets).sum())
                seen += len(labels)
                progress.update(len(labels))
                progress.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}")
        progress.close()
        if self.world_size > 1:  # totals over every process
            totals = torch.tensor([total_loss, correct, seen], dtype=torch.float64, device=self.device)
            distributed.all_reduce(totals)
            total_loss, correct, seen = totals.tolist()
        seconds = time.perf_counter() - started
        norms = np.asarray(gradient_norms)
        return {
            "train_loss": total_loss / max(seen, 1),
            "train_accuracy": correct / max(seen, 1),
            "gradient_norm_mean": float(norms.mean()) if len(norms) else 0.0,
            "gradient_norm_max": float(norms.max()) if len(norms) else 0.0,
            "clipped_fraction": float((norms > self.config.clip_norm).mean()) if len(norms) else 0.0,
            "train_seconds": seconds,
            "samples_per_second": seen / seconds if seconds > 0 else math.inf,
        }

    def logits(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """A training forward pass in the configured precision; float32 logits (batch, labels),
        so that the loss is always computed in float32."""
        with autocast(self.config.precision, self.device):
            logits = self.network(token_ids, lengths)
        return logits.float()

    def evaluated_model(self) -> nn.Module:
        """The weights that are validated and kept: the moving average when there is one."""
        return self.averaged.module if self.averaged is not None else self.model

    def clip_gradients(self) -> torch.Tensor:
        """Scale the gradients down to `clip_norm` when their global norm exceeds it (the guard
        against exploding gradients); returns the norm before clipping. Most steps need no
        scaling, and skipping it saves rewriting every gradient."""
        norm = global_gradient_norm(self.model.parameters(), self.rows_read)
        if norm > self.config.clip_norm:
            nn.utils.clip_grads_with_norm_(self.model.parameters(), self.config.clip_norm, norm)
        return norm

    def batch_loss(
        self, logits: torch.Tensor, targets: torch.Tensor, teacher_logits: torch.Tensor | None
    ) -> torch.Tensor:
        """Cross-entropy against the labels, or against the teacher when there is one."""
        if teacher_logits is None:
            return self.loss_function(logits, targets)
        return self.distillation_loss(logits, teacher_logits)

    def distillation_loss(self, logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
        """Cross-entropy against the teacher's probabilities at temperature T, scaled by T^2 so
        that its gradients keep their size (Hinton et al. 2015). Both are (batch, num_labels)."""
        temperature = self.config.distillation_temperature
        teacher = torch.softmax(teacher_logits / temperature, dim=1)
        student = torch.log_softmax(logits / temperature, dim=1)
        return -(teacher * student).sum(dim=1).mean() * temperature**2

    def drop_tokens(self, token_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Word dropout: replace a random share of the real tokens by [UNK] (a regulariser)."""
        if not self.config.token_dropout:
            return token_ids
        real = torch.arange(token_ids.shape[1])[None, :] < lengths[:, None]  # (batch, time)
        dropped = (torch.rand(token_ids.shape) < self.config.token_dropout) & real
        return token_ids.masked_fill(dropped, self.unknown_id)

    def fit(
        self, on_epoch_end: Callable[[Trainer], None] | None = None, log: Callable[[str], None] = print
    ) -> TrainerState:
        """Train until `epochs` or `patience` runs out; the model ends with the best weights."""
        state = self.state
        while state.next_epoch <= self.config.epochs and state.epochs_without_gain < self.config.patience:
            epoch = state.next_epoch
            started = time.perf_counter()
            record = {"epoch": epoch, **self.train_epoch(epoch)}
            validation = evaluate_split(
                self.evaluated_model(), self.validation_split, self.padding_id, self.label_names
            )
            record.update(
                validation_loss=validation["loss"],
                validation_accuracy=validation["accuracy"],
                validation_macro_f1=validation["macro_f1"],
            )
            improved = validation["accuracy"] > state.best_accuracy
            if improved:
                state.best_accuracy = validation["accuracy"]
                state.best_epoch = epoch
                state.epochs_without_gain = 0
                state.best_weights = copy.deepcopy(self.evaluated_model().state_dict())
            else:
                state.epochs_without_gain += 1
            state.history.append(record)
            state.elapsed_seconds += time.perf_counter() - started
            state.next_epoch = epoch + 1
            log(
                f"epoch {epoch:>2}  loss {record['train_loss']:.4f}  "
                f"train acc {record['train_accuracy']:.4f}  val acc {record['validation_accuracy']:.4f}"
                f"  val loss {record['validation_loss']:.4f}  {record['samples_per_second']:,.0f} samples/s"
                f"{'  *best' if improved else ''}"
            )
            if on_epoch_end is not None:
                on_epoch_end(self)
        if state.best_weights is not None:
            self.model.load_state_dict(state.best_weights)
        self.model.eval()
        return state
