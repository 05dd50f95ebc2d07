"""The predictor: the one place that runs models for users (Python API, CLIs, web app)."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from sentiment_app.inference.batched import DEFAULT_BATCH_SIZE, batched_probabilities
from sentiment_app.inference.familiarity import unfamiliar_reason
from sentiment_app.paths import models_dir
from sentiment_app.storage.hub import download_model, is_repo_id
from sentiment_app.storage.model_dir import LoadedModel, ModelLoadError, is_model_dir, load_model_dir, model_name
from sentiment_app.tokenization import UNK_TOKEN


class BackendError(ValueError):
    """A backend asked for that this machine or this model cannot use."""


class EmptyTextError(ValueError):
    """Raised for texts with nothing to classify (empty, or whitespace and controls only)."""


@dataclass
class Prediction:
    label: str
    probabilities: dict[str, float]  # label -> probability; they sum to 1
    num_tokens: int = 0  # tokens the model read (after truncation)
    truncated: bool = False  # True when the text was longer than the model's max_length
    extras: dict[str, Any] = field(default_factory=dict)
    unfamiliar: str | None = None  # why the text is unlike what the model learned from, if it is
    unsure_below: float = 0.5  # the model's calibrated band: below this confidence it only leans

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]

    @property
    def verdict(self) -> str:
        """The label, or "leans <label>" where the calibrated confidence is inside the unsure band."""
        return self.label if self.confidence >= self.unsure_below else f"leans {self.label}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "verdict": self.verdict,
            "probabilities": dict(self.probabilities),
            "unfamiliar": self.unfamiliar,
        }


def resolve_model_path(name_or_path: str | os.PathLike) -> Path:
    """A directory path as given, a bare name looked up under `models_dir()`, or a Hugging Face
    Hub repo id ("user/name"), downloaded into the Hub cache and checked."""
    candidate = Path(name_or_path)
    if candidate.is_dir():
        return candidate
    if isinstance(name_or_path, str) and name_or_path and os.sep not in name_or_path:
        named = models_dir() / name_or_path
        if named.is_dir():
            return named
        available = available_models()
        hint = f"; available: {', '.join(available)}" if available else ""
        raise ModelLoadError(
            f"no model named {name_or_path!r} in {models_dir()}{hint} (or give a Hub repo id user/name)"
        )
    if isinstance(name_or_path, str) and is_repo_id(name_or_path):
        return download_model(name_or_path)
    raise ModelLoadError(f"{candidate}: no such model directory")


def available_models(directory: Path | None = None) -> list[str]:
    """Names of the model directories (those with a config.json) under `directory`."""
    root = Path(directory) if directory is not None else models_dir()
    if not root.is_dir():
        return []
    return sorted(child.name for child in root.iterdir() if not child.name.startswith(".") and is_model_dir(child))


PREFERRED_ORDER = ("bilstm", "lstm", "gru", "simple-rnn", "bag-of-embeddings")


def order_models(names: list[str]) -> list[str]:
    """The shipped models in the order the app lists them, then any others by name."""
    ranked = [name for name in PREFERRED_ORDER if name in names]
    return ranked + sorted(name for name in names if name not in ranked)


def default_model(directory: Path | None = None) -> str:
    """The model the app and the CLIs use when none is named: the first in the app's order."""
    names = order_models(available_models(directory))
    if not names:
        raise ModelLoadError(f"no model directories in {directory or models_dir()}")
    return names[0]


BACKENDS = ("auto", "torch", "onnx", "bfloat16")
# ONNX Runtime wins on a few texts at a time (less overhead per call) for every model, and on
# batches for every model but the Elman RNN, whose ONNX Runtime kernel scores batches slower than
# PyTorch's (benchmarks/run.py, column "1,000 tokenised texts in batches of 64"): calls of more
# than ONNX_MAX_TEXTS texts to such a cell go to PyTorch.
ONNX_MAX_TEXTS = 8
TORCH_BATCH_CELLS = frozenset({"rnn"})
# Scored by PyTorch and by a faster backend before the predictor uses it: metrics.json's record that
# the backend agreed on the test split is believed only if they agree here too (every label, each
# probability within the same 0.02). Short and long, plain and negated, so the recurrence runs.
CHECK_TEXTS = (
    "a wonderful film, moving and brilliant from start to finish",
    "dull, tedious and far too long",
    "not bad at all",
    "i wanted to like it, but the script is clumsy and the ending is terrible",
    "the cast is charming",
    "boring.",
    "it is not a great film, and it is not an awful one either; the story drifts, the acting is fine, "
    "some scenes are superb and others are dreadful, and by the end i had stopped caring who won",
    "superb",
)
logger = logging.getLogger(__name__)


class Predictor:
    """Scores texts with one trained model. Thread-safe for concurrent `predict` calls.

    backend "torch" runs eager PyTorch; "onnx" runs ONNX Runtime on a graph exported from the same
    weights; "auto" (the default) uses ONNX Runtime where it is installed and the model's
    metrics.json records that it agreed with PyTorch on the test split, else PyTorch.
    "bfloat16" (never chosen by "auto") runs PyTorch in bfloat16 for bulk scoring: allowed on
    hardware that multiplies in bfloat16 and where metrics.json records that it agreed too.
    """

    def __init__(self, loaded: LoadedModel, batch_size: int = DEFAULT_BATCH_SIZE, backend: str = "auto") -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
        self.loaded = loaded
        self.model = loaded.model  # the torch module: explanations take gradients through it
        self.runner = loaded.model  # what scores texts: the torch module or its ONNX export
        self.backend = "torch"
        self.encoder = loaded.encoder
        self.labels = list(loaded.config.model.labels)
        self.batch_size = batch_size
        if backend == "onnx" or (backend == "auto" and self.onnx_verified):
            self.use_onnx(required=backend == "onnx")
        elif backend == "bfloat16":
            self.use_bfloat16()

    @property
    def onnx_verified(self) -> bool:
        """True when ONNX Runtime is installed and agreed with PyTorch on the test split."""
        from sentiment_app.inference.backends.onnx import onnxruntime_available

        return bool((self.metrics.get("onnx") or {}).get("passed")) and onnxruntime_available()

    def use_onnx(self, required: bool = True) -> None:
        """Score with ONNX Runtime if it agrees with PyTorch on CHECK_TEXTS; otherwise raise
        BackendError where ONNX was asked for, or stay on PyTorch with a warning where metrics.json's
        record chose it."""
        from sentiment_app.inference.backends.onnx import OnnxClassifier

        runner = OnnxClassifier(self.model)
        problem = self.disagreement(runner, "ONNX Runtime")
        if problem and required:
            raise BackendError(problem)
        if problem:
            logger.warning("%s, although metrics.json records that it agreed: scoring with PyTorch", problem)
            return
        self.runner = runner
        self.backend = "onnx"

    def disagreement(self, runner, backend: str) -> str | None:
        """Where `runner` and eager PyTorch disagree on CHECK_TEXTS (a label, or a probability by
        more than the verification's bar), a sentence saying so; else None."""
        from sentiment_app.inference.backends.agreement import MAX_PROBABILITY_DIFFERENCE, agreement_with_eager

        id_lists = [ids for ids in self.encode(CHECK_TEXTS)[0] if ids]
        check = agreement_with_eager(self.model, runner, id_lists, self.encoder.padding_id)
        if check["label_agreement"] == 1.0 and check["max_probability_difference"] <= MAX_PROBABILITY_DIFFERENCE:
            return None
        return (
            f"{self.loaded.directory}: {backend} disagrees with PyTorch on the {len(id_lists)} check texts "
            f"({check['label_agreement']:.0%} of labels agree, probabilities differ by up to "
            f"{check['max_probability_difference']:.3f})"
        )

    def use_bfloat16(self) -> None:
        from sentiment_app.inference.backends.bfloat16 import Bfloat16Classifier, bfloat16_native

        if not bfloat16_native():
            raise BackendError(
                "the bfloat16 backend needs a CPU that multiplies in bfloat16 "
                "(AVX512-BF16 or AMX), and this one does not: use the default backend"
            )
        check = self.metrics.get("bfloat16") or {}
        if not check.get("passed"):
            found = (
                "records no bfloat16 check"
                if not check
                else f"records a failed bfloat16 check ({check['label_agreement']:.2%} of labels agree, "
                f"probabilities differ by up to {check['max_probability_difference']:.3f})"
            )
            raise BackendError(
                f"{self.loaded.directory}: metrics.json {found}, so bfloat16 scores "
                "are not known to match float32 ones; run `sentiment verify DIR` to measure it"
            )
        runner = Bfloat16Classifier(self.model)
        problem = self.disagreement(runner, "bfloat16")
        if problem:
            raise BackendError(f"{problem}, although metrics.json records that it agreed")
        self.runner = runner
        self.backend = "bfloat16"

    @property
    def name(self) -> str:
        """The model directory's name (e.g. "bilstm"), or a Hub model's repo id."""
        return model_name(self.loaded.directory)

    @property
    def metrics(self) -> dict[str, Any]:
        return self.loaded.metrics

    @property
    def max_length(self) -> int | None:
        return self.encoder.max_length

    def encodings(self, texts: Sequence[str]) -> list:
        """The tokenizer's Encodings of the texts: ids, tokens, word ids (the familiarity check reads
        them; the batch encoder's fast path leaves them out) and overflow."""
        if isinstance(texts, str):
            raise TypeError("predict() takes a list of texts, not a single string")
        return self.encoder.encode([str(text) for text in texts])

    def encode(self, texts: Sequence[str]) -> tuple[list[list[int]], list[bool]]:
        """Token ids and a was-truncated flag per text."""
        encodings = self.encodings(texts)
        return ([encoding.ids for encoding in encodings], [bool(encoding.overflowing) for encoding in encodings])

    @property
    def calibration(self):
        return self.loaded.config.calibration

    def probabilities(self, id_lists: Sequence[Sequence[int]]) -> torch.Tensor:
        """(num_texts, num_labels) calibrated probabilities (logits over the model's temperature), in input order."""
        return batched_probabilities(
            self.scorer(len(id_lists)),
            id_lists,
            self.encoder.padding_id,
            self.batch_size,
            temperature=self.calibration.temperature,
        )

    def backend_for(self, num_texts: int) -> str:
        """The backend that scores a call of `num_texts` texts: this predictor's, except that many
        texts through a cell that PyTorch scores faster in batches go to PyTorch."""
        config = self.loaded.config.model
        torch_batches = (
            self.backend == "onnx" and config.architecture == "recurrent" and config.cell in TORCH_BATCH_CELLS
        )
        return "torch" if torch_batches and num_texts > ONNX_MAX_TEXTS else self.backend

    def scorer(self, num_texts: int):
        """What to run `num_texts` texts through (see `backend_for`)."""
        return self.model if self.backend_for(num_texts) == "torch" else self.runner

    def predict_or_skip(self, texts: Sequence[str]) -> list[Prediction | None]:
        """One Prediction per text, in order, with None for texts that have no tokens
        (empty, or only whitespace and control characters)."""
        texts = list(texts) if not isinstance(texts, str) else texts
        encodings = self.encodings(texts)
        scorable = [index for index, encoding in enumerate(encodings) if encoding.ids]
        rows = self.probabilities([encodings[index].ids for index in scorable]).tolist()
        predictions: list[Prediction | None] = [None] * len(encodings)
        for index, row in zip(scorable, rows):
            best = max(range(len(row)), key=row.__getitem__)
            encoding = encodings[index]
            predictions[index] = Prediction(
                label=self.labels[best],
                probabilities=dict(zip(self.labels, row)),
                num_tokens=len(encoding.ids),
                truncated=bool(encoding.overflowing),
                unfamiliar=unfamiliar_reason(str(texts[index]), encoding.tokens, encoding.word_ids, UNK_TOKEN),
                unsure_below=self.calibration.unsure_below,
            )
        return predictions

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """One Prediction per text, in order; EmptyTextError names any text with no tokens."""
        predictions = self.predict_or_skip(texts)
        empty = [index for index, prediction in enumerate(predictions) if prediction is None]
        if empty:
            shown = ", ".join(str(index) for index in empty[:10])
            raise EmptyTextError(
                f"nothing to classify in text{'s' if len(empty) > 1 else ''} at index {shown}"
                f"{' ...' if len(empty) > 10 else ''}: the text is empty or only whitespace"
            )
        return predictions

    def predict_one(self, text: str) -> Prediction:
        return self.predict([text])[0]


def load_predictor(
    name_or_path: str | os.PathLike, batch_size: int = DEFAULT_BATCH_SIZE, backend: str = "auto"
) -> Predictor:
    """Load a model directory, a shipped model by name ("bilstm") or a Hub repo id ("user/name")."""
    return Predictor(load_model_dir(resolve_model_path(name_or_path)), batch_size=batch_size, backend=backend)
