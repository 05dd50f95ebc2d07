"""Evaluation figures: metrics, bootstrap intervals, McNemar's test, behavioural checks, the
TF-IDF reference."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import synthetic_reviews
from training.evaluation.behaviour import Case, Check, all_checks, run_checks
from training.evaluation.metrics import classification_report, macro_f1
from training.evaluation.reference import tfidf_logistic_regression
from training.evaluation.significance import bootstrap_accuracy_interval, mcnemar


def test_classification_report_counts_and_macro_f1():
    report = classification_report([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], ["negative", "positive"])
    assert report["confusion_matrix"] == [[1, 1], [1, 2]]
    assert report["accuracy"] == pytest.approx(0.6)
    # F1(negative) = 2*1/(2*1+1+1) = 0.5, F1(positive) = 2*2/(2*2+1+1) = 0.667
    assert report["macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2)
    assert macro_f1([[0, 0], [0, 5]]) == pytest.approx(0.5)  # a label never seen nor predicted


def test_bootstrap_interval_brackets_the_accuracy_and_narrows_with_more_data():
    rng = np.random.default_rng(0)
    small = rng.random(200) < 0.8
    large = rng.random(5000) < 0.8
    low, high = bootstrap_accuracy_interval(small)
    assert low < small.mean() < high
    assert (high - low) == pytest.approx(2 * 1.96 * np.sqrt(0.8 * 0.2 / 200), rel=0.25)
    large_low, large_high = bootstrap_accuracy_interval(large)
    assert large_high - large_low < high - low
    assert bootstrap_accuracy_interval(small) == (low, high)  # seeded


def test_mcnemar_counts_discordant_pairs_and_gives_exact_p_values():
    first = [True] * 10 + [False] * 0 + [True] * 50
    second = [False] * 10 + [True] * 50
    result = mcnemar(first, second)
    assert (result["only_first_correct"], result["only_second_correct"]) == (10, 0)
    assert result["p_value"] == pytest.approx(2 * 0.5**10)
    assert mcnemar([True, False], [True, False])["p_value"] == 1.0
    with pytest.raises(ValueError):
        mcnemar([True], [True, False])


def test_behavioural_checks_score_a_perfect_and_a_constant_model():
    expected = {case.text: case.expected for case in all_checks()[0].cases}  # negation

    def oracle(texts):
        return [0.9 if expected.get(text) == "positive" else 0.1 for text in texts]

    constant = run_checks(lambda texts: [0.9] * len(texts))
    by_name = {check["check"]: check for check in constant["checks"]}
    assert by_name["typos"]["pass_rate"] == 1.0  # never flips
    assert by_name["intensifiers"]["pass_rate"] == 0.0  # never moves
    assert 0.3 < by_name["negation"]["pass_rate"] < 0.7
    assert by_name["negation"]["failed_examples"]
    assert 0 < constant["pass_rate"] < 1 and constant["cases"] == sum(c["cases"] for c in constant["checks"])
    assert run_checks(oracle)["checks"][0]["pass_rate"] == 1.0


def test_direction_checks_need_the_probability_to_move_the_right_way():
    check = Check("d", "d", "direction", [Case("good", variant="very good", direction=+1)])
    assert run_checks(lambda texts: [0.6 if t == "good" else 0.7 for t in texts], [check])["pass_rate"] == 1.0
    assert run_checks(lambda texts: [0.6 if t == "good" else 0.5 for t in texts], [check])["pass_rate"] == 0.0


def test_every_check_has_cases_and_no_case_is_in_the_training_data():
    from training.data.sources import load_rt_snippets

    checks = all_checks()
    assert {c.name for c in checks} >= {"negation", "contrast", "intensifiers", "typos", "products", "restaurants"}
    assert all(len(c.cases) >= 10 for c in checks)
    texts = {t.lower() for split in load_rt_snippets(13).splits.values() for t in split["text"]}
    for check in checks:
        for case in check.cases:
            assert case.text.lower() not in texts


def test_tfidf_reference_chooses_its_strength_on_validation():
    rows = synthetic_reviews(300)
    texts, labels = [t for t, _ in rows], [label for _, label in rows]
    result = tfidf_logistic_regression(texts[:200], labels[:200], texts[200:250], labels[200:250], texts[250:])
    assert result.settings["C_chosen_on"] == "validation"
    accuracy = np.mean(np.asarray(result.test_predictions) == np.asarray(labels[250:]))
    assert accuracy > 0.9 and result.validation_accuracy > 0.9


def test_trained_models_carry_intervals_behaviour_and_the_reference(trained_models):
    metrics = json.loads((trained_models / "bilstm" / "metrics.json").read_text())
    low, high = metrics["test"]["accuracy_ci95"]
    assert low <= metrics["test"]["accuracy"] <= high
    assert 0 <= metrics["behavioural"]["pass_rate"] <= 1
    reference = metrics["reference"]
    assert reference["name"] == "tfidf-logistic-regression"
    assert 0 <= reference["mcnemar_model_vs_reference"]["p_value"] <= 1
    assert len(metrics["test"]["predictions"]) == metrics["test"]["num_examples"]
