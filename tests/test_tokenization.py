"""The tokenizer: trained on given texts, special ids looked up, saved and loaded unchanged."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sentiment_app.config import TokenizerConfig
from sentiment_app.tokenization import (
    PAD_TOKEN,
    UNK_TOKEN,
    FlatIds,
    TextEncoder,
    load_tokenizer,
    pad_batch,
    train_tokenizer,
)
from tests.helpers import synthetic_reviews

TEXTS = [text for text, _ in synthetic_reviews(200)]


@pytest.mark.parametrize("algorithm", ["wordpiece", "bpe"])
def test_save_and_load_give_the_same_ids(tmp_path, algorithm):
    tokenizer = train_tokenizer(
        TEXTS, TokenizerConfig(algorithm=algorithm, vocab_size=120, min_frequency=1, max_length=64)
    )
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    loaded = load_tokenizer(tmp_path / "tokenizer.json")
    samples = ["The film is GREAT", "an unseen zyxwv word", "ｆｕｌｌｗｉｄｔｈ letters"]
    assert TextEncoder(loaded).encode_ids(samples) == TextEncoder(tokenizer).encode_ids(samples)
    assert loaded.get_vocab_size() <= 120


def test_special_tokens_are_looked_up_not_assumed():
    encoder = TextEncoder(train_tokenizer(TEXTS, TokenizerConfig(vocab_size=100, min_frequency=1)))
    assert encoder.padding_id == encoder.tokenizer.token_to_id(PAD_TOKEN)
    assert encoder.unknown_id == encoder.tokenizer.token_to_id(UNK_TOKEN)
    batch = encoder.pad(encoder.encode_ids(["the film", "the film is great honestly"]))
    assert batch.lengths.tolist()[0] < batch.lengths.tolist()[1]
    assert (batch.token_ids[0, batch.lengths[0] :] == encoder.padding_id).all()


def test_normalisation_is_nfkc_and_lower_case():
    encoder = TextEncoder(train_tokenizer(TEXTS, TokenizerConfig(vocab_size=150, min_frequency=1)))
    assert encoder.encode_ids(["THE FILM"]) == encoder.encode_ids(["the film"])
    assert encoder.encode_ids(["ｔｈｅ ｆｉｌｍ"]) == encoder.encode_ids(["the film"])  # full width
    assert encoder.encode_ids(["the\x00 film\x07"]) == encoder.encode_ids(["the film"])  # controls


def test_truncation_keeps_the_configured_number_of_tokens():
    tokenizer = train_tokenizer(TEXTS, TokenizerConfig(vocab_size=100, min_frequency=1, max_length=5))
    encoding = TextEncoder(tokenizer).encode(["the film is great " * 10])[0]
    assert len(encoding.ids) == 5 and encoding.overflowing


def test_one_text_encodes_as_it_does_in_a_batch():
    tokenizer = train_tokenizer(TEXTS, TokenizerConfig(vocab_size=100, min_frequency=1, max_length=5))
    encoder = TextEncoder(tokenizer)
    texts = ["The film is great, not bad at all " * 3, "A dull film."]
    in_batch = encoder.encode(texts)
    for text, expected in zip(texts, in_batch):
        alone = encoder.encode([text])[0]  # the single-text path
        assert (alone.ids, alone.tokens, alone.offsets) == (expected.ids, expected.tokens, expected.offsets)
        assert [o.ids for o in alone.overflowing] == [o.ids for o in expected.overflowing]
    assert encoder.encode([]) == []


def test_vocabulary_comes_from_the_given_texts_only():
    tokenizer = train_tokenizer(TEXTS, TokenizerConfig(vocab_size=300, min_frequency=1))
    vocab = tokenizer.get_vocab()
    assert "wonderful" in vocab and "spaceship" not in vocab


def test_unknown_algorithm_is_refused():
    with pytest.raises(ValueError, match="bpe"):
        train_tokenizer(TEXTS, TokenizerConfig(algorithm="sentencepiece"))


def test_a_broken_tokenizer_file_is_named(tmp_path):
    path = tmp_path / "tokenizer.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="tokenizer.json"):
        load_tokenizer(path)


def test_bpe_training_is_deterministic():
    config = TokenizerConfig(vocab_size=150, min_frequency=1)
    first = train_tokenizer(TEXTS, config).to_str()
    assert all(train_tokenizer(TEXTS, config).to_str() == first for _ in range(5))


def test_flat_ids_hold_every_text_and_pad_the_rows_asked_for():
    id_lists = [[5, 9, 2], [7], [], [4, 4, 8, 1]]
    flat = FlatIds.from_lists(id_lists)
    assert flat.values.dtype == np.int32 and flat.offsets.tolist() == [0, 3, 4, 4, 8]
    assert [ids.tolist() for ids in flat] == id_lists and flat[-1].tolist() == [4, 4, 8, 1]
    assert flat.to_lists() == id_lists and flat.take([3, 0]).to_lists() == [[4, 4, 8, 1], [5, 9, 2]]
    assert FlatIds.concatenate([flat, flat.take([1])]).to_lists() == [*id_lists, [7]]
    batch = flat.pad(np.array([1, 3, 0]), padding_id=0)
    expected = pad_batch([id_lists[1], id_lists[3], id_lists[0]], padding_id=0)
    assert torch.equal(batch.token_ids, expected.token_ids) and torch.equal(batch.lengths, expected.lengths)
    with pytest.raises(IndexError):
        flat[4]


def test_flat_encoding_gives_the_ids_of_the_per_text_encoder():
    encoder = TextEncoder(train_tokenizer(TEXTS, TokenizerConfig(vocab_size=150, min_frequency=1, max_length=6)))
    samples = [*TEXTS[:50], "", "an unseen zyxwv word that runs past the longest length"]
    assert encoder.encode_flat(samples).to_lists() == encoder.encode_ids(samples)
    with_offsets, without = encoder.encode(samples), encoder.encode(samples, offsets=False)
    assert [e.ids for e in with_offsets] == [e.ids for e in without]
    assert [bool(e.overflowing) for e in with_offsets] == [bool(e.overflowing) for e in without]
    assert any(e.overflowing for e in without)  # the longest text was truncated
