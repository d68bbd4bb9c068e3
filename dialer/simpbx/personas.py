"""Callee personas: how the far end of each number behaves.

The same rules live in the Asterisk dialplan context `dialer-test-callees`, so a run
against a real Asterisk with Local channels gives the same outcomes. Lookup: the explicit
map first, otherwise the last digit of the number.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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

ANSWERING = frozenset({"answer", "early_hangup", "queue_taken", "queue_abandon"})


def persona_for(number: str, personas: Mapping[str, str]) -> str:
    """Explicit map first (with or without the leading +), then the last digit."""
    for key in (number, number.lstrip("+"), "+" + number.lstrip("+")):
        if key in personas:
            return personas[key]
    last = number[-1:] if number else ""
    return BY_LAST_DIGIT.get(last, "invalid")


def check_personas(personas: Mapping[str, str]) -> None:
    unknown = sorted({name for name in personas.values() if name not in PERSONAS})
    if unknown:
        raise ValueError(f"unknown persona(s) {unknown}; expected one of {', '.join(PERSONAS)}")


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
