"""AMI facts -> the dialer's outcome taxonomy. Pure: no I/O, no state.

Asterisk reports two things about a failed originate: the OriginateResponse `Reason` (the
last control frame: ringing, busy, congestion) and the Q.850 cause of the Hangup. Neither
alone is enough (see shared/asterisk-traces/README.md, "Originate outcomes"): with Local
channels Busy() gives Reason 5 with cause 0 on ;1, while Hangup(17) gives Reason 0 with
cause 17, and an unallocated number gives Reason 0 with cause 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dialer.outcomes import Outcome

# OriginateResponse Reason = the AST_CONTROL_* frame the channel ended on.
REASON_HANGUP = 1
REASON_RING = 2
REASON_RINGING = 3
REASON_ANSWERED = 4
REASON_BUSY = 5
REASON_CONGESTION = 8

_BY_REASON = {
    REASON_RING: Outcome.NO_ANSWER,
    REASON_RINGING: Outcome.NO_ANSWER,
    REASON_BUSY: Outcome.BUSY,
    REASON_CONGESTION: Outcome.CONGESTION,
}

# Q.850 causes that say something about the callee. An invalid number is dead in every
# list at once, so only causes that name the number itself map to it: cause 2 (no route
# to specified transit network) names the carrier's routing, and a trunk set up wrong
# would otherwise kill a whole base in one campaign; it fails, and a streak of failures
# across campaigns (retry.dead_after_failures) still retires a number that never works.
_BY_CAUSE = {
    1: Outcome.INVALID_NUMBER,  # unallocated (unassigned) number
    3: Outcome.INVALID_NUMBER,  # no route to destination
    22: Outcome.INVALID_NUMBER,  # number changed
    28: Outcome.INVALID_NUMBER,  # invalid number format (address incomplete)
    17: Outcome.BUSY,  # user busy
    21: Outcome.BUSY,  # call rejected: the callee declined; retry like busy
    18: Outcome.NO_ANSWER,  # no user responding
    19: Outcome.NO_ANSWER,  # no answer from user (user alerted)
    20: Outcome.NO_ANSWER,  # subscriber absent
    34: Outcome.CONGESTION,  # no circuit/channel available
    38: Outcome.CONGESTION,  # network out of order
    41: Outcome.CONGESTION,  # temporary failure
    42: Outcome.CONGESTION,  # switching equipment congestion
    44: Outcome.CONGESTION,  # requested channel not available
    47: Outcome.CONGESTION,  # resource unavailable
}

# QUEUESTATUS values after Queue() returns without an operator having taken the call.
QUEUE_FAILURE_STATUSES = frozenset(
    {"TIMEOUT", "FULL", "JOINEMPTY", "LEAVEEMPTY", "JOINUNAVAIL", "LEAVEUNAVAIL"}
)


def unanswered_outcome(reason: int | None, causes: Iterable[int | None]) -> Outcome:
    """Outcome of an originate that never answered.

    `causes` are the Hangup causes seen for the originated channel, most relevant first
    (the channel itself, then the Local ;2 half). A Reason of ringing/busy/congestion
    wins; otherwise the first informative cause decides; otherwise it simply failed.
    """
    if reason in _BY_REASON:
        return _BY_REASON[reason]
    for cause in causes:
        if cause and cause in _BY_CAUSE:
            return _BY_CAUSE[cause]
    return Outcome.FAILED


@dataclass(frozen=True)
class QueueFacts:
    joined: bool = False  # QueueCallerJoin seen for the call
    connected: bool = False  # AgentConnect seen: an operator took the call
    abandon_event: bool = False  # QueueCallerAbandon seen (a timeout also emits it)
    queue_status: str | None = None  # QUEUESTATUS reported by the dialplan's UserEvent


def answered_outcome(
    queue: QueueFacts, amd_status: str | None = None, not_sure_is_machine: bool = False
) -> tuple[Outcome, str]:
    """Outcome and a short detail for a call that was answered.

    `amd_status` is AMD()'s own verdict as the dialplan reported it (MACHINE, HUMAN,
    NOTSURE); the campaign decides what NOTSURE counts as, as the dialplan did.
    """
    verdict = (amd_status or "").upper()
    if verdict == "MACHINE" or (verdict == "NOTSURE" and not_sure_is_machine):
        return Outcome.MACHINE, "answering machine"
    if queue.connected:
        return Outcome.TRANSFERRED, "operator connected"
    status = (queue.queue_status or "").upper()
    if status in QUEUE_FAILURE_STATUSES:
        return Outcome.ABANDONED, f"queue {status.lower()}"
    if queue.joined:
        # Left the queue with no operator: the caller hung up while waiting.
        return Outcome.ABANDONED, "caller hung up in queue"
    return Outcome.ANSWERED, ""
