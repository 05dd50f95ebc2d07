"""The distillation transfer set of one run: training texts and perturbed copies, with the
logits of the teacher (or the mean of an ensemble's) for each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sentiment_app.tokenization import TextEncoder
from training.data.embeddings import WordVectors
from training.data.sources import SentimentSplits, to_dataset
from training.distill.augment import AugmentSettings, swapped_texts, transfer_texts
from training.distill.counterfactual import CounterfactualSettings, counterfactual_copies
from training.distill.neighbours import Neighbours, nearest_words, swappable_words
from training.distill.teacher import TeacherError, read_record, teacher_logits
from training.evaluation.behaviour import check_texts
from training.evaluation.calibration import fit_temperature
from training.trainer import EncodedSplit, encode_split


class TransferSet:
    """Built once per run and shared by every student of it; the teachers' logits are cached in
    their directories, so later runs reuse them."""

    def __init__(
        self,
        teachers: list[Path],
        splits: SentimentSplits,
        settings: AugmentSettings,
        *,
        calibrate: bool,
        device: torch.device,
        log: Callable[[str], None],
        vectors: Callable[[str], WordVectors],
        progress: bool = True,
    ) -> None:
        self.teachers = teachers
        self.splits = splits
        self.settings = settings
        self.calibrate = calibrate
        self.device = device
        self.log = log
        self.vectors = vectors  # loads pretrained vectors by name, once per run
        self.progress = progress
        self._built: tuple[EncodedSplit, dict[str, Any]] | None = None
        self._temperatures: list[float] | None = None

    def build(
        self, encoder: TextEncoder, fingerprint: str, dataset: str, split_seed: int
    ) -> tuple[EncodedSplit, dict[str, Any]]:
        """The encoded transfer set, and what describes the distillation in metrics.json."""
        if self._built is None:
            records = [
                checked_teacher(directory, fingerprint, dataset, split_seed) for directory in self.teachers
            ]  # before any scoring
            training_texts = list(self.splits.train["text"])
            texts = transfer_texts(training_texts, self.settings)
            logits = self.ensemble_logits(texts)
            if self.settings.swap_copies:
                # scored apart, so that the copies above keep their cached teacher logits
                swapped = swapped_texts(training_texts, self.settings, self.swap_neighbours(training_texts))
                logits = np.concatenate([logits, self.ensemble_logits(swapped)])
                texts += swapped
            labels = list(self.splits.train["label"])
            counterfactual_settings = CounterfactualSettings(seed=self.settings.seed)
            if self.settings.counterfactuals:
                copies, targets, counts = counterfactual_copies(
                    training_texts,
                    labels,
                    logits[: len(training_texts)],
                    self.ensemble_logits,
                    counterfactual_settings,
                    exclude=check_texts(),
                )
                self.log(
                    f"counterfactual copies: {len(copies):,} ({', '.join(f'{k} {v:,}' for k, v in counts.items())})"
                )
                texts += copies
                logits = np.concatenate([logits, targets])
            labels += logits[len(labels) :].argmax(axis=1).tolist()  # copies: the teacher's label
            split = encode_split(encoder, to_dataset(texts, labels), logits)
            description = {
                "teacher": " + ".join(str(record.get("base")) for record in records),
                "teacher_directories": [str(directory) for directory in self.teachers],
                "teacher_validation_accuracy": self.teacher_validation_accuracy(records),
                "augmentation": self.settings.to_dict(),
                "transfer_texts": len(split),
            }
            if self.settings.counterfactuals:
                description["counterfactuals"] = counts | {"settings": asdict(counterfactual_settings)}
            if len(records) > 1:
                description["ensemble_members_validation_accuracy"] = [
                    record.get("validation_accuracy") for record in records
                ]
            if self.calibrate:
                description["calibration_temperatures"] = self.calibration_temperatures()
            self._built = (split, description)
        return self._built

    def swap_neighbours(self, texts: list[str]) -> Neighbours:
        """The nearest GloVe neighbours of each word seen twice in the training texts."""
        vectors = self.vectors("glove-50d")
        neighbours = nearest_words(swappable_words(texts), vectors.matrix, vectors.row_of)
        self.log(f"swapped copies: neighbours for {len(neighbours):,} words (GloVe 50d)")
        return neighbours

    def ensemble_logits(self, texts: list[str]) -> np.ndarray:
        """(texts, 2) logits of the teacher, or the mean of the teachers' logits; each divided by
        its calibration temperature when calibrating."""
        temperatures = self.calibration_temperatures() or [1.0] * len(self.teachers)
        return np.mean(
            [
                self.single_teacher_logits(directory, texts) / temperature
                for directory, temperature in zip(self.teachers, temperatures)
            ],
            axis=0,
        ).astype(np.float32)

    def single_teacher_logits(self, directory: Path, texts: list[str]) -> np.ndarray:
        return teacher_logits(directory, texts, self.device, self.log, progress=self.progress)

    def calibration_temperatures(self) -> list[float] | None:
        """Per teacher, the temperature fitted on the validation split (--calibrate-teacher)."""
        if not self.calibrate:
            return None
        if self._temperatures is None:
            validation = self.splits.validation
            labels = np.asarray(validation["label"])
            self._temperatures = [
                round(fit_temperature(self.single_teacher_logits(directory, list(validation["text"])), labels), 4)
                for directory in self.teachers
            ]
            self.log(
                "teacher calibration temperatures (validation NLL): "
                + ", ".join(f"{t:.2f}" for t in self._temperatures)
            )
        return self._temperatures

    def teacher_validation_accuracy(self, records: list[dict[str, Any]]) -> float | None:
        """A lone teacher's is in its record; an ensemble is scored on the validation split."""
        if len(records) == 1:
            return records[0].get("validation_accuracy")
        validation = self.splits.validation
        logits = self.ensemble_logits(list(validation["text"]))
        return float(np.mean(logits.argmax(axis=1) == np.asarray(validation["label"])))


def checked_teacher(directory: Path, fingerprint: str, dataset: str, split_seed: int) -> dict[str, Any]:
    """The teacher's record, refused unless it was fine-tuned on this very training split."""
    record = read_record(directory)
    if record.get("dataset", {}).get("fingerprint") != fingerprint:
        raise TeacherError(
            f"{directory}: the teacher was fine-tuned on other data or another split than "
            f"{dataset} with --split-seed {split_seed}; it may have seen the validation or test "
            "texts. Make a teacher with the same --dataset and --split-seed"
        )
    return record
