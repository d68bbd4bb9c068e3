"""Follows the AMI events of one originated call until its outcome is known. Pure.

The originated channel carries `Uniqueid` = the ChannelId we sent (X); with Local channels
the other half is `X;2`. OriginateResponse and the Hangup of X arrive in either order, so a
call is finished only when both have been seen (or when OriginateResponse says no channel
was ever created).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from dialer.outcomes import Outcome
from dialer.pbx.outcome_map import QueueFacts, answered_outcome, unanswered_outcome

# The event names a tracker reacts to; everything else is dropped before routing.
TRACKED_EVENTS = frozenset(
    {
        "OriginateResponse",
        "Hangup",
        "Newstate",
        "QueueCallerJoin",
        "QueueCallerAbandon",
        "AgentConnect",
        "UserEvent",
    }
)
CHANNEL_STATE_UP = "6"


@dataclass(frozen=True)
class CallOutcome:
    outcome: Outcome
    reason: int | None
    cause: int | None
    answered_at: datetime | None
    ended_at: datetime
    detail: str


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


class CallTracker:
    def __init__(self, attempt_id: str, channel_id: str) -> None:
        self.attempt_id = attempt_id
        self.channel_id = channel_id
        self.response: str | None = None  # OriginateResponse "Success" / "Failure"
        self.reason: int | None = None
        self.no_channel = False  # OriginateResponse with Uniqueid <unknown>
        self.cause: int | None = None  # Hangup cause of X
        self.cause_other_half: int | None = None  # Hangup cause of X;2
        self.hung_up_at: datetime | None = None
        self.answered_at: datetime | None = None
        self.queue_joined = False
        self.queue_connected = False
        self.queue_abandon_event = False
        self.queue_status: str | None = None

    def apply(self, event: Mapping[str, str], now: datetime) -> None:
        name = event.get("Event", "")
        uniqueid = event.get("Uniqueid", "")
        if name == "OriginateResponse":
            self.response = event.get("Response", "")
            self.reason = _int_or_none(event.get("Reason"))
            self.no_channel = uniqueid in ("", "<unknown>")
            if self.response == "Success" and self.answered_at is None:
                self.answered_at = now
        elif name == "Hangup":
            cause = _int_or_none(event.get("Cause")) or 0
            if uniqueid == self.channel_id:
                self.cause = cause
                self.hung_up_at = now
            else:
                self.cause_other_half = cause
        elif name == "Newstate":
            if (
                uniqueid == self.channel_id
                and event.get("ChannelState") == CHANNEL_STATE_UP
                and self.answered_at is None
            ):
                self.answered_at = now
        elif name == "QueueCallerJoin":
            self.queue_joined = True
        elif name == "AgentConnect":
            self.queue_connected = True
        elif name == "QueueCallerAbandon":
            self.queue_abandon_event = True
        elif name == "UserEvent" and event.get("UserEvent") == "DialerQueueResult":
            self.queue_status = event.get("QueueStatus") or None

    @property
    def finished(self) -> bool:
        if self.response is None:
            return False
        return self.no_channel or self.hung_up_at is not None

    def outcome(self, now: datetime, detail: str = "") -> CallOutcome:
        """The outcome from what has been seen so far (complete when `finished`)."""
        ended_at = self.hung_up_at or now
        cause = self.cause if self.cause else (self.cause_other_half or self.cause)
        if self.response == "Success" or self.answered_at is not None:
            facts = QueueFacts(
                joined=self.queue_joined,
                connected=self.queue_connected,
                abandon_event=self.queue_abandon_event,
                queue_status=self.queue_status,
            )
            outcome, queue_detail = answered_outcome(facts)
            return CallOutcome(
                outcome, self.reason, cause, self.answered_at, ended_at, detail or queue_detail
            )
        if self.response is None and self.hung_up_at is None:
            return CallOutcome(Outcome.UNKNOWN, None, None, None, ended_at, detail)
        outcome = unanswered_outcome(self.reason, (self.cause, self.cause_other_half))
        return CallOutcome(outcome, self.reason, cause, None, ended_at, detail)

    def response_lost(self) -> None:
        """The OriginateResponse will never come (sent before a restart or during an AMI
        outage): the Hangup of the channel alone finishes the call."""
        if self.response is None:
            self.response = "Lost"
