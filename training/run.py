"""One training run: candidates fitted with per-epoch checkpoints, the best one scored and written
as a model directory (the shared data and tokenizer are in `context`)."""

from __future__ import annotations

import argparse
import dataclasses
import errno
import math
import sys
from pathlib import Path
from typing import Any

import torch
from torch import distributed, nn

from sentiment_app.config import ModelDirConfig
from sentiment_app.models.classifiers import build_model, count_parameters
from sentiment_app.storage.model_dir import save_model_dir
from sentiment_app.tokenization import PAD_TOKEN, TextEncoder
from training.context import RunContext, start_process_group
from training.data.embeddings import VECTOR_SOURCES, EmbeddingsError, initialise_embedding
from training.data.sources import DatasetError
from training.distill.teacher import TeacherError
from training.evaluation.compare import write_comparison
from training.model_card import render_model_card
from training.precision import PrecisionError
from training.report import backend_figures, behavioural_figures, created_now, library_versions, test_figures
from training.resume import (
    ResumeError,
    checkpoint_dir,
    read_checkpoint,
    read_checkpoint_tokenizer,
    remove_checkpoint,
    restore_trainer,
    save_checkpoint,
)
from training.settings import model_config_from_args, training_config_from_args
from training.trainer import Trainer, TrainerState, TrainingConfig, averaging_horizon, evaluate_split, process_group

RUN_ERRORS = (DatasetError, ResumeError, EmbeddingsError, TeacherError, PrecisionError)
WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}  # a full or read-only disk: one line


def run_settings(name: str, model_config, training: TrainingConfig, context: RunContext) -> dict[str, Any]:
    """What must match for --resume to continue a run."""
    args = context.args
    return {
        "model_name": name,
        "model": model_config.to_dict(),
        # float32 left out, so that checkpoints from before the option still resume
        "training": {
            key: value for key, value in training.to_dict().items() if (key, value) != ("precision", "float32")
        },
        "tokenizer": dataclasses.asdict(context.tokenizer_config),
        "embeddings": args.embeddings,
        "freeze_embeddings": args.freeze_embeddings,
        "dataset_fingerprint": context.fingerprint,
        "teacher": [str(directory) for directory in args.teacher or []] or None,
        "augment_copies": args.augment_copies if args.teacher else None,
        "calibrate_teacher": args.calibrate_teacher,
        # only when used, so that checkpoints from before the option still resume
        **({"swap_copies": args.swap_copies} if args.teacher and args.swap_copies else {}),
        **({"counterfactuals": True} if args.teacher and args.counterfactuals else {}),
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


def initialised_embeddings(model: nn.Module, seed: int, context: RunContext) -> dict[str, Any] | None:
    """Start the embedding table from --embeddings' vectors; what config.json records of it."""
    args = context.args
    if not args.embeddings:
        return None
    source = VECTOR_SOURCES[args.embeddings]
    coverage = initialise_embedding(model.embedding.weight, context.tokenizer(), context.vectors(), seed=seed)
    model.embedding.weight.requires_grad_(not args.freeze_embeddings)
    return {
        "name": source.name,
        "license": source.license,
        "frozen": args.freeze_embeddings,
        **coverage,
        "description": f"{source.description}; {coverage['tokens_with_vectors']:,} of "
        f"{coverage['vocabulary']:,} tokens ({coverage['coverage']:.0%}) start "
        "from a pretrained vector, the rest from N(mean, std) of the vectors; "
        f"{'frozen' if args.freeze_embeddings else 'fine-tuned'} in training",
    }


def fit_candidate(
    name: str, model_config, training: TrainingConfig, out_dir: Path, context: RunContext
) -> FittedCandidate:
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
                f"{resume_dir}: the checkpoint was made with other settings or data (or by a release "
                "with other defaults; the checkpoint's state.json lists them under run_settings); rerun "
                "with those settings and --resume, or drop --resume to start afresh"
            )
        checkpoint = (tensors, meta)
    torch.manual_seed(training.seed)
    model = build_model(model_config)
    embeddings = initialised_embeddings(model, training.seed, context)
    if embeddings:
        context.log(f"{name}: {embeddings['description']}")
    train, validation = context.encoded("train"), context.encoded("validation")
    distillation = None
    if args.teacher:
        train, distillation = context.transfer()
        distillation = {**distillation, "temperature": training.distillation_temperature}
        context.log(
            f"{name}: distilling {distillation['teacher']} (validation accuracy "
            f"{distillation['teacher_validation_accuracy']:.4f}) over {len(train):,} texts"
        )
    rank, world_size = process_group()
    torch.manual_seed(training.seed + rank)  # same initial weights, own dropout per process
    trainer = Trainer(
        model,
        training,
        train,
        validation,
        encoder.padding_id,
        model_config.labels,
        show_progress=not args.quiet,
        unknown_id=encoder.unknown_id,
        device=context.device,
    )
    if checkpoint is not None:
        restore_trainer(trainer, *checkpoint)
        context.log(f"{name}: resuming at epoch {trainer.state.next_epoch} from {resume_dir}")
    context.log(
        f"{name}: {count_parameters(model):,} parameters, training on {len(train):,} texts"
        + (f" in {world_size} processes" if world_size > 1 else "")
        + (f" on {context.device}" if context.device.type != "cpu" else "")
        + (
            f" (seed {training.seed}, candidate {training.seed - args.seed + 1} of {args.candidates})"
            if args.candidates > 1
            else ""
        )
    )

    def keep_checkpoint(current: Trainer) -> None:
        if rank == 0:
            save_checkpoint(resume_dir, current, tokenizer, settings)

    steps = training.epochs * math.ceil(len(train) / training.batch_size)
    if training.average_decay and steps < 3 * averaging_horizon(training.average_decay):
        context.log(
            f"{name}: warning: --average-decay {training.average_decay} averages over about "
            f"{averaging_horizon(training.average_decay):,.0f} steps, but this run has at most {steps:,}; "
            "the average will stay close to the initial weights (try --average-decay 0.99 or 0)"
        )
    state = trainer.fit(on_epoch_end=keep_checkpoint, log=context.log)
    return FittedCandidate(model.cpu(), state, training, embeddings, distillation)


def train_one(name: str, out_dir: Path, context: RunContext, settings: dict[str, Any]) -> dict[str, Any]:
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
        training = dataclasses.replace(training_config_from_args(args), seed=seed)
        fitted = fit_candidate(name, model_config, training, out_dir, context)
        candidates.append(
            {
                "seed": seed,
                "validation_accuracy": fitted.state.best_accuracy,
                "best_epoch": fitted.state.best_epoch,
                "training_seconds": fitted.state.elapsed_seconds,
            }
        )
        if best is None or fitted.state.best_accuracy > best.state.best_accuracy:
            best = fitted
        if args.candidates > 1:
            context.log(f"{name}: candidate seed {seed}: validation accuracy {fitted.state.best_accuracy:.4f}")
    if process_group()[0] != 0:  # the other processes hold identical weights: one writes the results
        return {}
    model, state = best.model, best.state
    labels = model_config.labels
    validation_report = evaluate_split(model, context.encoded("validation"), encoder.padding_id, labels)
    validation_report.pop("predictions")
    test = None if args.skip_test else context.encoded("test")
    test_report = None if test is None else test_figures(model, test, encoder.padding_id, labels)
    config = ModelDirConfig(
        name=name,
        model=model_config,
        tokenizer=context.tokenizer_config,
        weights_dtype=args.weights_dtype,
        embeddings=best.embeddings,
    )
    metrics = {
        "model": name,
        "validation": validation_report,
        "test": test_report,
        "best_epoch": state.best_epoch,
        "epochs_run": len(state.history),
        "history": state.history,
        "training_seconds": state.elapsed_seconds,
        "parameters": count_parameters(model),
        "seed": best.training.seed,
        "candidates": candidates if args.candidates > 1 else None,
        "training": best.training.to_dict(),
        "distillation": best.distillation,
        "dataset": {
            "name": args.dataset,
            "fingerprint": context.fingerprint,
            "sizes": context.splits.sizes(),
            "split_seed": args.split_seed,
            "notes": context.splits.notes,
        },
        "behavioural": behavioural_figures(model, encoder),
        **backend_figures(model, test, encoder.padding_id),
        "reference": None
        if test_report is None or context.reference is None
        else context.reference.against(test_report, test.labels),
        "library_versions": library_versions(),
        "command": context.command,
        "settings": settings,
        "created": created_now(),
    }
    save_model_dir(out_dir, config, model, tokenizer, metrics, render_model_card(config, metrics))
    remove_checkpoint(checkpoint_dir(out_dir))
    summary = (
        f"test accuracy {test_report['accuracy']:.4f}, macro-F1 {test_report['macro_f1']:.4f}"
        if test_report
        else f"validation accuracy {validation_report['accuracy']:.4f}"
    )
    context.log(f"{name}: {summary} -> {out_dir}")
    return metrics


def train_all(args: argparse.Namespace, argv: list[str], settings: dict[str, dict[str, Any]], prog: str) -> int:
    """Train every model the command names; one line and 2 on bad input, 1 on a full or read-only disk."""
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quiet:
        import datasets

        datasets.disable_progress_bars()
    names = args.model_names
    several = args.models is not None
    out = args.out or Path("runs") / ("comparison" if several else names[0])
    grouped = start_process_group(args.device)
    try:
        context = RunContext(args, argv, prog)
        results = {name: train_one(name, out / name if several else out, context, settings[name]) for name in names}
    except RUN_ERRORS as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if error.errno not in WRITE_ERRNOS:
            raise
        print(f"{prog}: error: cannot write {error.filename or 'the model'}: {error.strerror}", file=sys.stderr)
        return 1
    finally:
        if grouped:
            distributed.barrier()
            distributed.destroy_process_group()
    if several and process_group()[0] == 0 and all(results.values()):
        labels = None if args.skip_test else context.encoded("test").labels
        context.log("\n" + write_comparison(out, results, args.dataset, labels))
    return 0
