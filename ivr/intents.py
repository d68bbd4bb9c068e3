"""Recognised words -> the intent they express, from the phrase lists of a script.

Pure and cheap (it runs on every speech answer). Two passes:
1. containment: a phrase whose words appear in the text in order, side by side. The
   longest such phrase wins, so "не интересно" beats "интересно" in "мне не интересно";
2. token overlap, for answers that reorder or inflect the words of a phrase
   ("позже перезвоните" for "перезвоните позже"): the share of the phrase's words found
   in the text, where a long word also matches a word with the same stem-like prefix.
Two intents matching equally well is no answer at all: guessing would route a caller
who said "yes... no" at random.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

# Below this share of a phrase's words, an overlap is a coincidence, not an answer.
MIN_OVERLAP = 0.5
# Overlap scores stay under an exact containment, whatever the share.
_OVERLAP_WEIGHT = 0.9
# Words this long or longer may match on a shared prefix (Russian endings vary:
# перезвоните / перезвонить); shorter words must match exactly ("да" is not "дай").
_STEM_MIN = 5


@dataclass(frozen=True)
class IntentMatch:
    intent: str | None  # None: nothing matched, or two intents matched equally well
    score: float  # 1.0 for a contained phrase, less for a partial overlap, 0.0 for none
    matched_phrase: str | None  # the phrase as written in the script


def normalise(text: str) -> str:
    """Lower case, ё -> е, punctuation and symbols -> spaces, single spaces."""
    return _normalise(text)


@lru_cache(maxsize=4096)  # the same script phrases are normalised on every answer
def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    kept = [" " if unicodedata.category(c)[0] in "PSZC" else c for c in folded]
    return " ".join("".join(kept).split())


def match_intent(text: str, intents: Mapping[str, Sequence[str]]) -> IntentMatch:
    """The intent whose phrases best match text; IntentMatch(None, 0.0, None) if none."""
    words = tuple(normalise(text).split())
    if not words:
        return IntentMatch(None, 0.0, None)
    contained = _best(
        (float(len(phrase_words)), intent, phrase)
        for intent, phrase, phrase_words in _phrases(intents)
        if _contains(words, phrase_words)
    )
    if contained is not None:
        return _decided(contained, 1.0)
    overlaps = (
        (share, intent, phrase)
        for intent, phrase, phrase_words in _phrases(intents)
        if (share := _overlap(words, phrase_words)) >= MIN_OVERLAP
    )
    best = _best(overlaps)
    if best is None:
        return IntentMatch(None, 0.0, None)
    return _decided(best, round(best[0][0] * _OVERLAP_WEIGHT, 3))


_Candidate = tuple[float, str, str]  # (quality, intent, phrase)


def _phrases(intents: Mapping[str, Sequence[str]]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [
        (intent, phrase, tuple(normalise(phrase).split()))
        for intent, phrases in intents.items()
        for phrase in phrases
        if normalise(phrase)
    ]


def _best(candidates: Iterable[_Candidate]) -> tuple[_Candidate, bool] | None:
    """The best candidate and whether another intent is just as good."""
    best: _Candidate | None = None
    tied = False
    for candidate in candidates:
        if best is None or candidate[0] > best[0]:
            best, tied = candidate, False
        elif candidate[0] == best[0] and candidate[1] != best[1]:
            tied = True
    return None if best is None else (best, tied)


def _decided(found: tuple[_Candidate, bool], score: float) -> IntentMatch:
    (_, intent, phrase), tied = found
    if tied:
        return IntentMatch(None, 0.0, None)
    return IntentMatch(intent, score, phrase)


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(words[i : i + size] == phrase for i in range(len(words) - size + 1))


def _overlap(words: tuple[str, ...], phrase: tuple[str, ...]) -> float:
    found = sum(1 for p in phrase if any(_same_word(p, w) for w in words))
    return found / len(phrase)


def _same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    shorter = min(len(a), len(b))
    if shorter < _STEM_MIN:
        return False
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    # All but the last two letters of the shorter word: an ending, not another word.
    return common >= max(_STEM_MIN, shorter - 2)
