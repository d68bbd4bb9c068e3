"""Recognised text -> intent, in Russian, English and Korean."""

from __future__ import annotations

import pytest

from ivr.intents import IntentMatch, match_intent, normalise

CALL_CENTRE = {
    "yes": ["да", "конечно", "интересно", "yes", "sure", "of course"],
    "no": ["нет", "не интересно", "не надо", "no", "not interested"],
    "callback": ["перезвоните позже", "сейчас неудобно", "call me later"],
    "stop": ["больше не звоните", "stop calling", "do not call"],
}
KOREAN = {"yes": ["네", "예"], "no": ["아니요", "아니"]}
EVERY_LANGUAGE = {name: CALL_CENTRE[name] + KOREAN.get(name, []) for name in CALL_CENTRE}


@pytest.mark.parametrize(
    ("text", "intent", "phrase"),
    [
        ("да", "yes", "да"),
        ("Да, конечно!", "yes", "да"),  # both phrases are yes; one word each: first wins
        ("ну конечно", "yes", "конечно"),
        ("мне не интересно", "no", "не интересно"),  # longest phrase wins over интересно
        ("НЕТ.", "no", "нет"),
        ("больше не звоните сюда", "stop", "больше не звоните"),
        ("Yes, sure", "yes", "yes"),
        ("I'm not interested, thanks", "no", "not interested"),
        ("please stop calling me", "stop", "stop calling"),
        ("네", "yes", "네"),
        ("네, 좋아요", "yes", "네"),
        ("아니요", "no", "아니요"),
        ("아니요 괜찮습니다", "no", "아니요"),
    ],
)
def test_given_phrase_contained_in_text_then_its_intent_with_full_score(
    text: str, intent: str, phrase: str
) -> None:
    assert match_intent(text, EVERY_LANGUAGE) == IntentMatch(intent, 1.0, phrase)


@pytest.mark.parametrize(
    ("text", "intent", "phrase"),
    [
        ("позже перезвоните", "callback", "перезвоните позже"),  # words reordered
        ("перезвонить позже", "callback", "перезвоните позже"),  # another ending
        ("перезвоните, пожалуйста, позже", "callback", "перезвоните позже"),
        ("later, call me", "callback", "call me later"),
    ],
)
def test_given_phrase_words_reordered_or_inflected_then_overlap_finds_it_below_full_score(
    text: str, intent: str, phrase: str
) -> None:
    found = match_intent(text, CALL_CENTRE)

    assert (found.intent, found.matched_phrase) == (intent, phrase)
    assert 0.45 <= found.score < 1.0


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "?!",
        "алло кто это",
        "дай подумать",  # "дай" is not "да": short words match only exactly
        "yesterday",
        "нет, да",  # two intents equally well: no answer rather than a guess
        "no yes",
    ],
)
def test_given_text_without_a_clear_intent_then_no_match(text: str) -> None:
    assert match_intent(text, CALL_CENTRE) == IntentMatch(None, 0.0, None)


def test_given_yo_in_text_or_phrase_then_it_matches_e() -> None:
    intents = {"callback": ["ещё раз"], "agree": ["идёт"]}

    assert match_intent("Еще раз, пожалуйста", intents).intent == "callback"
    assert match_intent("идет", intents).intent == "agree"


def test_given_no_intents_then_no_match() -> None:
    assert match_intent("да", {}) == IntentMatch(None, 0.0, None)


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("  Да,   КОНЕЧНО!! ", "да конечно"),
        ("Ёлки-палки", "елки палки"),
        ("I'm «sure»", "i m sure"),
        ("네, 좋아요.", "네 좋아요"),
        ("ｙｅｓ", "yes"),  # full-width letters from some recognisers
    ],
)
def test_normalise_folds_case_yo_punctuation_and_spaces(text: str, normal: str) -> None:
    assert normalise(text) == normal
