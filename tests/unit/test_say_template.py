"""Say texts: placeholders parsed and checked at load time (file:line errors), filled per
contact at call time."""

from __future__ import annotations

import pytest

from dialer.campaign.loader import parse_campaign
from ivr.say_template import FieldError, Placeholder, TemplateError, parse_template
from tests.unit.test_ivr_script import HEAD, only


def fill(text: str, values: dict[str, str], language: str = "ru") -> str:
    return parse_template(text).fill(values.get, language)


def test_a_personal_greeting_in_russian() -> None:
    text = "Здравствуйте, {name}! Ваш долг {amount:money}, оплатите до {due:date}."
    values = {"name": "Анна", "amount": "21000", "due": "2026-03-01"}
    assert fill(text, values) == (
        "Здравствуйте, Анна! Ваш долг двадцать одна тысяча рублей, оплатите до первого марта."
    )


def test_every_type() -> None:
    values = {"n": "2", "d": "12-07", "m": "1,01", "day": "01.03.2026"}
    assert fill("{n:number}|{d:digits}|{m:money}|{day:date}|{day:full_date}", values) == (
        "два|один два ноль семь|один рубль одна копейка|первого марта|"
        "первого марта две тысячи двадцать шестого года"
    )
    assert fill("{m:money} due {day:date}", values, "en") == "one ruble one kopeck due March first"


def test_braces_doubled_are_braces_and_spaces_around_names_are_ignored() -> None:
    assert fill("{{ {name : text} }}", {"name": "Bo"}) == "{ Bo }"
    assert parse_template("{ Сумма долга :money}").placeholders == [
        Placeholder("Сумма долга", "money")
    ]


def test_a_text_value_is_one_line_and_said_as_written() -> None:
    hostile = "$(rm -rf ~)\n`id`; 'q' \"qq\"\t{amount}"
    assert fill("Hi {name}.", {"name": hostile}) == "Hi $(rm -rf ~) `id`; 'q' \"qq\" {amount}."


def test_static_and_personal() -> None:
    assert parse_template("Добрый день!").is_static
    assert not parse_template("Добрый день, {name}!").is_static


@pytest.mark.parametrize(
    ("values", "field", "reason"),
    [
        ({}, "amount", "no value"),
        ({"amount": "  "}, "amount", "no value"),
        ({"amount": "много"}, "amount", "not a number (as money)"),
    ],
)
def test_a_value_that_cannot_be_said_names_the_field_not_the_value(
    values: dict[str, str], field: str, reason: str
) -> None:
    with pytest.raises(FieldError) as caught:
        fill("Долг {amount:money}", values)
    assert (caught.value.field, caught.value.reason) == (field, reason)
    assert "много" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Долг {amount:euro}", "unknown type 'euro'; types are text, number, digits, money"),
        ("Долг {amount", "the '{' at character 6 is never closed"),
        ("Долг amount}", "a '}' with no '{' at character 12"),
        ("Долг {}", "the placeholder at character 6 names no field"),
        ("Долг {:money}", "names no field"),
    ],
)
def test_a_broken_text_is_a_template_error(text: str, says: str) -> None:
    with pytest.raises(TemplateError, match=says.replace("{", r"\{").replace("(", r"\(")):
        parse_template(text)


SAY = "  start: a\n  steps:\n    a:\n      kind: play\n      next: b\n      say:\n"
END = "    b: {kind: hangup}\n"


def test_given_an_unknown_type_then_the_error_is_at_the_text_line() -> None:
    ivr = "ivr:\n" + SAY + "        - text: 'Долг {amount:euro}'\n" + END
    assert only(ivr).startswith(
        "campaign.yaml:16:17: ivr.steps.a.say[0].text: {amount:euro}: unknown type 'euro'"
    )


def test_given_an_unknown_voice_then_the_error_is_at_its_line() -> None:
    ivr = "ivr:\n" + SAY + "        - {text: 'Добрый день', voice: irina}\n" + END
    assert only(ivr) == (
        "campaign.yaml:16:40: ivr.steps.a.say[0].voice: no voice named 'irina'; "
        "voices are: espeak-ru"
    )


def test_given_an_unknown_default_voice_then_the_error_is_at_tts_voice() -> None:
    ivr = "ivr:\n  tts: {voice: irina}\n" + SAY + "        - text: 'Добрый день'\n" + END
    assert only(ivr) == (
        "campaign.yaml:10:16: ivr.tts.voice: no voice named 'irina'; voices are: espeak-ru"
    )


def test_given_money_in_a_language_not_spelled_then_an_error() -> None:
    ivr = "ivr:\n  language: de\n" + SAY + "        - text: 'Schuld {amount:money}'\n" + END
    assert "{amount:money}: numbers, money and dates are spelled in ru, en" in only(ivr)


@pytest.mark.parametrize(
    ("tts", "says"),
    [
        ("{cache_dir: tts}", "ivr.tts.cache_dir: must be an absolute path"),
        (
            "{voices: {v: {command: [piper, '{text}']}}}",
            'ivr.tts.voices.v.command: the command must write its audio to "{out}"',
        ),
        (
            "{voices: {v: {command: [piper, '{in}', '{out}']}}}",
            "ivr.tts.voices.v.command: unknown placeholder {in} in '{in}'",
        ),
        ("{voices: {v: {command: ['{out}']}}}", "the program itself (the first item)"),
        ("{voices: {v: {command: [x, '{out}'], rate: 100}}}", "ivr.tts.voices.v.rate"),
    ],
)
def test_given_a_broken_voice_then_an_error_at_its_line(tts: str, says: str) -> None:
    ivr = f"ivr:\n  tts: {tts}\n" + SAY + "        - text: 'Добрый день'\n" + END
    assert says in only(ivr)


def test_a_custom_voice_and_its_texts_load() -> None:
    ivr = (
        "ivr:\n  tts:\n    voice: irina\n    voices:\n      irina: {command: "
        "[piper, --model, /m.onnx, --output_raw, --output_file, '{out}'], rate: 22050}\n"
        + SAY
        + "        - text: 'Здравствуйте, {name}!'\n        - {text: Hi, voice: espeak-en}\n"
        + END
    )
    campaign = parse_campaign(HEAD + ivr)
    assert campaign.ivr is not None and campaign.ivr.tts is not None
    assert campaign.ivr.tts.voices["irina"].rate == 22050


def test_given_a_menu_with_neither_prompt_nor_text_then_an_error_at_the_step() -> None:
    ivr = "ivr:\n  start: a\n  steps:\n    a: {kind: menu, keys: {'1': a}, on_timeout: b}\n" + END
    assert only(ivr).endswith(
        "ivr.steps.a: give prompt (a sound), prompt_text (spoken by a voice) or both"
    )


def test_given_an_ask_with_a_text_in_an_unknown_voice_then_the_error_is_at_its_voice() -> None:
    ivr = (
        "ivr:\n  speech: {model_dir: /m}\n  start: a\n  steps:\n    a:\n      kind: ask\n"
        "      prompt_text: 'Вам удобно говорить, {name}?'\n      voice: irina\n"
        "      intents: {yes: {next: b, phrases: {ru: [да]}}}\n" + END
    )
    assert only(ivr) == (
        "campaign.yaml:16:14: ivr.steps.a.voice: no voice named 'irina'; voices are: espeak-ru"
    )
