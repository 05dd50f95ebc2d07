"""Counterfactual copies: polar words from the labels, clauses from the texts, and targets derived
from the teacher's view of the text each copy came from."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.special import softmax

from tests.helpers import NEGATIVE_WORDS, POSITIVE_WORDS, synthetic_reviews
from training.distill.counterfactual import (
    INTENSIFIERS,
    Clause,
    CounterfactualSettings,
    clauses,
    counterfactual_copies,
    misspelt,
    misspelt_text,
    polar_words,
)

SETTINGS = CounterfactualSettings(min_count=3, subjects_per_predicate=2, misspelt_copies=1)


def corpus():
    """Reviews whose sentiment word closes a clause ("the story is wonderful, ..."), as the
    predicates of real reviews do."""
    rows = synthetic_reviews(400, seed=5)
    texts = [
        f"{' '.join(text.split()[:4])}, {' '.join(text.split()[4:])}. The acting is {'fine' if label else 'flat'}."
        for text, label in rows
    ]
    return texts, [label for _, label in rows]


def lexicon_teacher(texts):
    """A stand-in teacher that reads the polar words of the synthetic corpus and nothing else."""
    logits = []
    for text in texts:
        lowered = text.lower()
        score = sum(w in lowered for w in POSITIVE_WORDS + ["fine"]) - sum(
            w in lowered for w in NEGATIVE_WORDS + ["flat"]
        )
        logits.append([-2.0 * score, 2.0 * score])
    return np.asarray(logits, dtype=np.float32)


def test_polar_words_come_from_the_labels_and_leave_out_function_words():
    texts, labels = corpus()
    polarity = polar_words(texts, labels, SETTINGS)
    assert {w: polarity.get(w) for w in ("wonderful", "boring", "fine", "flat")} == {
        "wonderful": 1,
        "boring": -1,
        "fine": 1,
        "flat": -1,
    }
    assert not {"is", "the", "not", "really", "very"} & set(polarity)


def test_clauses_join_subjects_and_predicates_seen_in_the_texts():
    texts, labels = corpus()
    found = clauses(texts, polar_words(texts, labels, SETTINGS), SETTINGS)
    predicates = {clause.predicate for clause in found}
    assert {"wonderful", "boring", "fine", "flat"} <= predicates
    assert all(clause.copula in ("is", "was", "are", "were") for clause in found)
    assert all(clause.text[0].isupper() and clause.text.endswith(".") for clause in found)
    assert found == clauses(texts, polar_words(texts, labels, SETTINGS), SETTINGS)  # seeded


def second_clause(contrast: str) -> str:
    for joint in (", yet ", "; still, "):
        if joint in contrast:
            return contrast.split(joint, 1)[1]
    return contrast.split(", ", 1)[1]  # "Even though a, b." and "While a, b."


def test_targets_are_mirrored_for_negations_sharpened_for_intensifiers_and_kept_for_typos():
    texts, labels = corpus()
    text_logits = lexicon_teacher(texts)
    copies, targets, counts = counterfactual_copies(texts, labels, text_logits, lexicon_teacher, SETTINGS)
    assert len(copies) == len(targets) and counts["clauses"] > 0 and counts["misspelt"] == len(texts)
    assert len(copies) == sum(counts[k] for k in ("plain", "negated", "intensified", "contrasts", "misspelt"))
    target = dict(zip(copies, targets.tolist()))
    plain = next(c for c in copies if c.startswith("The ") and c.endswith(" wonderful.") and " not " not in c)
    subject_and_copula = plain[: -len(" wonderful.")]
    variants = [c for c in copies if c.startswith(subject_and_copula) and "wonderful" in c and c != plain]
    negated = [c for c in variants if any(w in c for w in (" not ", "n't ", " hardly ", " never "))]
    mirrored = softmax(np.asarray(target[plain])[::-1] * SETTINGS.negation_strength)[1]
    assert negated and all(np.isclose(softmax(target[c])[1], mirrored) for c in negated)
    assert mirrored < 0.5 < softmax(target[plain])[1]
    intensified = [c for c in variants if any(f" {w} wonderful" in c for w in INTENSIFIERS)]
    assert intensified
    for copy in intensified:
        assert softmax(target[copy])[1] > softmax(target[plain])[1]  # further from 1/2 on the same side
    contrasts = [c for c in copies if c.startswith(("Even though ", "While ")) or ", yet " in c or "; still, " in c]
    assert len(contrasts) == counts["contrasts"] > 0
    for contrast in contrasts:
        second = second_clause(contrast)
        first = contrast[: -len(second)]
        assert np.isclose(softmax(target[contrast])[1], softmax(lexicon_teacher([second])[0])[1])
        assert (softmax(lexicon_teacher([first])[0])[1] > 0.5) != (softmax(target[contrast])[1] > 0.5)
    misspelt_copies = copies[-len(texts) :]
    assert all(np.array_equal(t, s) for t, s in zip(targets[-len(texts) :], text_logits))
    assert all(a != b for a, b in zip(misspelt_copies, texts))


def test_no_copy_equals_an_excluded_text():
    texts, labels = corpus()
    copies, _, _ = counterfactual_copies(texts, labels, lexicon_teacher(texts), lexicon_teacher, SETTINGS)
    excluded = frozenset(copies[:50:5])
    kept, _, counts = counterfactual_copies(
        texts, labels, lexicon_teacher(texts), lexicon_teacher, SETTINGS, exclude=frozenset(t.upper() for t in excluded)
    )
    assert not excluded & set(kept) and counts["excluded"] >= len(excluded)


def test_the_teachers_rows_must_match_and_be_finite():
    texts, labels = corpus()
    with pytest.raises(ValueError, match="rows of teacher logits"):
        counterfactual_copies(texts, labels, lexicon_teacher(texts[:-1]), lexicon_teacher, SETTINGS)
    with pytest.raises(ValueError, match="scored 0 of"):
        counterfactual_copies(texts, labels, lexicon_teacher(texts), lambda batch: np.zeros((0, 2)), SETTINGS)
    with pytest.raises(ValueError, match="not all finite"):
        counterfactual_copies(
            texts, labels, lexicon_teacher(texts), lambda batch: np.full((len(batch), 2), np.nan), SETTINGS
        )
    assert counterfactual_copies([], [], np.zeros((0, 2)), lexicon_teacher, SETTINGS)[0] == []


def test_an_article_makes_a_predicate_only_with_a_noun():
    texts = [f"the film is a mess. the plot is a dull, tired affair {i}. the cast is dull." for i in range(4)]
    predicates = {c.predicate for c in clauses(texts, {"mess": -1, "dull": -1}, SETTINGS)}
    assert predicates == {"a mess", "dull"}  # not "a dull"


def test_clauses_the_teacher_reads_against_the_word_are_dropped():
    texts, labels = corpus()
    contrary = lambda batch: -lexicon_teacher(batch)  # noqa: E731
    copies, _, counts = counterfactual_copies(texts, labels, lexicon_teacher(texts), contrary, SETTINGS)
    assert counts.get("clauses", 0) == 0 and counts["dropped_clauses"] > 0
    assert len(copies) == len(texts)  # only the misspelt copies remain


def test_misspellings_are_one_edit_away_keep_punctuation_and_prefer_polar_words():
    rng = random.Random(0)
    for _ in range(200):
        word = rng.choice(["wonderful", "brilliant", "terrible", "excellent"])
        typo = misspelt(word, rng)
        assert typo != word and abs(len(typo) - len(word)) <= 1 and typo[0] == word[0]
    text = "The ending of this story was wonderful."
    changed = misspelt_text(text, {"wonderful": 1}, random.Random(1), probability=1.0)
    assert changed.split()[:-1] == text.split()[:-1] and changed.endswith(".") and changed != text
    assert misspelt_text("Good fun", {}, random.Random(0), probability=1.0) == "Good fun"  # no word of 5 letters


def test_a_clause_reads_as_a_sentence():
    assert Clause("the performances", "are", "wonderful", 1).text == "The performances are wonderful."
