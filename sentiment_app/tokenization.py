"""Train, save, load and apply the subword tokenizer (Hugging Face `tokenizers`)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

from sentiment_app.config import TokenizerConfig

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"
SPECIAL_TOKENS = [PAD_TOKEN, UNK_TOKEN]
ALGORITHMS = ("bpe", "wordpiece")


def build_normalizer() -> normalizers.Normalizer:
    """NFKC, control characters removed, CJK characters split apart, then lower case."""
    return normalizers.Sequence(
        [
            normalizers.NFKC(),
            normalizers.BertNormalizer(
                clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
            ),
            normalizers.Lowercase(),
        ]
    )


def train_tokenizer(texts: Iterable[str], config: TokenizerConfig) -> Tokenizer:
    """Learn a BPE or WordPiece vocabulary from `texts` (the training split only).

    BPE is the default because its trainer is deterministic: the same texts give the same
    vocabulary in every process. The WordPiece trainer breaks ties between equally frequent
    merges in hash-map order, so its vocabulary (and every figure after it) can vary run to run.
    """
    if config.algorithm == "wordpiece":
        tokenizer = Tokenizer(models.WordPiece(unk_token=UNK_TOKEN))
        tokenizer.decoder = decoders.WordPiece()
        trainer = trainers.WordPieceTrainer(
            vocab_size=config.vocab_size,
            min_frequency=config.min_frequency,
            special_tokens=SPECIAL_TOKENS,
            show_progress=False,
        )
    elif config.algorithm == "bpe":
        tokenizer = Tokenizer(models.BPE(unk_token=UNK_TOKEN))
        trainer = trainers.BpeTrainer(
            vocab_size=config.vocab_size,
            min_frequency=config.min_frequency,
            special_tokens=SPECIAL_TOKENS,
            show_progress=False,
        )
    else:
        raise ValueError(f"unknown tokenizer {config.algorithm!r}; choose from {ALGORITHMS}")
    tokenizer.normalizer = build_normalizer()
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer.enable_truncation(max_length=config.max_length)
    return tokenizer


def load_tokenizer(path: Path) -> Tokenizer:
    try:
        return Tokenizer.from_file(str(path))
    except Exception as error:  # tokenizers raises a bare Exception on bad files
        raise ValueError(f"{path}: not a valid tokenizer.json ({error})") from error


@dataclass
class EncodedBatch:
    """Right-padded ids ready for a model."""

    token_ids: torch.Tensor  # (batch, time) int64, padded with the [PAD] id
    lengths: torch.Tensor  # (batch,) int64, real tokens per text


class TextEncoder:
    """Texts -> token ids through a trained tokenizer, with [PAD] looked up, never assumed."""

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.padding_id = self.required_id(PAD_TOKEN)
        self.unknown_id = self.required_id(UNK_TOKEN)

    def required_id(self, token: str) -> int:
        token_id = self.tokenizer.token_to_id(token)
        if token_id is None:
            raise ValueError(f"tokenizer has no {token} token")
        return token_id

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size()

    @property
    def max_length(self) -> int | None:
        truncation = self.tokenizer.truncation
        return truncation["max_length"] if truncation else None

    def encode_ids(self, texts: Sequence[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self.encode(texts, offsets=False)]

    def encode(self, texts: Sequence[str], offsets: bool = True):
        """The tokenizers `Encoding`s (ids, tokens, character offsets) of `texts`; offsets=False
        leaves the offsets out (the batch encoder's fast path), for callers that need only ids
        and truncation. One text is encoded in the calling thread: the batch encoder wakes a
        pool of threads that then spin for a while, taking the cores the model is about to run on."""
        texts = list(texts)
        check_texts(texts)
        if len(texts) == 1:
            return [self.tokenizer.encode(texts[0])]
        return self.tokenizer.encode_batch(texts) if offsets else self.tokenizer.encode_batch_fast(texts)

    def pad(self, id_lists: Sequence[Sequence[int]]) -> EncodedBatch:
        return pad_batch(id_lists, self.padding_id)

    def encode_flat(self, texts: Sequence[str]) -> FlatIds:
        """The ids of many texts as one flat array, through the parallel batch encoder without
        character offsets (training needs only the ids)."""
        encodings = self.tokenizer.encode_batch_fast(list(texts))
        return FlatIds.from_lists([encoding.ids for encoding in encodings])


class FlatIds(Sequence):
    """The token ids of many texts in one int32 array with offsets: 4 bytes a token and 8 a text,
    no Python object per text, and every text or batch a slice rather than a loop.

        values   [ 5 9 2 | 7 | 4 4 8 1 | ... ]      text i is values[offsets[i]:offsets[i + 1]]
        offsets  [ 0     3   4         8 ... ]
    """

    def __init__(self, values: np.ndarray, offsets: np.ndarray) -> None:
        self.values = np.ascontiguousarray(values, dtype=np.int32)  # (total_tokens,)
        self.offsets = np.ascontiguousarray(offsets, dtype=np.int64)  # (texts + 1,)
        if len(self.offsets) == 0 or self.offsets[0] != 0 or self.offsets[-1] != len(self.values):
            raise ValueError("offsets must start at 0 and end at the number of ids")

    @classmethod
    def from_lists(cls, id_lists: Sequence[Sequence[int]]) -> FlatIds:
        lengths = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(id_lists))  # (texts,)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        values = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.int32, count=int(offsets[-1]))
        return cls(values, offsets)

    @classmethod
    def concatenate(cls, parts: Sequence[FlatIds]) -> FlatIds:
        if not parts:
            return cls(np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64))
        starts = np.cumsum([0] + [len(part.values) for part in parts[:-1]])
        offsets = [parts[0].offsets[:1]] + [part.offsets[1:] + start for part, start in zip(parts, starts)]
        return cls(np.concatenate([part.values for part in parts]), np.concatenate(offsets))

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)  # (texts,)

    @property
    def nbytes(self) -> int:
        return self.values.nbytes + self.offsets.nbytes

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.take(np.arange(len(self))[index])
        if not -len(self) <= index < len(self):
            raise IndexError(f"text {index} of {len(self)}")
        index %= len(self)
        return self.values[self.offsets[index] : self.offsets[index + 1]]

    def __iter__(self):
        for start, end in zip(self.offsets[:-1].tolist(), self.offsets[1:].tolist()):
            yield self.values[start:end]

    def take(self, rows: np.ndarray) -> FlatIds:
        """The texts at `rows`, in that order, as a new flat array."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.lengths[rows]
        offsets = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        # each kept id's position in `values`: its text's start plus its place in the text
        within = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], lengths)
        return FlatIds(self.values[np.repeat(self.offsets[rows], lengths) + within], offsets)

    def to_lists(self) -> list[list[int]]:
        return [self.values[start:end].tolist() for start, end in zip(self.offsets[:-1], self.offsets[1:])]

    def pad(self, rows: np.ndarray, padding_id: int) -> EncodedBatch:
        """The texts at `rows` right-padded to the longest of them: ids (rows, longest), lengths (rows,)."""
        rows = np.asarray(rows, dtype=np.int64)
        lengths = self.lengths[rows]  # (rows,)
        width = int(lengths.max()) if len(rows) else 0
        positions = np.arange(width)[None, :]  # (1, longest)
        real = positions < lengths[:, None]  # (rows, longest)
        token_ids = np.full((len(rows), width), padding_id, dtype=np.int64)  # (rows, longest)
        token_ids[real] = self.values[(self.offsets[rows][:, None] + positions)[real]]
        return EncodedBatch(token_ids=torch.from_numpy(token_ids), lengths=torch.from_numpy(lengths))


SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidTextError(ValueError):
    """A text that is not a string of Unicode characters; the message names the text and where."""


def check_texts(texts: Sequence[object]) -> None:
    """Refuse what the tokenizer would fail on obscurely: non-strings and unpaired surrogates
    (from a JSON "\\ud800" escape, or undecodable bytes in command-line arguments)."""
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidTextError(f"text {index} is a {type(text).__name__}, not a string")
        found = SURROGATE.search(text)
        if found:
            raise InvalidTextError(
                f"text {index} holds an unpaired surrogate (U+{ord(found.group()):04X} at character "
                f"{found.start()}), which is not Unicode text: send it as UTF-8"
            )


def pad_batch(id_lists: Sequence[Sequence[int]], padding_id: int) -> EncodedBatch:
    """Right-pad id lists to the longest one: ids (batch, longest), lengths (batch,)."""
    lengths = np.fromiter(map(len, id_lists), dtype=np.int64, count=len(id_lists))  # (batch,)
    width = int(lengths.max()) if len(id_lists) else 0
    token_ids = np.full((len(id_lists), width), padding_id, dtype=np.int64)  # (batch, longest)
    real = np.arange(width)[None, :] < lengths[:, None]  # (batch, longest), row-major like the ids
    token_ids[real] = np.fromiter(itertools.chain.from_iterable(id_lists), dtype=np.int64, count=int(lengths.sum()))
    return EncodedBatch(token_ids=torch.from_numpy(token_ids), lengths=torch.from_numpy(lengths))
