"""Operator vocabulary shared by the PBX link (which sees operators in Asterisk's queues)
and the pacers (which dial for them). Plain values: no I/O, no imports from the product."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OperatorState(StrEnum):
    AVAILABLE = "available"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"
    LOGGED_OUT = "logged_out"


@dataclass(frozen=True)
class OperatorChange:
    """One operator (a queue member) went from one state to another."""

    queue: str
    interface: str
    name: str
    before: OperatorState | None
    after: OperatorState
