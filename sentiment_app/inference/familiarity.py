"""Is a text like what the models learned from? English movie reviews: a text in another script
or language, one made mostly of tokens the tokenizer does not know or has to cut into
fragments, or one too short to carry sentiment gets a flag and its reason with the answer.

Cheap cues, no second model: the share of letters in the Latin script, English function words
against those of French, German, Spanish, Italian, Portuguese, Dutch and lorem ipsum, the share of unknown
and fragment tokens, and the number of words. docs/results.md gives the flag rates (the test
split, and a written set of texts that should be flagged).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
MIN_WORDS = 2  # "Loved it." carries sentiment; "ok" alone hardly does
MIN_LATIN_SHARE = 0.6  # of letters
MAX_UNKNOWN_SHARE = 0.5  # of tokens that are [UNK] or fragments of a word cut into three or more
FOREIGN_MARGIN = 2  # function words of one other language beyond the English ones

ENGLISH = frozenset(
    "the a an and or but not no is are was were be been it its this that these those of to in on at "
    "for with as by from i you he she we they my your his her our their me him us them what which who "
    "so too very just than then there here all any some more most less much many one film movie "
    "story plot good bad great best worst fun funny boring dull love loved hate hated".split()
)
OTHER_LANGUAGES = {
    "French": frozenset(
        "le la les un une des et est sont mais pas ne je tu il elle nous vous ils du au aux avec pour "
        "dans sur ce cette qui que très film c'est j'ai suis me vraiment deux trop bien".split()
    ),
    "German": frozenset(
        "der die das ein eine und ist sind aber nicht ich du er sie wir ihr mit für auf von zu den dem "
        "sehr auch war nur noch ganz".split()
    ),
    "Spanish": frozenset(
        "el la los las un una y es son pero no yo tú él ella nosotros con para por en del muy película "
        "que lo su".split()
    ),
    "Italian": frozenset(
        "il lo la gli le un una e è sono ma non io tu lui lei noi con per di del della molto che film".split()
    ),
    "Portuguese": frozenset(
        "o a os as um uma e é são mas não eu você ele ela com para em do da muito que filme".split()
    ),
    "Dutch": frozenset(
        "de het een en is zijn maar niet ik jij hij zij wij met voor op van zeer ook dat film veel te heel erg".split()
    ),
    "Latin (placeholder text)": frozenset("lorem ipsum dolor sit amet consectetur adipiscing elit sed".split()),
}


def latin_share(text: str) -> float | None:
    """The share of the text's letters that are Latin; None when it has no letters."""
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return None
    latin = sum(unicodedata.name(char, "").startswith("LATIN") for char in letters)
    return latin / len(letters)


def foreign_language(words: list[str]) -> str | None:
    """The language whose function words outnumber the English ones by FOREIGN_MARGIN, if any."""
    lowered = [word.lower() for word in words]
    english = sum(word in ENGLISH for word in lowered)
    best, best_count = None, 0
    for language, vocabulary in OTHER_LANGUAGES.items():
        count = sum(word in vocabulary and word not in ENGLISH for word in lowered)
        if count > best_count:
            best, best_count = language, count
    return best if best_count >= english + FOREIGN_MARGIN else None


def unknown_share(tokens: Sequence[str], word_ids: Sequence[int | None], unknown_token: str) -> float:
    """The share of tokens that are unknown, or pieces of a word cut into three or more."""
    if not tokens:
        return 1.0
    pieces: dict[int, int] = {}
    for word in word_ids:
        if word is not None:
            pieces[word] = pieces.get(word, 0) + 1
    strange = sum(
        token == unknown_token or (word is not None and pieces[word] >= 3) for token, word in zip(tokens, word_ids)
    )
    return strange / len(tokens)


def unfamiliar_reason(
    text: str, tokens: Sequence[str], word_ids: Sequence[int | None], unknown_token: str
) -> str | None:
    """Why the models should not be trusted on `text`, or None when it looks like what they learned."""
    share = latin_share(text)
    if share is None:
        return "no words: only symbols, emoji or digits"
    if share < MIN_LATIN_SHARE:
        return f"not English: {1 - share:.0%} of the letters are not Latin script"
    words = WORD.findall(text)
    language = foreign_language(words)
    if language:
        return f"looks like {language}, not English"
    if len(words) < MIN_WORDS:
        return "too short to carry sentiment"
    if unknown_share(tokens, word_ids, unknown_token) > MAX_UNKNOWN_SHARE:
        return "mostly words the model does not know"
    return None
