"""What every model of one training run shares: the data, the tokenizer, the device, the log."""

from __future__ import annotations

import argparse
import os
import shlex
from typing import Any

import torch
from tokenizers import Tokenizer
from torch import distributed

from sentiment_app.tokenization import TextEncoder, train_tokenizer
from training.data.embeddings import VECTOR_SOURCES, WordVectors, load_vectors, minilm_tokenizer
from training.data.sources import DatasetError, SentimentSplits, load_splits
from training.data.streaming import TOKENIZER_SAMPLE, StreamingSplits, StreamingTrainSplit, open_streaming_splits
from training.distill.augment import AugmentSettings
from training.distill.transfer import TransferSet
from training.precision import check_precision
from training.report import ReferenceFigures
from training.settings import tokenizer_config_from_args
from training.trainer import EncodedSplit, encode_split, process_group


class RunContext:
    """What every model of one invocation shares: data, tokenizer, command line."""

    def __init__(self, args: argparse.Namespace, argv: list[str], prog: str) -> None:
        self.args = args
        self.command = shlex.join([*prog.split(), *argv])
        quiet = args.quiet or process_group()[0] != 0  # under torchrun, process 0 reports
        self.log = (lambda message: None) if quiet else (lambda message: print(message, flush=True))
        self.device = pick_device(args.device)
        if args.precision:
            check_precision(args.precision, self.device)
        self.tokenizer_config = tokenizer_config_from_args(args)
        self.log(f"loading dataset {args.dataset} ...")
        self.streaming = getattr(args, "streaming", False)
        if self.streaming:
            self.splits: SentimentSplits | StreamingSplits = open_streaming_splits(
                args.dataset, args.split_seed, args.text_column, args.label_column, args.shuffle_buffer
            )
        else:
            self.splits = load_splits(
                args.dataset, seed=args.split_seed, text_column=args.text_column, label_column=args.label_column
            )
        self.fingerprint = self.splits.fingerprint()
        sizes = self.splits.sizes()
        self.log(
            f"{args.dataset}: {sizes['train']:,} train / {sizes['validation']:,} validation "
            f"/ {sizes['test']:,} test texts (fingerprint {self.fingerprint[:12]})"
        )
        # the TF-IDF reference fits the whole training split in memory: not for a stream
        self.reference = None if self.streaming else ReferenceFigures(self.splits, self.log)
        self.transfer_set = (
            None
            if not args.teacher
            else TransferSet(
                args.teacher,
                self.splits,
                AugmentSettings(
                    copies=args.augment_copies,
                    swap_copies=args.swap_copies,
                    counterfactuals=args.counterfactuals,
                    seed=args.split_seed,
                ),
                calibrate=args.calibrate_teacher,
                device=self.device,
                log=self.log,
                vectors=self.vectors,
                progress=not args.quiet,
            )
        )
        self._tokenizer: Tokenizer | None = None
        self._encoded: dict[str, EncodedSplit] = {}
        self._vectors: dict[str, WordVectors] = {}  # by name, loaded once per run

    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            source = VECTOR_SOURCES.get(self.args.embeddings or "")
            if source is not None and source.has_own_tokenizer:
                self._tokenizer = minilm_tokenizer(self.tokenizer_config.max_length)
            elif self.streaming:  # a bounded sample from the start of the shuffled stream
                sample = self.splits.tokenizer_sample(self.args.split_seed, TOKENIZER_SAMPLE)
                self._tokenizer = train_tokenizer(sample, self.tokenizer_config)
            else:
                self._tokenizer = train_tokenizer(self.splits.train["text"], self.tokenizer_config)
        return self._tokenizer

    def use_tokenizer(self, tokenizer: Tokenizer) -> None:
        if self._tokenizer is not None and self._tokenizer.to_str() != tokenizer.to_str():
            self._encoded = {}
        self._tokenizer = tokenizer

    def vectors(self, name: str | None = None) -> WordVectors:
        """The vectors of --embeddings, or of `name`; each loaded once per run."""
        name = name or self.args.embeddings
        if name not in self._vectors:
            self.log(f"loading {name} vectors ...")
            self._vectors[name] = load_vectors(name)
        return self._vectors[name]

    def encoded(self, split: str) -> EncodedSplit | StreamingTrainSplit:
        if split not in self._encoded:
            encoder = TextEncoder(self.tokenizer())
            if self.streaming and split == "train":
                self._encoded[split] = StreamingTrainSplit(self.splits, encoder)
            else:
                self._encoded[split] = encode_split(encoder, self.splits.splits[split])
        return self._encoded[split]

    def transfer(self) -> tuple[EncodedSplit, dict[str, Any]]:
        return self.transfer_set.build(
            TextEncoder(self.tokenizer()), self.fingerprint, self.args.dataset, self.args.split_seed
        )


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
