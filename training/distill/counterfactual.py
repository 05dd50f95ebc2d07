"""Counterfactual copies for the transfer set: short clauses recombined from the training split's
subjects and predicates, negated, intensified or contrasted, and training texts misspelt; each with
a target derived from the teacher's view of the text it came from (after Kaushik et al. 2020,
"Learning the difference that makes a difference with counterfactually-augmented data").

    plain        "The performances are wonderful."         the teacher's logits of the clause
    negated      "The performances aren't wonderful.", "... are hardly wonderful.",
                 "... are never wonderful.", "... are not wonderful at all."
                                                            the clause's logits mirrored and
                                                            scaled by `negation_strength`
    intensified  "The performances are truly wonderful."   the clause's logits times `sharpen`
    contrasted   "The plot is predictable, yet the performances are wonderful."
                                                            the second clause's logits
    misspelt     a training text with letters dropped, doubled or swapped in its polar words
                                                            the text's own logits

The subjects ("the performances are") and the predicates ("wonderful", "a mess") are read from
the training texts; a predicate is polar when its log-odds between the training split's labels
(Monroe et al. 2008, informative Dirichlet prior) has |z| >= `min_z`. Clauses the teacher is
unsure of, or reads against the word's polarity, are dropped, since mirroring an unsure target
teaches nothing. The caller passes the texts no copy may equal (the behavioural checks' cases).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import softmax

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
)
CONTRASTS = ("{a}, yet {b}.", "{a}; still, {b}.", "Even though {a}, {b}.", "While {a}, {b}.")
BEFORE_ARTICLE = ("truly", "really", "genuinely")  # the intensifiers that read well before "a"


@dataclass(frozen=True)
class CounterfactualSettings:
    min_count: int = 5  # a predicate word seen at least this often in the training texts
    min_z: float = 2.0  # and this polar by its log-odds z-score
    subjects_per_predicate: int = 8
    negations_per_clause: int = 3  # of the NEGATIONS forms, chosen at random per clause
    contrasts_per_clause: int = 2  # "A, but B." / "Although a, b." with A of the other side: B's target
    sharpen: float = 1.5  # an intensified clause's target: the clause's logits times this
    negation_strength: float = 0.6  # a negated clause's target: its logits mirrored, times this
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
    adjectives = {p for p in predicates if p.split()[0] not in ARTICLES}
    predicates = {
        p: n
        for p, n in predicates.items()
        if p.split()[-1] not in HEADS
        and (after_the[p] <= n if p.split()[0] not in ARTICLES else p.split()[-1] not in adjectives)
    }  # "a mess" is a predicate, "a bad" (an adjective cut from its noun) is not
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
    if words[0] in ARTICLES:
        predicate = f"{rng.choice(BEFORE_ARTICLE)} {clause.predicate}"
    else:
        predicate = " ".join([*words[:-1], rng.choice(INTENSIFIERS), words[-1]])
    return f"{clause.subject.capitalize()} {clause.copula} {predicate}."


def misspelt(word: str, rng: random.Random) -> str:
    """One edit of the kind people make: a letter dropped, doubled or swapped with the next; the
    first letter stays, and the result differs from the word when any edit can make it differ."""
    for _ in range(4):
        position = rng.randrange(1, len(word))
        edit = rng.choice(("drop", "double", "swap") if position < len(word) - 1 else ("drop", "double"))
        if edit == "drop":
            typo = word[:position] + word[position + 1 :]
        elif edit == "double":
            typo = word[: position + 1] + word[position:]
        else:
            typo = word[:position] + word[position + 1] + word[position] + word[position + 2 :]
        if typo != word:
            return typo
    return typo


SPELLABLE = re.compile(r"^([A-Za-z]{5,})([^A-Za-z]*)$")  # a word of five letters or more, then punctuation


def misspelt_text(text: str, polarity: dict[str, int], rng: random.Random, probability: float) -> str:
    """The text with its polar words misspelt, each with `probability`; one word at least, a
    polar word when it has one. Punctuation after a word stays as it was."""
    words = text.split(" ")
    parts = {i: match.groups() for i, w in enumerate(words) if (match := SPELLABLE.match(w))}
    if not parts:
        return text
    polar = [i for i, (core, _) in parts.items() if core.lower() in polarity]
    chosen = {i for i in polar if rng.random() < probability} or {rng.choice(polar or list(parts))}
    for position in sorted(chosen):
        core, tail = parts[position]
        words[position] = misspelt(core, rng) + tail
    return " ".join(words)


def contrasted(first: Clause, second: Clause, rng: random.Random) -> str:
    """The two clauses joined so that the second carries the judgement."""
    a, b = first.text[:-1], second.text[:-1]
    form = rng.choice(CONTRASTS)
    a = a if form.startswith("{a}") else a[0].lower() + a[1:]
    return form.format(a=a, b=b[0].lower() + b[1:])


def positive_probabilities(logits: np.ndarray) -> np.ndarray:
    if not np.isfinite(logits).all():
        raise ValueError("the teacher's logits for the clauses are not all finite")
    return softmax(logits.astype(np.float64), axis=1)[:, 1]


def counterfactual_copies(
    texts: Sequence[str],
    labels: Sequence[int],
    text_logits: np.ndarray,
    score: Callable[[list[str]], np.ndarray],
    settings: CounterfactualSettings,
    exclude: frozenset[str] = frozenset(),
) -> tuple[list[str], np.ndarray, dict[str, int]]:
    """(copies, their (copies, 2) target logits, counts by kind). `text_logits` are the teacher's
    for `texts`; `score` gives the teacher's logits for a list of new texts; no copy equals a
    text of `exclude` (compared in lower case)."""
    if len(text_logits) != len(texts):
        raise ValueError(f"{len(text_logits)} rows of teacher logits for {len(texts)} texts")
    polarity = polar_words(texts, labels, settings) if texts else {}
    found = clauses(texts, polarity, settings)
    plain_logits = np.asarray(score([clause.text for clause in found]) if found else np.zeros((0, 2)))
    if len(plain_logits) != len(found):
        raise ValueError(f"the teacher scored {len(plain_logits)} of {len(found)} clauses")
    excluded = {text.lower() for text in exclude}
    rng = random.Random(f"counterfactual-{settings.seed}")
    copies: list[str] = []
    targets: list[np.ndarray] = []
    counts = Counter()

    def add(kind: str, text: str, target: np.ndarray) -> None:
        if text.lower() in excluded:
            counts["excluded"] += 1
        else:
            copies.append(text)
            targets.append(target)
            counts[kind] += 1

    kept: dict[int, list[tuple[Clause, np.ndarray]]] = {1: [], -1: []}
    for clause, logits, positive in zip(found, plain_logits, positive_probabilities(plain_logits)):
        if (positive if clause.polarity > 0 else 1.0 - positive) < settings.min_confidence:
            counts["dropped_clauses"] += 1
            continue
        add("plain", clause.text, logits)
        for form in rng.sample(NEGATIONS, settings.negations_per_clause):
            add("negated", negated(clause, form), logits[::-1] * settings.negation_strength)
        add("intensified", intensified(clause, rng), logits * settings.sharpen)
        kept[clause.polarity].append((clause, logits))
        counts["clauses"] += 1
    for side, side_clauses in kept.items():
        others = kept[-side]
        for clause, logits in side_clauses if others else []:
            for _ in range(settings.contrasts_per_clause):
                add("contrasts", contrasted(rng.choice(others)[0], clause, rng), logits)
    for _ in range(settings.misspelt_copies):
        for text, logits in zip(texts, text_logits):
            add("misspelt", misspelt_text(text, polarity, rng, settings.misspell_probability), logits)
    counts["polar_words"] = len(polarity)
    array = np.asarray(targets, dtype=np.float32).reshape(-1, 2)
    return copies, array, dict(counts)
