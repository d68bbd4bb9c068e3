"""Callee personas: how the far end of each number behaves.

The same rules live in the Asterisk dialplan context `dialer-test-callees`, so a run
against a real Asterisk with Local channels gives the same outcomes. Lookup: the explicit
map first, otherwise the last digit of the number.

Besides the fixed names in PERSONAS, an explicit map value may script a person in an
IVR (see `parse_persona`):
    press:1          the first keypad read gets 1
    press:2,9        the first read gets 2, the second 9
    press:10#        one read gets 1, 0 and # (a multi-digit answer ended by #)
    say:yes,no       the first RECORD FILE gets <speech_dir>/yes.wav, the second no.wav
    press:1+say:yes  both
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PERSONAS: tuple[str, ...] = (
    "answer",
    "busy",
    "no_answer",
    "congestion",
    "invalid",
    "early_hangup",
    "queue_taken",
    "queue_abandon",
    "busy17",
    "congestion34",
    "failed",
    "silent",  # answers, never presses or says anything (AMD: NOTSURE, as a real one)
    "hangup_mid_prompt",  # answers, hangs up in the middle of the first IVR prompt
    "machine",  # an answering machine: AMD says MACHINE
)

BY_LAST_DIGIT: Mapping[str, str] = {
    "0": "answer",
    "1": "busy",
    "2": "no_answer",
    "3": "congestion",
    "4": "invalid",
    "5": "early_hangup",
    "6": "queue_taken",
    "7": "queue_abandon",
    "8": "answer",
    "9": "no_answer",
}

ANSWERING = frozenset(
    {
        "answer",
        "early_hangup",
        "queue_taken",
        "queue_abandon",
        "silent",
        "hangup_mid_prompt",
        "machine",
    }
)

KEYS_RE = re.compile(r"[0-9*#A-D]+")
SPEECH_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class IvrPersona:
    """What a callee does once an IVR script talks to it over FastAGI."""

    keys: tuple[str, ...] = ()  # one entry per keypad read, e.g. ("2", "10#")
    speech: tuple[str, ...] = ()  # one speech file name (no .wav) per RECORD FILE
    hangup_mid_prompt: bool = False
    # `+hangup`: hangs up while its last spoken answer is being recorded ("yes" *click*)
    hangup_after_speech: bool = False


def parse_persona(text: str) -> IvrPersona | None:
    """The IVR behaviour of a persona text, or None if the text is no persona.

    Fixed names other than hangup_mid_prompt are silent in an IVR (they keep their own
    timers: early_hangup still hangs up, queue_abandon still leaves the queue)."""
    if text in PERSONAS:
        return IvrPersona(hangup_mid_prompt=text == "hangup_mid_prompt")
    keys: tuple[str, ...] | None = None
    speech: tuple[str, ...] | None = None
    parts = text.split("+")
    hangup = len(parts) > 1 and parts[-1] == "hangup"
    for part in parts[:-1] if hangup else parts:
        kind, sep, value = part.partition(":")
        items = tuple(value.split(","))
        if not sep or not value:
            return None
        if kind == "press" and keys is None and all(KEYS_RE.fullmatch(i) for i in items):
            keys = items
        elif kind == "say" and speech is None and all(SPEECH_RE.fullmatch(i) for i in items):
            speech = items
        else:
            return None
    if hangup and not speech:
        return None
    return IvrPersona(keys=keys or (), speech=speech or (), hangup_after_speech=hangup)


def is_valid_persona(text: str) -> bool:
    """A fixed name from PERSONAS, or `press:...` / `say:...` joined by `+` (a `say:`
    may end with `+hangup`)."""
    return parse_persona(text) is not None


def answers(persona: str) -> bool:
    """Does this callee pick up? Every scripted IVR person does."""
    return persona in ANSWERING or (persona not in PERSONAS and is_valid_persona(persona))


def persona_for(number: str, personas: Mapping[str, str]) -> str:
    """Explicit map first (with or without the leading +), then the last digit."""
    for key in (number, number.lstrip("+"), "+" + number.lstrip("+")):
        if key in personas:
            return personas[key]
    last = number[-1:] if number else ""
    return BY_LAST_DIGIT.get(last, "invalid")


def check_personas(personas: Mapping[str, str], speech_dir: Path | None = None) -> None:
    """Refuse unknown personas, and `say:` personas whose audio is not there: better at
    start-up than as a silent recording in the middle of a run."""
    unknown = sorted({name for name in personas.values() if not is_valid_persona(name)})
    if unknown:
        raise ValueError(
            f"unknown persona(s) {unknown}; expected one of {', '.join(PERSONAS)}, "
            "or press:<keys>[,<keys>...] / say:<name>[,<name>...] joined by +"
        )
    parsed = [parse_persona(text) for text in personas.values()]
    names = sorted({name for ivr in parsed if ivr is not None for name in ivr.speech})
    if names and speech_dir is None:
        raise ValueError(f"say: personas {names} need SimConfig.speech_dir")
    missing = [n for n in names if speech_dir and not (speech_dir / f"{n}.wav").is_file()]
    if missing:
        raise ValueError(f"speech file(s) missing in {speech_dir}: {', '.join(missing)} (.wav)")


@dataclass(frozen=True)
class Rejection:
    """A callee that ends the attempt without answering, as in the trace table.

    `indication` is Busy()/Congestion() (a control frame: the `;2` half goes to state Busy
    and `;1` keeps cause 0); otherwise the callee runs Hangup(cause).
    """

    indication: bool
    dial_status: str  # DialEnd DialStatus
    local_reason: int  # OriginateResponse Reason with Local channels
    local_causes: tuple[int, int]  # Hangup Cause on ;1 (X) and ;2 (X;2)
    trunk_reason: int  # on a single-channel trunk (PJSIP 486/503/404 ...)
    trunk_cause: int
    result: str


REJECTIONS: Mapping[str, Rejection] = {
    "busy": Rejection(True, "BUSY", 5, (0, 17), 5, 17, "busy"),
    "congestion": Rejection(True, "CONGESTION", 8, (0, 34), 8, 34, "congestion"),
    "invalid": Rejection(False, "NOANSWER", 0, (1, 1), 0, 1, "invalid_number"),
    # A far end that hangs up with 17/34 reaches a SIP trunk as 486/503: busy/congestion.
    "busy17": Rejection(False, "BUSY", 0, (17, 17), 5, 17, "busy"),
    "congestion34": Rejection(False, "CONGESTION", 0, (34, 34), 8, 34, "congestion"),
}


def dial_reason(cause: int) -> int:
    """OriginateResponse Reason for a dial ended by a hangup with `cause`
    (pbx_dial_reason() in Asterisk's pbx.c)."""
    if cause == 17:
        return 5
    if cause in (21, 27, 34, 38, 41, 42):
        return 8
    if cause in (18, 19):
        return 3
    return 0
