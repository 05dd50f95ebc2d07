"""The unit explorer: selection over a span, nearest phrases, sentiment units and ablation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sentiment_app.config import preset
from sentiment_app.inference.predictor import load_predictor
from sentiment_app.inference.units import (
    ReferenceStates,
    UnitError,
    UnitExplorer,
    ablate_units,
    explore_units,
    nearest_phrases,
    probabilities_with_units,
    sentiment_units,
    span_tokens,
    units_on_across,
)
from sentiment_app.models.cells import reference_forward
from sentiment_app.models.classifiers import build_model


def planted_reference() -> ReferenceStates:
    """Three texts of four tokens; units 1 and 2 are on together only at tokens 1-2 of text 2."""
    states = np.full((12, 4), -0.5, dtype=np.float16)
    states[9:11, 1:3] = 0.8  # text 2, tokens 1 and 2
    states[1, 1] = 0.8  # text 0: unit 1 alone, one token
    offsets = [[(0, 1), (2, 3), (4, 5), (6, 7)]] * 3
    return ReferenceStates(
        texts=["a b c d", "e f g h", "i j k l"],
        labels=np.array([0, 1, 1]),
        offsets=offsets,
        starts=np.array([0, 4, 8, 12]),
        states=states,
        features=np.array([[0.0, -1.0, 0.3, 0.0], [0.1, 1.0, 0.2, 0.0], [0.0, 1.2, 0.25, 0.0]]),
    )


def test_units_on_across_a_span_are_those_above_the_threshold_at_every_token():
    states = np.array([[0.5, 0.9, -0.2], [0.6, 0.05, 0.4], [0.7, 0.8, 0.5]])
    assert units_on_across(states, 0, 3, 0.3) == [0]
    assert units_on_across(states, 1, 3, 0.3) == [0, 2]
    with pytest.raises(UnitError, match="within the text's 3 tokens"):
        units_on_across(states, 2, 5, 0.3)


def test_the_nearest_phrase_is_the_window_that_switches_on_the_same_units():
    matches = nearest_phrases(planted_reference(), [1, 2], length=2, threshold=0.3, limit=2)
    best = matches[0]
    assert (best.text, best.text[best.start : best.end], best.score, best.shared_units) == ("i j k l", "j k", 1.0, 2)
    assert matches[1].score < 1.0
    assert nearest_phrases(planted_reference(), [], 2, 0.3) == []


def test_sentiment_units_rank_the_unit_that_separates_the_labels_first():
    ranked = sentiment_units(planted_reference(), ("negative", "positive"), limit=2)
    assert ranked[0].unit == 1 and ranked[0].leans == "positive" and ranked[0].separation > ranked[1].separation


def test_a_span_maps_to_the_tokens_that_cover_it():
    offsets = [(0, 3), (4, 8), (9, 11), (12, 18)]  # "the film is moving"
    assert span_tokens(offsets, "the film is moving", "film is") == (1, 3)
    assert span_tokens(offsets, "the film is moving", "ilm") == (1, 2)
    with pytest.raises(UnitError, match="not part of the text"):
        span_tokens(offsets, "the film is moving", "dull")


@pytest.mark.parametrize("name", ["simple-rnn", "lstm", "bilstm", "gru"])
def test_ablating_every_unit_leaves_only_the_output_bias(name):
    torch.manual_seed(0)
    config = preset(name)
    config.vocab_size, config.embedding_dim, config.hidden_dim = 50, 8, 6
    model = build_model(config).eval()
    ids, lengths = torch.tensor([[5, 9, 3, 7]]), torch.tensor([4])
    total = config.hidden_dim * (2 if config.bidirectional else 1)
    with torch.no_grad():
        plain = reference_forward(model, ids, lengths).logits
        ablated = reference_forward(model, ids, lengths, fixed_units=dict.fromkeys(range(total), 0.0)).logits
        assert torch.allclose(plain, model(ids, lengths), atol=1e-5)
    assert torch.allclose(ablated[0], model.output.bias, atol=1e-6)
    assert not torch.allclose(plain, ablated)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("reference") / "validation.jsonl"
    texts = [("the film is wonderful", 1), ("the movie is dreadful", 0), ("a wonderful cast", 1), ("dull and slow", 0)]
    path.write_text("\n".join(json.dumps({"text": text, "label": label}) for text, label in texts * 5) + "\n")
    return path


def test_explore_units_selects_matches_and_ranks_on_a_trained_model(tiny_model_dir, corpus):
    predictor = load_predictor(tiny_model_dir)
    found = explore_units(UnitExplorer(corpus), predictor, "the film is wonderful", "is wonderful", -0.9)
    assert found.tokens[found.span[0] : found.span[1]] == ["is", "wonderful"]
    assert found.selected_units  # every unit is above -0.9 somewhere: some stay above across two tokens
    assert found.matches and all(
        match.text in {"the film is wonderful", "the movie is dreadful", "a wonderful cast", "dull and slow"}
        for match in found.matches
    )
    assert len(found.sentiment_units) == 5 and set(found.activations) == {unit.unit for unit in found.sentiment_units}
    assert all(len(values) == len(found.tokens) for values in found.activations.values())
    record = found.to_dict()
    assert record["span_tokens"] == ["is", "wonderful"] and record["matches"][0]["phrase"]


def test_ablation_reports_the_probabilities_the_edited_network_gives(tiny_model_dir):
    predictor = load_predictor(tiny_model_dir)
    result = ablate_units(predictor, "the film is wonderful", [0, 3, 3], 0.0)
    assert result.units == [0, 3]
    assert result.before == pytest.approx(predictor.predict(["the film is wonderful"])[0].probabilities, abs=1e-5)
    ids = predictor.encoder.encode(["the film is wonderful"])[0].ids
    assert result.after == pytest.approx(probabilities_with_units(predictor, ids, {0: 0.0, 3: 0.0}))
    with pytest.raises(UnitError, match="between 0 and"):
        ablate_units(predictor, "the film is wonderful", [10_000])
    with pytest.raises(UnitError, match="between -1 and 1"):
        ablate_units(predictor, "the film is wonderful", [1], 5.0)
