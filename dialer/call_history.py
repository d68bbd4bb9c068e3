"""One person's past calls, across every campaign, as the frequency and recall rules see
them. The store reads them (number_histories), dialer.policy.frequency judges them.

Plain values, no imports from the product beyond the outcome vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dialer.outcomes import Outcome


@dataclass(frozen=True)
class PastCall:
    started_at: datetime  # aware UTC
    outcome: Outcome | None  # None: the call is still open
    connected: bool  # a person was reached (answered, transferred, abandoned)
    abandoned: bool  # answered, queued, and no operator took it in time
    machine: bool  # AMD said answering machine
    campaign: str  # the campaign's name
    # When the call ended (None: open, or not known): the recall hold after an abandon
    # runs from here, the end being when the person was left waiting.
    ended_at: datetime | None = None
    # The attempt's id: a check made after the attempt was recorded (just before its
    # Originate) leaves the call being placed out of its own history.
    attempt_id: str = ""

    @classmethod
    def of(
        cls,
        started_at: datetime,
        outcome: Outcome | None,
        campaign: str,
        ended_at: datetime | None = None,
        attempt_id: str = "",
    ) -> PastCall:
        """The call as its outcome describes it (what the store keeps)."""
        return cls(
            started_at=started_at,
            outcome=outcome,
            connected=outcome is not None and outcome.reached_a_person,
            abandoned=outcome is Outcome.ABANDONED,
            machine=outcome is Outcome.MACHINE,
            campaign=campaign,
            ended_at=ended_at,
            attempt_id=attempt_id,
        )
