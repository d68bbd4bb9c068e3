"""Follows the AMI events of one originated call until its outcome is known. Pure.

The originated channel carries `Uniqueid` = the ChannelId we sent (X); with Local channels
the other half is `X;2`. OriginateResponse and the Hangup of X arrive in either order, so a
call is finished only when both have been seen (or when OriginateResponse says no channel
was ever created).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from dialer.outcomes import Outcome
from dialer.pbx.events import Milestone
from dialer.pbx.outcome_map import QueueFacts, answered_outcome, unanswered_outcome
from dialer.pbx.voicemail import VOICEMAIL_USER_EVENT, voicemail_detail

CHANNEL_STATE_UP = "6"
# UserEvents our dialplan sends with AMD()'s verdict (AMDResult is the recorded traces').
AMD_USER_EVENTS = frozenset({"DialerAMD", "AMDResult"})


@dataclass(frozen=True)
class CallOutcome:
    outcome: Outcome
    reason: int | None
    cause: int | None
    answered_at: datetime | None
    ended_at: datetime
    detail: str


# Q.850 causes are 1..127 and OriginateResponse reasons single digits; anything outside
# these bounds is garbage from the wire (it once overflowed SQLite's INTEGER and orphaned
# the attempt), so it reads as unknown.
MAX_CAUSE = 127
MAX_REASON = 255


def _int_or_none(value: str | None, upper: int) -> int | None:
    try:
        number = int(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and 0 <= number <= upper else None


class CallTracker:
    def __init__(self, attempt_id: str, channel_id: str, not_sure_is_machine: bool = False) -> None:
        self.attempt_id = attempt_id
        self.channel_id = channel_id
        self.not_sure_is_machine = not_sure_is_machine
        self.response: str | None = None  # OriginateResponse "Success" / "Failure"
        self.reason: int | None = None
        self.no_channel = False  # OriginateResponse with Uniqueid <unknown>
        self.cause: int | None = None  # Hangup cause of X
        self.cause_other_half: int | None = None  # Hangup cause of X;2
        self.hung_up_at: datetime | None = None
        self.answered_at: datetime | None = None
        self.queue_joined = False
        self.queue_connected = False
        self.operator = ""  # the queue member who took the call (AgentConnect)
        self.queue_abandon_event = False
        self.queue_status: str | None = None
        self.amd_status: str | None = None
        self.amd_cause: str | None = None
        self.vm_result: str | None = None  # DIALER_VM_RESULT: the voicemail drop's fate

    def apply(self, event: Mapping[str, str], now: datetime) -> None:
        handler = self._HANDLERS.get(event.get("Event", ""))
        if handler is not None:
            handler(self, event, now)

    def _on_originate_response(self, event: Mapping[str, str], now: datetime) -> None:
        self.response = event.get("Response", "")
        self.reason = _int_or_none(event.get("Reason"), MAX_REASON)
        self.no_channel = event.get("Uniqueid", "") in ("", "<unknown>")
        if self.response == "Success" and self.answered_at is None:
            self.answered_at = now

    def _on_hangup(self, event: Mapping[str, str], now: datetime) -> None:
        cause = _int_or_none(event.get("Cause"), MAX_CAUSE) or 0
        if event.get("Uniqueid", "") == self.channel_id:
            self.cause = cause
            self.hung_up_at = now
        else:
            self.cause_other_half = cause

    def _on_newstate(self, event: Mapping[str, str], now: datetime) -> None:
        up = event.get("ChannelState") == CHANNEL_STATE_UP
        if up and event.get("Uniqueid", "") == self.channel_id and self.answered_at is None:
            self.answered_at = now

    def _on_queue_join(self, event: Mapping[str, str], now: datetime) -> None:
        self.queue_joined = True

    def _on_agent_connect(self, event: Mapping[str, str], now: datetime) -> None:
        self.queue_connected = True
        self.operator = event.get("MemberName") or event.get("Interface") or ""

    def _on_queue_abandon(self, event: Mapping[str, str], now: datetime) -> None:
        self.queue_abandon_event = True

    def _on_user_event(self, event: Mapping[str, str], now: datetime) -> None:
        kind = event.get("UserEvent")
        if kind == "DialerQueueResult":
            self.queue_status = event.get("QueueStatus") or None
        elif kind in AMD_USER_EVENTS:
            self.amd_status = event.get("AMDStatus") or None
            self.amd_cause = event.get("AMDCause") or None
        elif kind == VOICEMAIL_USER_EVENT:
            self.vm_result = event.get("Result") or None

    _HANDLERS: ClassVar[dict[str, Callable[[CallTracker, Mapping[str, str], datetime], None]]] = {
        "OriginateResponse": _on_originate_response,
        "Hangup": _on_hangup,
        "Newstate": _on_newstate,
        "QueueCallerJoin": _on_queue_join,
        "AgentConnect": _on_agent_connect,
        "QueueCallerAbandon": _on_queue_abandon,
        "UserEvent": _on_user_event,
    }

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
            outcome, queue_detail = answered_outcome(
                facts, self.amd_status, self.not_sure_is_machine
            )
            if outcome is Outcome.MACHINE and self.amd_cause:
                queue_detail = f"answering machine ({self.amd_cause})"
            if outcome is Outcome.MACHINE and self.vm_result:
                queue_detail = f"{voicemail_detail(self.vm_result)}; {queue_detail}"
            return CallOutcome(
                outcome, self.reason, cause, self.answered_at, ended_at, detail or queue_detail
            )
        if self.response is None and self.hung_up_at is None:
            return CallOutcome(Outcome.UNKNOWN, None, None, None, ended_at, detail)
        outcome = unanswered_outcome(self.reason, (self.cause, self.cause_other_half))
        return CallOutcome(outcome, self.reason, cause, None, ended_at, detail)

    def journal_facts(
        self,
        *,
        answered_at: datetime | None,
        amd_status: str | None,
        vm_result: str | None,
        queue_joined: bool,
        queue_status: str | None,
        operator: bool,
        cause: int | None,
        far_cause: int | None,
        ended_at: datetime | None,
    ) -> None:
        """What the PBX journaled about the call (asterisk-config's [dialer-journal]): it
        fills what the events missed; its answer time replaces a guessed one."""
        if answered_at is not None:
            self.answered_at = answered_at
        self.amd_status = self.amd_status or amd_status
        self.vm_result = self.vm_result or vm_result
        self.queue_joined = self.queue_joined or queue_joined
        self.queue_connected = self.queue_connected or operator
        self.queue_status = self.queue_status or queue_status
        if ended_at is not None:
            self.response_lost()
            if self.hung_up_at is None:
                self.hung_up_at = ended_at
            if self.cause is None:
                self.cause = cause
            if self.cause_other_half is None:
                self.cause_other_half = far_cause

    def milestones(self) -> set[Milestone]:
        """What the call has reached so far, for the pacer."""
        reached = set()
        if self.answered_at is not None:
            reached.add(Milestone.ANSWERED)
        if self.queue_joined:
            reached.add(Milestone.TRANSFER)
        if self.queue_connected:
            reached.add(Milestone.CONNECTED)
        if self.queue_abandon_event and not self.queue_connected:
            reached.add(Milestone.ABANDONED)
        return reached

    def response_lost(self) -> None:
        """The OriginateResponse will never come (sent before a restart or during an AMI
        outage): the Hangup of the channel alone finishes the call."""
        if self.response is None:
            self.response = "Lost"


# The event names a tracker reacts to; everything else is dropped before parsing.
TRACKED_EVENTS = frozenset(CallTracker._HANDLERS)


def live_channels(channels: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """ChannelState by Uniqueid of the channels we originated that Asterisk still has.
    The `;2` half of a Local channel does not count: it can outlive `;1` (an h
    extension, hangup handlers), and the call ended with `;1`, the channel we placed."""
    return {
        channel.get("Uniqueid", ""): channel.get("ChannelState", "")
        for channel in channels
        if not channel.get("Uniqueid", "").endswith(";2")
    }
