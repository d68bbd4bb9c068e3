"""The one outcome taxonomy every part of the dialer speaks, and where a contact and a
campaign stand.

The PBX link maps AMI facts onto it (dialer.pbx.outcome_map), policy decides the next
step from it (dialer.policy.retry), the store persists its string values.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    INVALID_NUMBER = "invalid_number"
    FAILED = "failed"
    TRANSFERRED = "transferred"
    ABANDONED = "abandoned"  # answered, sent to the operators' queue, never reached one
    MACHINE = "machine"  # answered by an answering machine (AMD), not a person
    UNKNOWN = "unknown"  # fate lost (AMI dropped and reconciliation found nothing)
    # Cut by the PBX going away (Asterisk crashed or restarted mid-call): not the callee's
    # doing, so never an abandon or a final answer; retried soon by its own rule.
    PBX_FAILURE = "pbx_failure"
    # Answered, but the IVR script could not go on (Asterisk refused a command, e.g.
    # RECORD FILE's `(writefile)`; the recogniser failed): the person never got the
    # script's questions, so never a final `answered`; retried by its own rule.
    SCRIPT_ERROR = "script_error"

    @property
    def reached_a_person(self) -> bool:
        return self in (
            Outcome.ANSWERED,
            Outcome.TRANSFERRED,
            Outcome.ABANDONED,
            Outcome.SCRIPT_ERROR,
        )

    @property
    def number_failure(self) -> bool:
        """The number itself could not be reached (invalid, or failed with no sign of a
        network hiccup): a streak of these across campaigns makes the number dead."""
        return self in (Outcome.INVALID_NUMBER, Outcome.FAILED)

    @property
    def number_in_service(self) -> bool:
        """The call rang or was answered: the number exists, whatever failed before."""
        return self in (
            Outcome.ANSWERED,
            Outcome.TRANSFERRED,
            Outcome.ABANDONED,
            Outcome.MACHINE,
            Outcome.BUSY,
            Outcome.NO_ANSWER,
        )


class ContactStatus(StrEnum):
    """Where a contact stands inside one campaign."""

    PENDING = "pending"  # waiting for its next_due_at
    DIALING = "dialing"  # leased: an attempt is (or is about to be) in flight
    DONE = "done"  # final: no more attempts in this campaign


class CampaignState(StrEnum):
    """Where a campaign stands. The store keeps new, running, paused, stopped and
    finished; while a process drives it, the live display and `dialer status` show the
    finer starting / dialing / draining."""

    NEW = "new"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    FINISHED = "finished"
    STARTING = "starting"  # live: adopting what an earlier process left open
    DIALING = "dialing"  # live
    DRAINING = "draining"  # live: no new calls, waiting for calls in progress


STORED_CAMPAIGN_STATES = frozenset(
    {
        CampaignState.NEW,
        CampaignState.RUNNING,
        CampaignState.PAUSED,
        CampaignState.STOPPED,
        CampaignState.FINISHED,
    }
)


class BaseStatus(StrEnum):
    """Where a contact stands in the base, across every campaign (`dialer contacts
    stats`, the list filter's `status`). The first that applies, in this order."""

    DNC = "dnc"  # its number is on the do-not-call list
    DEAD = "dead"  # its number is known not to exist
    PENDING = "pending"  # waiting (or being dialled) in some campaign
    REACHED = "reached"  # a person answered in some campaign (answered or transferred)
    DONE = "done"  # called, final everywhere, never reached
    NEW = "new"  # never called
