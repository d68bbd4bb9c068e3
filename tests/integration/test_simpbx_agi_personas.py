"""Persona strings for IVR callees and the AGI command-line parser of the simulated PBX
(pure functions; kept next to the FastAGI tests that rely on them)."""

from __future__ import annotations

import pytest

from dialer.simpbx import PERSONAS, is_valid_persona
from dialer.simpbx.agi_commands import find_command, parse_args
from dialer.simpbx.media import Keypad
from dialer.simpbx.personas import IvrPersona, answers, parse_persona


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("press:1", IvrPersona(keys=("1",))),
        ("press:2,9", IvrPersona(keys=("2", "9"))),
        ("press:10#", IvrPersona(keys=("10#",))),
        ("say:yes", IvrPersona(speech=("yes",))),
        ("say:yes,no_thanks", IvrPersona(speech=("yes", "no_thanks"))),
        ("press:1+say:yes", IvrPersona(keys=("1",), speech=("yes",))),
        ("say:yes+press:*9", IvrPersona(keys=("*9",), speech=("yes",))),
        ("silent", IvrPersona()),
        ("answer", IvrPersona()),
        ("hangup_mid_prompt", IvrPersona(hangup_mid_prompt=True)),
        ("machine", IvrPersona()),
    ],
)
def test_persona_texts_parse(text: str, expected: IvrPersona) -> None:
    assert parse_persona(text) == expected
    assert is_valid_persona(text)
    assert answers(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "grumpy",
        "press:",
        "press:1,",
        "press:x",
        "say:",
        "say:../etc/passwd",
        "say:a b",
        "press:1+press:2",
        "silent+press:1",
        "press1",
        "say:yes+",
    ],
)
def test_invalid_persona_texts_are_refused(text: str) -> None:
    assert not is_valid_persona(text)


def test_new_fixed_personas_are_exported_and_refusals_do_not_answer() -> None:
    assert {"silent", "hangup_mid_prompt", "machine"} <= set(PERSONAS)
    assert not answers("busy") and not answers("no_answer") and not answers("invalid")


def test_keypad_gives_one_answer_per_read() -> None:
    pad = Keypad(("42#", "7"))
    assert pad.next_key() == "4" and pad.take() == "4"
    assert pad.next_key(continuing=True) == "2"  # GET DATA goes on with the same answer
    assert [pad.take(), pad.take()] == ["2", "#"]
    assert pad.next_key(continuing=True) is None  # ...but never into the next one
    assert pad.next_key() == "7" and pad.take() == "7"
    assert pad.next_key() is None


@pytest.mark.parametrize(
    ("line", "argv"),
    [
        ('STREAM FILE beep "0123456789*#"', ["STREAM", "FILE", "beep", "0123456789*#"]),
        ('STREAM FILE beep ""', ["STREAM", "FILE", "beep", ""]),
        ('SET VARIABLE A "hello world"', ["SET", "VARIABLE", "A", "hello world"]),
        ("SET VARIABLE A hello\\ world", ["SET", "VARIABLE", "A", "hello world"]),
        ('SET VARIABLE A \\"q\\"', ["SET", "VARIABLE", "A", '"q"']),
        ("  NOOP\t x ", ["NOOP", "x"]),
        ("", []),
    ],
)
def test_parse_args_follows_res_agi(line: str, argv: list[str]) -> None:
    assert parse_args(line) == argv


def test_commands_match_on_their_leading_words_case_insensitively() -> None:
    spec = find_command(["get", "FULL", "variable", "${X}"])
    assert spec is not None and spec.handler == "get_full_variable"
    found = find_command(["Get", "Variable", "X"])
    assert found is not None and found.handler == "get_variable"
    assert find_command(["STREAM"]) is None
    assert find_command(["FOO", "BAR"]) is None
