"""Counterfactual copies for the transfer set: short clauses cut from the training split's own
sentences, negated, intensified or misspelt, each with a target derived from the teacher's view of
the text it came from (after Kaushik et al. 2020, "Learning the difference that makes a difference
with counterfactually-augmented data").

    plain        "The performances are wonderful."         the teacher's logits of the clause
    negated      "The performances aren't wonderful.", "... are hardly wonderful.",
                 "... are never wonderful.", "... are not wonderful at all.", "Not wonderful at all."
                                                            the clause's logits mirrored: P -> 1 - P
    intensified  "The performances are truly wonderful."   the clause's logits times `sharpen`
    contrasted   "The plot is predictable, but the performances are wonderful."
                                                            the second clause's logits
    misspelt     a training text with letters dropped, doubled or swapped in its polar words
                                                            the text's own logits

The subjects ("the performances are") and the predicates ("wonderful", "a mess") are read from
the training texts; a predicate is polar when its log-odds between the training split's labels
(Monroe et al. 2008, informative Dirichlet prior) has |z| >= `min_z`. Nothing here reads the
behavioural checks. Clauses the teacher is unsure of, or reads against the word's polarity, are
dropped, since mirroring an unsure target teaches nothing.
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

WORD = re.compile(r"[a-z][a-z'-]*")
COPULAS = ("is", "was", "are", "were")
CONTRACTED = {"is": "isn't", "was": "wasn't", "are": "aren't", "were": "weren't"}
DETERMINERS = ("the", "this", "its", "his", "her", "their", "these", "those")
ADVERBS = ("so", "very", "really", "too", "pretty", "quite", "just", "simply", "always", "truly")
ARTICLES = ("a", "an")
INTENSIFIERS = ("very", "really", "truly", "so", "extremely", "incredibly", "remarkably", "genuinely")
# words that shape a clause rather than carry its sentiment
FUNCTION_WORDS = frozenset(
    COPULAS
    + DETERMINERS
    + ADVERBS
    + ARTICLES
    + INTENSIFIERS
    + ("not", "no", "never", "hardly", "nothing", "more", "less", "most", "least", "much", "all", "both")
    + ("as", "that", "what", "about", "like", "one", "still", "also", "even", "only", "ever", "enough")
    + ("it", "do", "said", "before", "over", "anything", "few", "off", "neither", "here")
)
LINKS = ("is", "was", "are", "were", "'s", "seems", "feels", "looks")
END = r"(?=\s*(?:[.,;:!?]|--|$)| (?:and|but|yet|or) )"  # the predicate ends its clause
HEADS = ("film", "movie", "picture", "story", "comedy", "drama", "thriller", "documentary", "performance", "tale")
SUBJECT = re.compile(rf"\b((?:{'|'.join(DETERMINERS)}) [a-z]+(?: [a-z]+)?) ({'|'.join(COPULAS)})\b")
PREDICATE = re.compile(rf"\b(?:{'|'.join(LINKS)}) (?:(?:{'|'.join(ADVERBS)}|[a-z]+ly) )?((?:a |an )?[a-z][a-z-]*){END}")
ATTRIBUTIVE = re.compile(rf"\b(?:a|an) ([a-z][a-z-]*) (?:{'|'.join(HEADS)})\b")  # "a wonderful movie"
NEGATIONS = (
    "{subject} {copula} not {predicate}.",
    "{subject} {contracted} {predicate}.",
    "{subject} {copula} hardly {predicate}.",
    "{subject} {copula} never {predicate}.",
    "{subject} {copula} not {predicate} at all.",
    "Not {predicate} at all.",
    "Never {predicate}.",
    "Hardly {predicate}.",
)


@dataclass(frozen=True)
class CounterfactualSettings:
    min_count: int = 5  # a predicate word seen at least this often in the training texts
    min_z: float = 2.0  # and this polar by its log-odds z-score
    subjects_per_predicate: int = 8
    negations_per_clause: int = 3  # of the NEGATIONS forms, chosen at random per clause
    contrasts_per_clause: int = 2  # "A, but B." / "Although a, b." with A of the other side: B's target
    sharpen: float = 1.5  # an intensified clause's target: the clause's logits times this
    min_confidence: float = 0.7  # the teacher's probability for the clause's side, or the clause is dropped
    misspelt_copies: int = 2  # copies of each training text with misspelt words
    misspell_probability: float = 0.5  # for each polar word of a copy (one word at least)
    seed: int = 13


@dataclass(frozen=True)
class Clause:
    subject: str  # "the performances"
    copula: str  # "are"
    predicate: str  # "wonderful" or "a mess"
    polarity: int  # +1 or -1, from the training labels

    @property
    def text(self) -> str:
        return f"{self.subject.capitalize()} {self.copula} {self.predicate}."


def polar_words(texts: Sequence[str], labels: Sequence[int], settings: CounterfactualSettings) -> dict[str, int]:
    """word -> +1 (positive) or -1, for the words whose log-odds between the labels is clear."""
    counts = [Counter(), Counter()]
    for text, label in zip(texts, labels):
        counts[int(label)].update(WORD.findall(text.lower()))
    prior = counts[0] + counts[1]
    prior_total, totals = sum(prior.values()), [sum(c.values()) for c in counts]
    scale = 500.0 / prior_total  # the prior as 500 pseudo-words, shaped like the corpus
    polarity = {}
    for word, count in prior.items():
        if count < settings.min_count or word in FUNCTION_WORDS:
            continue
        alpha = prior[word] * scale
        logs, variance = [], 0.0
        for side in (0, 1):
            seen, rest = counts[side][word] + alpha, totals[side] + 500.0 - counts[side][word] - alpha
            logs.append(math.log(seen / rest))
            variance += 1.0 / seen
        z = (logs[1] - logs[0]) / math.sqrt(variance)
        if abs(z) >= settings.min_z:
            polarity[word] = 1 if z > 0 else -1
    return polarity


def clauses(texts: Sequence[str], polarity: dict[str, int], settings: CounterfactualSettings) -> list[Clause]:
    """Seeded clauses: each polar word the training texts use as a predicate (or before a noun
    such as "film"), with subjects they put before a copula."""
    subjects: Counter = Counter()
    predicates: Counter = Counter()
    after_the: Counter = Counter()  # a word seen after "the" more than as a predicate is a noun
    for text in texts:
        lowered = text.lower()
        subjects.update(SUBJECT.findall(lowered))
        predicates.update(p for p in PREDICATE.findall(lowered) if p.split()[-1] in polarity)
        predicates.update(p for p in ATTRIBUTIVE.findall(lowered) if p in polarity)
        after_the.update(re.findall(r"\bthe ([a-z][a-z-]*)", lowered))
    predicates = {
        p: n
        for p, n in predicates.items()
        if p.split()[-1] not in HEADS and (p.split()[0] in ARTICLES or after_the[p] <= n)
    }
    pool = sorted(pair for pair, count in subjects.items() if count >= 2)
    rng = random.Random(f"clauses-{settings.seed}")
    result = []
    for predicate in sorted(predicates):
        for subject, copula in rng.sample(pool, min(settings.subjects_per_predicate, len(pool))):
            result.append(Clause(subject, copula, predicate, polarity[predicate.split()[-1]]))
    return result


def negated(clause: Clause, form: str) -> str:
    subject = clause.subject.capitalize()
    return form.format(
        subject=subject, copula=clause.copula, contracted=CONTRACTED[clause.copula], predicate=clause.predicate
    )


def intensified(clause: Clause, rng: random.Random) -> str:
    words = clause.predicate.split()
    intensifier = rng.choice(INTENSIFIERS)
    predicate = (
        " ".join([*words[:-1], intensifier, words[-1]])
        if words[0] not in ARTICLES
        else f"{intensifier} {clause.predicate}"
    )
    return f"{clause.subject.capitalize()} {clause.copula} {predicate}."


def misspelt(word: str, rng: random.Random) -> str:
    """One edit of the kind people make: a letter dropped, doubled or swapped with the next."""
    position = rng.randrange(1, len(word) - 1)
    edit = rng.choice(("drop", "double", "swap"))
    if edit == "drop":
        return word[:position] + word[position + 1 :]
    if edit == "double":
        return word[: position + 1] + word[position:]
    return word[:position] + word[position + 1] + word[position] + word[position + 2 :]


def misspelt_text(text: str, polarity: dict[str, int], rng: random.Random, probability: float) -> str:
    """The text with its polar words misspelt, each with `probability`; one word at least, a
    polar word when it has one."""
    words = text.split()
    candidates = [i for i, w in enumerate(words) if w.isalpha() and len(w) >= 5]
    if not candidates:
        return text
    polar = [i for i in candidates if words[i].lower() in polarity]
    chosen = {i for i in polar if rng.random() < probability} or {rng.choice(polar or candidates)}
    for position in sorted(chosen):
        words[position] = misspelt(words[position], rng)
    return " ".join(words)


def contrasted(first: Clause, second: Clause, rng: random.Random) -> str:
    """The two clauses joined so that the second carries the judgement."""
    a, b = first.text[:-1], second.text[:-1]
    if rng.random() < 0.5:
        return f"{a}, but {b[0].lower()}{b[1:]}."
    return f"Although {a[0].lower()}{a[1:]}, {b[0].lower()}{b[1:]}."


def counterfactual_copies(
    texts: Sequence[str],
    labels: Sequence[int],
    text_logits: np.ndarray,
    score: Callable[[list[str]], np.ndarray],
    settings: CounterfactualSettings,
) -> tuple[list[str], np.ndarray, dict[str, int]]:
    """(copies, their (copies, 2) target logits, counts by kind). `text_logits` are the teacher's
    for `texts`; `score` gives the teacher's logits for a list of new texts."""
    polarity = polar_words(texts, labels, settings)
    found = clauses(texts, polarity, settings)
    plain_logits = score([clause.text for clause in found]) if found else np.zeros((0, 2), np.float32)
    rng = random.Random(f"counterfactual-{settings.seed}")
    copies: list[str] = []
    targets: list[np.ndarray] = []
    counts = Counter()
    kept: dict[int, list[Clause]] = {1: [], -1: []}
    for clause, logits in zip(found, plain_logits):
        positive = float(np.exp(logits[1]) / np.exp(logits).sum())
        side = positive if clause.polarity > 0 else 1.0 - positive
        if side < settings.min_confidence:
            counts["dropped_clauses"] += 1
            continue
        copies.append(clause.text)
        targets.append(logits)
        for form in rng.sample(NEGATIONS, settings.negations_per_clause):
            copies.append(negated(clause, form))
            targets.append(logits[::-1])
        copies.append(intensified(clause, rng))
        targets.append(logits * settings.sharpen)
        kept[clause.polarity].append(clause)
        counts["clauses"] += 1
    target_of = {clause: logits for clause, logits in zip(found, plain_logits)}
    for side, side_clauses in kept.items():
        others = kept[-side]
        for clause in side_clauses if others else []:
            for _ in range(settings.contrasts_per_clause):
                copies.append(contrasted(rng.choice(others), clause, rng))
                targets.append(target_of[clause])
                counts["contrasts"] += 1
    for _ in range(settings.misspelt_copies):
        for text, logits in zip(texts, text_logits):
            copies.append(misspelt_text(text, polarity, rng, settings.misspell_probability))
            targets.append(logits)
        counts["misspelt"] += len(texts)
    counts["polar_words"] = len(polarity)
    array = np.asarray(targets, dtype=np.float32).reshape(-1, 2)
    return copies, array, dict(counts)
