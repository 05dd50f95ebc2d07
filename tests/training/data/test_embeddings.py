"""Pretrained vectors (the initialisation policy, spaCy's word hash) and the word-vector
neighbours behind the swapped copies of the distillation transfer set."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from sentiment_app.config import TokenizerConfig
from sentiment_app.tokenization import PAD_TOKEN, UNK_TOKEN, train_tokenizer
from tests.helpers import synthetic_reviews
from training.data.embeddings import (
    TARGET_STD,
    EmbeddingsError,
    WordVectors,
    initialise_embedding,
    load_vectors,
    murmurhash64a,
)
from training.distill.augment import UNKNOWN_WORD, AugmentSettings, swap_words, swapped_texts, transfer_texts
from training.distill.neighbours import nearest_words, swappable_words


def test_murmurhash_gives_spacys_documented_keys():
    # spaCy's documentation: nlp.vocab.strings["coffee"] == 3197928453018144401, "apple" likewise
    assert murmurhash64a(b"coffee") == 3197928453018144401
    assert murmurhash64a(b"apple") == 8566208034543834098
    assert murmurhash64a(b"coffee", seed=2) != 3197928453018144401


def fake_vectors(words: dict[str, list[float]]) -> WordVectors:
    names = list(words)
    matrix = np.array([words[name] for name in names], dtype=np.float32)
    return WordVectors(
        matrix=matrix, row_of=lambda token: names.index(token.lower()) if token.lower() in names else None
    )


def test_known_tokens_get_their_scaled_vector_padding_zeros_the_rest_seeded_draws():
    tokenizer = train_tokenizer(
        [text for text, _ in synthetic_reviews(100)],
        TokenizerConfig(algorithm="wordpiece", vocab_size=200, min_frequency=1),
    )
    vocab = tokenizer.get_vocab()
    known = [token for token in ("film", "great") if token in vocab]
    assert known, "the synthetic reviews should contain these words"
    vectors = fake_vectors({"film": [1.0, -2.0, 0.5], "great": [3.0, 0.0, -1.0], "other": [0.0, 1.0, 2.0]})
    weight = torch.empty(len(vocab), 3)
    coverage = initialise_embedding(weight, tokenizer, vectors, seed=0)

    scale = TARGET_STD / float(vectors.matrix.std())
    assert coverage["scale"] == pytest.approx(scale)
    assert coverage["tokens_with_vectors"] == len(known)
    for token in known:
        expected = torch.tensor(vectors.matrix[vectors.row_of(token)]) * scale
        assert torch.allclose(weight[vocab[token]], expected)
    assert (weight[vocab[PAD_TOKEN]] == 0).all()
    assert not (weight[vocab[UNK_TOKEN]] == 0).all()  # drawn, not zero
    again = torch.empty_like(weight)
    initialise_embedding(again, tokenizer, vectors, seed=0)
    assert torch.equal(weight, again)  # the draws are seeded
    initialise_embedding(again, tokenizer, vectors, seed=1)
    assert not torch.equal(weight, again)


def test_a_dimension_mismatch_and_an_unknown_source_are_named():
    tokenizer = train_tokenizer(["a film"], TokenizerConfig(vocab_size=30, min_frequency=1))
    with pytest.raises(EmbeddingsError, match="embedding_dim 4 differs"):
        initialise_embedding(torch.empty(5, 4), tokenizer, fake_vectors({"film": [1.0, 2.0]}), seed=0)
    with pytest.raises(EmbeddingsError, match="unknown embeddings 'word2vec'"):
        load_vectors("word2vec")


def test_swappable_words_are_frequent_lower_case_alphabetic_words():
    texts = ["The film , the FILM !", "a film 42 the", "rare"]
    assert swappable_words(texts) == ["film", "the"]  # 3 each; 'a', 'rare' once; '42', ',' never
    assert swappable_words(texts, min_count=1)[:2] == ["film", "the"]


def test_nearest_words_ranks_by_cosine_and_never_returns_the_word_itself():
    vectors = fake_vectors(
        {"good": [1.0, 0.1], "great": [0.9, 0.2], "bad": [-1.0, 0.1], "awful": [-0.9, 0.3], "plot": [0.0, 1.0]}
    )
    neighbours = nearest_words(
        ["good", "great", "bad", "awful", "plot", "missing"], vectors.matrix, vectors.row_of, count=2
    )
    assert "missing" not in neighbours
    assert neighbours["good"] == ["great", "plot"]
    assert neighbours["bad"] == ["awful", "plot"]
    assert all(word not in options for word, options in neighbours.items())
    # chunked computation gives the same table
    assert (
        nearest_words(["good", "great", "bad", "awful", "plot"], vectors.matrix, vectors.row_of, count=2, chunk=2)
        == neighbours
    )


def test_swap_words_replaces_only_words_with_neighbours_and_keeps_capitals():
    neighbours = {"good": ["great"], "film": ["movie"]}
    assert swap_words("Good film , bad plot", neighbours, 1.0, random.Random(0)) == "Great movie , bad plot"
    assert swap_words("Good film", neighbours, 0.0, random.Random(0)) == "Good film"


def test_swapped_copies_are_seeded_and_leave_the_other_copies_as_they_were():
    texts = ["a good film with a good cast", "a dull film", "the plot is good"]
    neighbours = {"good": ["great", "fine"], "dull": ["boring"], "film": ["movie"]}
    plain = AugmentSettings(copies=2, seed=3)
    swapping = AugmentSettings(copies=2, swap_copies=4, swap_probability=0.5, seed=3)
    assert transfer_texts(texts, swapping) == transfer_texts(texts, plain)  # cached logits stay valid
    swapped = swapped_texts(texts, swapping, neighbours)
    assert len(swapped) == 4 * len(texts)
    assert swapped == swapped_texts(texts, swapping, neighbours)
    assert (
        swapped_texts(texts, AugmentSettings(copies=2, swap_copies=4, swap_probability=0.5, seed=4), neighbours)
        != swapped
    )
    allowed = {w for text in texts for w in text.split()} | {w for ws in neighbours.values() for w in ws}
    words = {w for copy in swapped for w in copy.split()}
    assert words & {"great", "fine", "boring", "movie"}  # some words were swapped
    assert words <= allowed | {UNKNOWN_WORD}
    assert swapped_texts(texts, plain, neighbours) == []
