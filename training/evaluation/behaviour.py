"""Behavioural checks in the spirit of CheckList (Ribeiro et al. 2020), written for this project.

Three kinds of test, each over cases generated from small templates:
    expect     the label a person would give ("The acting was not good." -> negative)
    invariant  a change that must not flip the label (a typo, another name)
    direction  a change that must move P(positive) the right way ("good" -> "very good": up)

They are never trained on: they measure what accuracy on the test split does not show
(negation, contrast, intensifiers, typos, other domains).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

POSITIVE_WORDS = ["good", "great", "wonderful", "brilliant", "moving", "funny", "charming", "excellent"]
NEGATIVE_WORDS = ["bad", "boring", "awful", "dull", "terrible", "clumsy", "tedious", "weak"]
SUBJECTS = ["The film", "The acting", "The script", "This movie", "The story", "The ending"]


@dataclass
class Case:
    text: str
    expected: str | None = None  # "positive"/"negative" for an expect test
    variant: str | None = None  # the changed text, for invariant and direction tests
    direction: int = 0  # +1: P(positive) must rise from text to variant; -1: fall


@dataclass
class Check:
    name: str
    capability: str
    kind: str  # "expect", "invariant" or "direction"
    cases: list[Case]


def negation_cases() -> list[Case]:
    cases = []
    for subject, word in itertools.product(SUBJECTS[:4], POSITIVE_WORDS[:5]):
        cases.append(Case(f"{subject} was not {word}.", expected="negative"))
    for subject, word in itertools.product(SUBJECTS[:4], NEGATIVE_WORDS[:5]):
        cases.append(Case(f"{subject} was not {word} at all.", expected="positive"))
    for subject, (good, bad) in itertools.product(SUBJECTS[:3], zip(POSITIVE_WORDS[:2], NEGATIVE_WORDS[:2])):
        cases.append(Case(f"{subject} isn't {good}.", expected="negative"))
        cases.append(Case(f"{subject} is hardly {good}.", expected="negative"))
        cases.append(Case(f"{subject} is never {bad}.", expected="positive"))
        cases.append(Case(f"{subject} wasn't {bad}.", expected="positive"))
    fragments = {
        "Not bad at all.": "positive",
        "Not boring at all.": "positive",
        "Never boring.": "positive",
        "Never dull for a moment.": "positive",
        "Not great.": "negative",
        "Not funny.": "negative",
        "Hardly a masterpiece.": "negative",
        "Hardly worth the ticket.": "negative",
    }
    return cases + [Case(text, expected=label) for text, label in fragments.items()]


def negation_phrasing_cases() -> list[Case]:
    """Negation in phrasings that neither the cases above nor the counterfactual copies of
    training/distill/counterfactual.py use."""
    texts = {
        "I didn't like it.": "negative",
        "I did not enjoy a single minute.": "negative",
        "Nobody would call this good.": "negative",
        "It is far from good.": "negative",
        "The film lacks any charm.": "negative",
        "Not exactly a masterpiece.": "negative",
        "I wouldn't recommend it.": "negative",
        "I can't say I was bored.": "positive",
        "There is nothing wrong with this film.": "positive",
        "It never fails to entertain.": "positive",
        "It was anything but dull.": "positive",
    }
    return [Case(text, expected=label) for text, label in texts.items()]


def contrast_cases() -> list[Case]:
    cases = []
    for good, bad in zip(POSITIVE_WORDS, NEGATIVE_WORDS):
        cases.append(Case(f"The cast is {good}, but the film as a whole is {bad}.", expected="negative"))
        cases.append(Case(f"The opening is {bad}, but the film as a whole is {good}.", expected="positive"))
        cases.append(Case(f"Although the script is {bad}, I loved every minute of it.", expected="positive"))
        cases.append(
            Case(f"Although the poster looks {good}, the movie itself is a waste of time.", expected="negative")
        )
    return cases


def intensifier_cases() -> list[Case]:
    cases = []
    for subject, word in itertools.product(SUBJECTS[:3], POSITIVE_WORDS[:4]):
        cases.append(Case(f"{subject} is {word}.", variant=f"{subject} is really very {word}.", direction=+1))
    for subject, word in itertools.product(SUBJECTS[:3], NEGATIVE_WORDS[:4]):
        cases.append(Case(f"{subject} is {word}.", variant=f"{subject} is really very {word}.", direction=-1))
    return cases


TYPOS = {
    "wonderful": "wonderfull",
    "brilliant": "brillant",
    "terrible": "terible",
    "boring": "borring",
    "excellent": "excelent",
    "awful": "awfull",
    "moving": "movng",
    "tedious": "tedius",
}


def typo_cases() -> list[Case]:
    return [
        Case(
            f"{subject} was {word}, and I would tell my friends so.",
            variant=f"{subject} was {typo}, and I would tell my friends so.",
        )
        for subject, (word, typo) in itertools.product(SUBJECTS[:3], TYPOS.items())
    ]


def name_cases() -> list[Case]:
    names = [("Tom Hanks", "Meryl Streep"), ("Bruce Willis", "Julia Roberts"), ("Keanu Reeves", "Nicole Kidman")]
    templates = ["{} gives a {} performance in this picture.", "With {} in the lead, the result is {}."]
    cases = []
    for (first, second), template, word in itertools.product(names, templates, POSITIVE_WORDS[:2] + NEGATIVE_WORDS[:2]):
        cases.append(Case(template.format(first, word), variant=template.format(second, word)))
    return cases


def product_cases() -> list[Case]:
    positive = [
        "This phone's battery lasts for days and the screen is gorgeous.",
        "The headphones are comfortable and the sound is superb.",
        "Great value for money: the blender is sturdy and easy to clean.",
        "The laptop is fast, light and a joy to use every day.",
        "Setup took two minutes and the vacuum works perfectly.",
        "I love this backpack; it is well made and holds everything.",
    ]
    negative = [
        "The charger stopped working after a week; a waste of money.",
        "The kettle leaks and the handle feels cheap.",
        "Terrible battery life and the app keeps crashing.",
        "The shoes fell apart within a month; avoid them.",
        "The printer jams constantly and support never answered.",
        "Flimsy, overpriced and slower than my old one.",
    ]
    return [Case(text, expected="positive") for text in positive] + [
        Case(text, expected="negative") for text in negative
    ]


def restaurant_cases() -> list[Case]:
    positive = [
        "The pasta was delicious and the staff were lovely.",
        "Friendly service, fresh ingredients and a cosy room.",
        "Best pizza in town; we will definitely come back.",
        "Every dish was beautifully cooked and full of flavour.",
        "A warm welcome and a dessert worth the trip alone.",
    ]
    negative = [
        "The food was cold and the waiter was rude.",
        "We waited an hour for a bland, overpriced meal.",
        "The soup was salty and the bread was stale.",
        "Dirty tables, slow service and a burnt steak.",
        "Never again: the fish smelled off and nobody cared.",
    ]
    return [Case(text, expected="positive") for text in positive] + [
        Case(text, expected="negative") for text in negative
    ]


def all_checks() -> list[Check]:
    return [
        Check("negation", "negation", "expect", negation_cases()),
        Check("negation_phrasing", "negation in other phrasings", "expect", negation_phrasing_cases()),
        Check("contrast", "contrast (..., but ...)", "expect", contrast_cases()),
        Check("intensifiers", "intensifiers move confidence", "direction", intensifier_cases()),
        Check("typos", "robust to typos", "invariant", typo_cases()),
        Check("names", "no bias from actor names", "invariant", name_cases()),
        Check("products", "other domain: products", "expect", product_cases()),
        Check("restaurants", "other domain: restaurants", "expect", restaurant_cases()),
    ]


def check_texts() -> frozenset[str]:
    """Every text the checks score, which no training text may equal."""
    return frozenset(
        text for check in all_checks() for case in check.cases for text in (case.text, case.variant) if text
    )


def held_apart(case: Case) -> bool:
    """Half the cases, chosen by a hash of their text (stable when cases are added), that no
    training or selection choice may ever look at; the other half may guide choices."""
    return hashlib.sha256(case.text.encode("utf-8")).digest()[0] % 2 == 1


def halves(checks: list[Check] | None = None) -> dict[str, list[Check]]:
    """The checks cut into the "tuning" half and the "held_apart" half, case by case."""
    checks = checks if checks is not None else all_checks()
    return {
        half: [
            Check(check.name, check.capability, check.kind, [case for case in check.cases if held_apart(case) == apart])
            for check in checks
        ]
        for half, apart in (("tuning", False), ("held_apart", True))
    }


def passes(kind: str, case: Case, original: float, variant: float | None) -> bool:
    if kind == "expect":
        return (original >= 0.5) == (case.expected == "positive")
    if kind == "invariant":
        return (original >= 0.5) == (variant >= 0.5)
    return (variant - original) * case.direction > 0  # direction


def run_checks(
    positive_probability: Callable[[Sequence[str]], Sequence[float]],
    checks: list[Check] | None = None,
    examples: int = 3,
) -> dict[str, Any]:
    """Pass rates per check and overall; `positive_probability` scores a list of texts."""
    checks = checks if checks is not None else all_checks()
    results, passed_total, case_total = [], 0, 0
    for check in checks:
        if not check.cases:
            continue
        originals = list(positive_probability([case.text for case in check.cases]))
        variants = (
            list(positive_probability([case.variant for case in check.cases]))
            if check.kind != "expect"
            else [None] * len(check.cases)
        )
        outcomes = [passes(check.kind, case, o, v) for case, o, v in zip(check.cases, originals, variants)]
        failures = [
            case.text if case.variant is None else f"{case.text} -> {case.variant}"
            for case, ok in zip(check.cases, outcomes)
            if not ok
        ]
        passed = sum(outcomes)
        results.append(
            {
                "check": check.name,
                "capability": check.capability,
                "kind": check.kind,
                "cases": len(outcomes),
                "passed": passed,
                "pass_rate": passed / len(outcomes),
                "failed_examples": failures[:examples],
            }
        )
        passed_total += passed
        case_total += len(outcomes)
    return {"pass_rate": passed_total / case_total, "cases": case_total, "checks": results}


def run_checks_and_halves(positive_probability: Callable[[Sequence[str]], Sequence[float]]) -> dict[str, Any]:
    """`run_checks` over every check, with the pass rate of each half under "halves"."""
    figures = run_checks(positive_probability)
    figures["halves"] = {
        half: run_checks(positive_probability, checks)["pass_rate"] for half, checks in halves().items()
    }
    return figures
