"""Per-epoch training checkpoints (safetensors + JSON, never pickle) for `--resume`.

A checkpoint lives beside the output directory, in `.<name>.checkpoint/`, and is replaced
atomically after every epoch:

    state.safetensors   model.*, best.* (best weights so far), average.* (the moving average of
                        the weights, with --average-decay), optimizer.<param>.<key>, torch_rng
    state.json          epoch counters, history, optimizer settings, the run's settings
    tokenizer.json      the tokenizer the run trained, reused as is on resume
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer

from sentiment_app.storage.atomic import staged_directory
from sentiment_app.tokenization import load_tokenizer
from training.trainer import Trainer

STATE_TENSORS = "state.safetensors"
STATE_JSON = "state.json"
TOKENIZER = "tokenizer.json"


class ResumeError(ValueError):
    pass


def checkpoint_dir(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    return out_dir.with_name(f".{out_dir.name}.checkpoint")


def save_checkpoint(directory: Path, trainer: Trainer, tokenizer: Tokenizer, run_settings: dict[str, Any]) -> None:
    state = trainer.state
    tensors: dict[str, torch.Tensor] = {}
    for name, tensor in trainer.model.state_dict().items():
        tensors[f"model.{name}"] = tensor.detach().clone().contiguous()
    for name, tensor in (state.best_weights or {}).items():
        tensors[f"best.{name}"] = tensor.detach().clone().contiguous()
    if trainer.averaged is not None:  # its module's weights and n_averaged
        for name, tensor in trainer.averaged.state_dict().items():
            tensors[f"average.{name}"] = tensor.detach().clone().contiguous()
    optimizer_state = trainer.optimizer.state_dict()
    for parameter_id, entries in optimizer_state["state"].items():
        for key, value in entries.items():
            tensors[f"optimizer.{parameter_id}.{key}"] = torch.as_tensor(value).clone().contiguous()
    tensors["torch_rng"] = torch.get_rng_state()
    meta = {
        "next_epoch": state.next_epoch,
        "history": state.history,
        "best_accuracy": state.best_accuracy,
        "best_epoch": state.best_epoch,
        "epochs_without_gain": state.epochs_without_gain,
        "elapsed_seconds": state.elapsed_seconds,
        "optimizer_param_groups": optimizer_state["param_groups"],
        "run_settings": run_settings,
    }
    with staged_directory(directory) as staging:
        save_file(tensors, str(staging / STATE_TENSORS))
        (staging / STATE_JSON).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        tokenizer.save(str(staging / TOKENIZER))


def read_checkpoint_tokenizer(directory: Path) -> Tokenizer:
    """Only the tokenizer of a checkpoint (the run reuses it before it reads the state)."""
    return load_tokenizer(Path(directory) / TOKENIZER)


def read_checkpoint(directory: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any], Tokenizer]:
    directory = Path(directory)
    try:
        tensors = load_file(str(directory / STATE_TENSORS))
        meta = json.loads((directory / STATE_JSON).read_text(encoding="utf-8"))
    except Exception as error:
        raise ResumeError(f"{directory}: unreadable checkpoint ({error})") from error
    return tensors, meta, read_checkpoint_tokenizer(directory)


def restore_trainer(trainer: Trainer, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Put a trainer back exactly where the checkpoint left it."""

    def with_prefix(prefix: str) -> dict[str, torch.Tensor]:
        return {name[len(prefix) :]: tensor for name, tensor in tensors.items() if name.startswith(prefix)}

    trainer.model.load_state_dict(with_prefix("model."))
    best = with_prefix("best.")
    if trainer.averaged is not None:
        trainer.averaged.load_state_dict(with_prefix("average."))
    optimizer_state: dict[int, dict[str, torch.Tensor]] = {}
    for name, tensor in with_prefix("optimizer.").items():
        parameter_id, key = name.split(".", 1)
        optimizer_state.setdefault(int(parameter_id), {})[key] = tensor
    trainer.optimizer.load_state_dict({"state": optimizer_state, "param_groups": meta["optimizer_param_groups"]})
    torch.set_rng_state(tensors["torch_rng"])
    state = trainer.state
    state.next_epoch = meta["next_epoch"]
    state.history = meta["history"]
    state.best_accuracy = meta["best_accuracy"]
    state.best_epoch = meta["best_epoch"]
    state.epochs_without_gain = meta["epochs_without_gain"]
    state.elapsed_seconds = meta["elapsed_seconds"]
    state.best_weights = best or None


def remove_checkpoint(directory: Path) -> None:
    shutil.rmtree(directory, ignore_errors=True)
