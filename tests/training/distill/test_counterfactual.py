"""Counterfactual copies: polar words from the labels, clauses from the texts, and targets derived
from the teacher's view of the text each copy came from."""

from __future__ import annotations

import random

import numpy as np
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


def test_targets_are_mirrored_for_negations_sharpened_for_intensifiers_and_kept_for_typos():
    texts, labels = corpus()
    text_logits = lexicon_teacher(texts)
    copies, targets, counts = counterfactual_copies(texts, labels, text_logits, lexicon_teacher, SETTINGS)
    assert len(copies) == len(targets) and counts["clauses"] > 0 and counts["misspelt"] == len(texts)
    target = dict(zip(copies, targets.tolist()))
    plain = next(c for c in copies if c.startswith("The ") and c.endswith(" wonderful.") and " not " not in c)
    subject_and_copula = plain[: -len(" wonderful.")]
    negations = [c for c in copies if c.startswith(subject_and_copula) and "wonderful" in c and c != plain]
    assert any(" not " in c or "n't " in c or " hardly " in c or " never " in c for c in negations)
    p_plain = softmax(target[plain])[1]
    negated = [c for c in negations if any(w in c for w in (" not ", "n't ", " hardly ", " never "))]
    assert negated and all(np.isclose(softmax(target[c])[1], 1 - p_plain) for c in negated)
    intensified = [c for c in negations if any(f" {w} wonderful" in c for w in INTENSIFIERS)]
    assert intensified
    for copy in intensified:
        assert softmax(target[copy])[1] > p_plain  # further from 1/2 on the same side
    contrast = next(c for c in copies if c.startswith("Although "))
    second = contrast.split(", ", 1)[1]
    assert np.isclose(softmax(target[contrast])[1], softmax(lexicon_teacher([second])[0])[1])  # the second decides
    misspelt_copies = copies[-len(texts) :]
    assert all(np.array_equal(t, s) for t, s in zip(targets[-len(texts) :], text_logits))
    assert sum(a != b for a, b in zip(misspelt_copies, texts)) > 0.9 * len(texts)


def test_clauses_the_teacher_reads_against_the_word_are_dropped():
    texts, labels = corpus()
    contrary = lambda batch: -lexicon_teacher(batch)  # noqa: E731
    copies, _, counts = counterfactual_copies(texts, labels, lexicon_teacher(texts), contrary, SETTINGS)
    assert counts.get("clauses", 0) == 0 and counts["dropped_clauses"] > 0
    assert len(copies) == len(texts)  # only the misspelt copies remain


def test_misspellings_are_one_edit_away_and_prefer_polar_words():
    rng = random.Random(0)
    for _ in range(200):
        word = rng.choice(["wonderful", "brilliant", "terrible", "excellent"])
        typo = misspelt(word, rng)
        assert typo != word or len(set(word)) < len(word)  # a swap of equal letters reads the same
        assert abs(len(typo) - len(word)) <= 1 and typo[0] == word[0]
    text = "The ending of this story was wonderful"
    changed = misspelt_text(text, {"wonderful": 1}, random.Random(1), probability=1.0)
    assert changed.split()[:-1] == text.split()[:-1] and changed.split()[-1] != "wonderful"


def test_a_clause_reads_as_a_sentence():
    assert Clause("the performances", "are", "wonderful", 1).text == "The performances are wonderful."
