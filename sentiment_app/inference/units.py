"""Hidden units to explore, as LSTMVis does (Strobelt et al. 2017): select the units that stay
on across a span of a text, find the phrases of a reference corpus that switch on the most
similar set, rank the units that separate positive from negative texts, and fix units to
see how the prediction moves.

The reference corpus is the validation split the shipped models were chosen on
(assets/reference/validation.jsonl, written by `python -m training.data.reference_corpus`);
its states are computed once per model, on first use, within the bounds below.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sentiment_app.inference.predictor import Predictor
from sentiment_app.limits import MAX_UNITS_NAMED
from sentiment_app.models.cells import reference_forward
from sentiment_app.models.classifiers import RecurrentClassifier, reverse_within_lengths
from sentiment_app.paths import ASSETS_DIR
from sentiment_app.tokenization import pad_batch

REFERENCE_CORPUS = ASSETS_DIR / "reference" / "validation.jsonl"
MAX_REFERENCE_TEXTS = 2_000
MAX_REFERENCE_TOKENS = 64  # per text: snippets are short, and the states stay bounded
MAX_CORPUS_BYTES = 4 * 1024 * 1024
REFERENCE_BATCH = 128
MAX_MATCHES = 10
DEFAULT_THRESHOLD = 0.1  # the shipped LSTM's states are small (mean |h| about 0.12): 0.1 selects a handful


class UnitError(ValueError):
    """A unit request that cannot be answered; the message says why."""


@dataclass
class ReferenceStates:
    """Every token's top-layer state on the reference corpus: states (tokens, units) float16,
    text i's tokens at rows starts[i]:starts[i + 1]; features (texts, units): what the output
    layer reads (the pooled state)."""

    texts: list[str]
    labels: np.ndarray  # (texts,) 0 or 1
    offsets: list[list[tuple[int, int]]]
    starts: np.ndarray  # (texts + 1,)
    states: np.ndarray  # (tokens, units)
    features: np.ndarray  # (texts, units)


@dataclass
class PhraseMatch:
    text: str
    start: int  # character offsets of the matching window in `text`
    end: int
    score: float  # Jaccard similarity of the window's "on" units with the selected ones
    shared_units: int
    label: int

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "phrase": self.text[self.start : self.end],
            "score": self.score,
            "shared_units": self.shared_units,
            "label": self.label,
        }


@dataclass
class SentimentUnit:
    unit: int
    leans: str  # the label whose texts switch it on more
    separation: float  # |Cohen's d| of the pooled feature between positive and negative texts

    def to_dict(self) -> dict:
        return {"unit": self.unit, "leans": self.leans, "separation": self.separation}


def read_reference_corpus(path: Path = REFERENCE_CORPUS) -> tuple[list[str], list[int]]:
    """Texts and labels of the reference corpus, within its size and count bounds."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size > MAX_CORPUS_BYTES:
        raise UnitError(f"{path}: no reference corpus (or over {MAX_CORPUS_BYTES // 2**20} MiB)")
    texts, labels = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n")[:MAX_REFERENCE_TEXTS], start=1):
        if line.strip():
            try:
                record = json.loads(line)
                texts.append(str(record["text"]))
                labels.append(int(record["label"]))
            except (ValueError, KeyError, TypeError) as error:
                raise UnitError(f"{path}: line {number} is not a record of text and label ({error})") from error
    return texts, labels


def text_states(predictor: Predictor, id_lists: list[list[int]]) -> tuple[list[np.ndarray], torch.Tensor]:
    """Each text's top-layer states aligned with its tokens (tokens, units), and the pooled features."""
    model = predictor.model
    batch = pad_batch(id_lists, predictor.encoder.padding_id)
    with torch.inference_mode():
        embedded = model.embedding(batch.token_ids)  # (batch, time, embedding)
        outputs = model.run_layers(embedded, batch.lengths)  # per direction (batch, time, H)
        aligned = [outputs[0]] + [reverse_within_lengths(o, batch.lengths) for o in outputs[1:]]
        states = torch.cat(aligned, dim=2)  # (batch, time, directions * H)
        features = model.encode(embedded, batch.lengths)  # (batch, directions * H)
    return [states[row, :length].numpy() for row, length in enumerate(batch.lengths.tolist())], features


def reference_states(predictor: Predictor, texts: list[str], labels: list[int]) -> ReferenceStates:
    encodings = predictor.encoder.encode(texts)
    kept = [index for index, encoding in enumerate(encodings) if encoding.ids]
    per_text, features, offsets = [], [], []
    for start in range(0, len(kept), REFERENCE_BATCH):
        chunk = kept[start : start + REFERENCE_BATCH]
        states, pooled = text_states(predictor, [encodings[i].ids[:MAX_REFERENCE_TOKENS] for i in chunk])
        per_text += [s.astype(np.float16) for s in states]
        features.append(pooled.numpy())
        offsets += [encodings[i].offsets[:MAX_REFERENCE_TOKENS] for i in chunk]
    lengths = np.array([len(s) for s in per_text])
    return ReferenceStates(
        texts=[texts[i] for i in kept],
        labels=np.array([labels[i] for i in kept]),
        offsets=offsets,
        starts=np.concatenate([[0], np.cumsum(lengths)]),
        states=np.concatenate(per_text),
        features=np.concatenate(features),
    )


def units_on_across(states: np.ndarray, start: int, end: int, threshold: float) -> list[int]:
    """The units above `threshold` at every token of [start, end) of states (tokens, units)."""
    if not 0 <= start < end <= len(states):
        raise UnitError(f"the span must lie within the text's {len(states)} tokens, got tokens {start} to {end}")
    return np.flatnonzero((states[start:end] > threshold).all(axis=0)).tolist()


def nearest_phrases(
    reference: ReferenceStates, units: list[int], length: int, threshold: float, limit: int = 5
) -> list[PhraseMatch]:
    """The reference windows of `length` tokens whose on-units are most like `units` (Jaccard),
    the best window of each text, best texts first."""
    if not units:
        return []
    limit = min(limit, MAX_MATCHES)
    selected = np.zeros(reference.states.shape[1], dtype=bool)
    selected[units] = True
    best: list[tuple[float, int, int, int]] = []  # (score, shared, text, first token)
    for index in range(len(reference.texts)):
        states = reference.states[reference.starts[index] : reference.starts[index + 1]]
        if len(states) < length:
            continue
        windows = np.lib.stride_tricks.sliding_window_view(states, length, axis=0)  # (windows, units, length)
        on = windows.min(axis=2) > threshold  # (windows, units)
        shared = (on & selected).sum(axis=1)
        union = on.sum(axis=1) + len(units) - shared
        scores = shared / np.maximum(union, 1)
        window = int(scores.argmax())
        best.append((float(scores[window]), int(shared[window]), index, window))
    best.sort(key=lambda item: (-item[0], -item[1]))
    matches = []
    for score, shared, index, window in best[:limit]:
        offsets = reference.offsets[index]
        matches.append(
            PhraseMatch(
                text=reference.texts[index],
                start=offsets[window][0],
                end=offsets[window + length - 1][1],
                score=score,
                shared_units=shared,
                label=int(reference.labels[index]),
            )
        )
    return matches


def sentiment_units(reference: ReferenceStates, labels: tuple[str, ...], limit: int = 5) -> list[SentimentUnit]:
    """The units whose pooled value best separates the corpus's positive from its negative texts."""
    features = reference.features.astype(np.float64)  # (texts, units)
    positive, negative = features[reference.labels == 1], features[reference.labels == 0]
    pooled_std = np.sqrt((positive.var(axis=0) + negative.var(axis=0)) / 2) + 1e-6
    effect = (positive.mean(axis=0) - negative.mean(axis=0)) / pooled_std  # Cohen's d per unit
    order = np.argsort(-np.abs(effect))[:limit]
    return [
        SentimentUnit(
            unit=int(unit), leans=labels[1] if effect[unit] > 0 else labels[0], separation=float(abs(effect[unit]))
        )
        for unit in order
    ]


def probabilities_with_units(predictor: Predictor, ids: list[int], fixed: dict[int, float] | None) -> dict[str, float]:
    """The model's calibrated probabilities on one text with `fixed` units held at their values (None: as trained)."""
    batch = pad_batch([ids], predictor.encoder.padding_id)
    with torch.inference_mode():
        logits = reference_forward(predictor.model, batch.token_ids, batch.lengths, fixed_units=fixed).logits
    return dict(zip(predictor.labels, torch.softmax(logits[0] / predictor.calibration.temperature, dim=0).tolist()))


class UnitExplorer:
    """The reference states of each recurrent model, computed once on first use."""

    def __init__(self, corpus: Path = REFERENCE_CORPUS) -> None:
        self.corpus = corpus
        self._references: dict[str, ReferenceStates] = {}
        self._lock = threading.Lock()

    def reference(self, predictor: Predictor) -> ReferenceStates:
        check_recurrent(predictor)
        with self._lock:
            if predictor.name not in self._references:
                texts, labels = read_reference_corpus(self.corpus)
                self._references[predictor.name] = reference_states(predictor, texts, labels)
            return self._references[predictor.name]


def check_recurrent(predictor: Predictor) -> RecurrentClassifier:
    if not isinstance(predictor.model, RecurrentClassifier):
        raise UnitError(f"{predictor.name} has no recurrent units (it averages its word vectors)")
    return predictor.model


@dataclass
class UnitExploration:
    """What `explore_units` found for one span of one text."""

    model: str
    tokens: list[str]
    span: tuple[int, int]  # tokens [start, end) of the text
    threshold: float
    selected_units: list[int]
    matches: list[PhraseMatch]
    sentiment_units: list[SentimentUnit]
    activations: dict[int, list[float]]  # sentiment unit -> its value at each token of the text

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "tokens": self.tokens,
            "span": list(self.span),
            "span_tokens": self.tokens[self.span[0] : self.span[1]],
            "threshold": self.threshold,
            "selected_units": self.selected_units,
            "matches": [match.to_dict() for match in self.matches],
            "sentiment_units": [unit.to_dict() for unit in self.sentiment_units],
            "sentiment_unit_activations": {str(unit): values for unit, values in self.activations.items()},
        }


def span_tokens(offsets: list[tuple[int, int]], text: str, phrase: str) -> tuple[int, int]:
    """The tokens [start, end) that cover the first occurrence of `phrase` in `text`."""
    position = text.find(phrase) if phrase.strip() else -1
    if position < 0:
        raise UnitError(f"the span {phrase!r} is not part of the text: copy a few words of it")
    end = position + len(phrase)
    covered = [index for index, (start, stop) in enumerate(offsets) if start < end and stop > position]
    if not covered:
        raise UnitError(f"the span {phrase!r} holds no token the model reads")
    return covered[0], covered[-1] + 1


def explore_units(
    explorer: UnitExplorer, predictor: Predictor, text: str, phrase: str, threshold: float, limit: int = 5
) -> UnitExploration:
    """Units on across `phrase` of `text`, the reference phrases most like them, and the
    corpus's sentiment units with their values over the text."""
    if not -1.0 < threshold < 1.0:
        raise UnitError(f"the threshold must lie between -1 and 1 (hidden states do), got {threshold}")
    reference = explorer.reference(predictor)
    encoding = predictor.encoder.encode([text])[0]
    if not encoding.ids:
        raise UnitError("the text holds no token the model reads")
    start, end = span_tokens(encoding.offsets, text, phrase)
    states = text_states(predictor, [encoding.ids])[0][0]  # (tokens, units)
    selected = units_on_across(states, start, end, threshold)
    ranked = sentiment_units(reference, predictor.labels)
    return UnitExploration(
        model=predictor.name,
        tokens=list(encoding.tokens),
        span=(start, end),
        threshold=threshold,
        selected_units=selected,
        matches=nearest_phrases(reference, selected, end - start, threshold, limit),
        sentiment_units=ranked,
        activations={unit.unit: states[:, unit.unit].astype(float).tolist() for unit in ranked},
    )


@dataclass
class Ablation:
    model: str
    units: list[int]
    value: float
    before: dict[str, float]
    after: dict[str, float]

    @property
    def label_before(self) -> str:
        return max(self.before, key=self.before.get)

    @property
    def label_after(self) -> str:
        return max(self.after, key=self.after.get)

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "units": self.units,
            "value": self.value,
            "before": {"label": self.label_before, "probabilities": self.before},
            "after": {"label": self.label_after, "probabilities": self.after},
        }


def parse_units(units: object) -> list[int]:
    """Units as a list of ints, from a list or a string such as "3, 17 42" (commas or spaces)."""
    if isinstance(units, str):
        units = units.replace(",", " ").split()
    if not isinstance(units, (list, tuple)) or not units:
        raise UnitError("name the units to change, for example 3, 17, 42")
    if len(units) > MAX_UNITS_NAMED:
        raise UnitError(f"at most {MAX_UNITS_NAMED:,} units can be named at once")
    try:
        return [int(unit) for unit in units if not isinstance(unit, bool)]
    except (TypeError, ValueError) as error:
        raise UnitError(f"units are whole numbers, for example 3, 17, 42; got {units!r}") from error


def ablate_units(predictor: Predictor, text: str, units: list[int], value: float = 0.0) -> Ablation:
    """The prediction with `units` of the top layer held at `value` at every step (0: ablated)."""
    model = check_recurrent(predictor)
    total = model.config.hidden_dim * (2 if model.config.bidirectional else 1)
    units = sorted(set(units))
    if not units or units[0] < 0 or units[-1] >= total:
        raise UnitError(f"name units between 0 and {total - 1} ({predictor.name} has {total})")
    if not -1.0 <= value <= 1.0:
        raise UnitError(f"a unit can be held between -1 and 1 (the range of its state), got {value}")
    ids = predictor.encoder.encode([text])[0].ids
    if not ids:
        raise UnitError("the text holds no token the model reads")
    return Ablation(
        model=predictor.name,
        units=units,
        value=value,
        before=probabilities_with_units(predictor, ids, None),
        after=probabilities_with_units(predictor, ids, dict.fromkeys(units, value)),
    )
