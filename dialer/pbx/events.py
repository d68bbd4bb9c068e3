"""What the PBX link tells the engine: plain domain events, never AMI messages.

A call's events go to the listener that originated (or adopted) it; operator changes go
to every listener watching the queue. Both kinds of listener are the engine's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from dialer.operators import OperatorChange
from dialer.outcomes import Outcome


@dataclass(frozen=True)
class CallEnded:
    """A call is over and its outcome known: reported exactly once per attempt."""

    attempt_id: str
    outcome: Outcome
    ended_at: datetime
    reason: int | None = None
    cause: int | None = None
    answered_at: datetime | None = None
    detail: str = ""


class Milestone(StrEnum):
    """Milestones of a call before it ends, for the pacer."""

    ANSWERED = "answered"  # a person (or a machine) picked up
    TRANSFER = "transfer"  # the call joined the operators' queue
    CONNECTED = "connected"  # an operator took it
    ABANDONED = "abandoned"  # it left the queue with no operator


@dataclass(frozen=True)
class CallMilestone:
    attempt_id: str
    milestone: Milestone
    at: datetime
    operator: str = ""  # CONNECTED: the queue member who took the call, when AMI named it


class CallListener(Protocol):
    """Who hears about a call the link follows."""

    # Milestones cost a little per AMI event: a fixed-pace campaign does without them.
    wants_milestones: bool

    def call_ended(self, event: CallEnded) -> None: ...

    def call_milestone(self, event: CallMilestone) -> None: ...


class OperatorListener(Protocol):
    """Who hears about operators of the queues it watches."""

    def operators_changed(self, changes: Sequence[OperatorChange]) -> None: ...
