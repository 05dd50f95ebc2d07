"""Fixtures of the distillation tests: a tiny BERT and a teacher fine-tuned from it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.helpers import synthetic_reviews
from training.distill.teacher import main as teacher_main

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> Path:
    """A one-layer BERT with a WordPiece tokenizer, laid out like a Hugging Face model directory."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

    directory = tmp_path_factory.mktemp("tiny-bert")
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(
        [t for t, _ in synthetic_reviews(400)], trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials)
    )
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer.save(str(directory / "tokenizer.json"))
    config = transformers.BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
        pad_token_id=0,
    )
    torch.manual_seed(0)
    transformers.BertModel(config).save_pretrained(str(directory), safe_serialization=True)
    return directory


@pytest.fixture(scope="module")
def teacher_dir(tiny_bert, tiny_csv, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("teacher") / "teacher"
    code = teacher_main(
        [
            "--base",
            str(tiny_bert),
            "--dataset",
            str(tiny_csv),
            "--epochs",
            "3",
            "--batch-size",
            "16",
            "--learning-rate",
            "2e-3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    return out
