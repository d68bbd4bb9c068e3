"""What becomes of a contact after an attempt. Pure: no I/O; the caller passes `now`.

Per outcome, a rule gives the delay before the next attempt and how many times that
outcome may lead to a retry; `max_attempts` caps the attempts per contact whatever the
outcomes. Reaching a person is final; an invalid number is final and marks the contact
dead so later campaigns skip it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dialer.outcomes import Outcome

FINAL_ON_SUCCESS = frozenset({Outcome.ANSWERED, Outcome.TRANSFERRED})


@dataclass(frozen=True)
class RetryRule:
    delay: timedelta
    max_retries: int


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    rules: Mapping[Outcome, RetryRule] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    retry_at: datetime | None  # None: the contact is final in this campaign
    mark_dead: bool = False
    why: str = ""

    @property
    def final(self) -> bool:
        return self.retry_at is None


def decide(
    policy: RetryPolicy,
    outcome: Outcome,
    attempts_before: int,
    outcome_counts_before: Mapping[Outcome, int],
    now: datetime,
) -> Decision:
    """Decide the next step after an attempt that ended with `outcome`.

    `attempts_before` and `outcome_counts_before` describe the contact's closed attempts
    in this campaign *before* this one.
    """
    if outcome in FINAL_ON_SUCCESS:
        return Decision(None, why="reached")
    if outcome is Outcome.INVALID_NUMBER:
        return Decision(None, mark_dead=True, why="invalid number")
    rule = policy.rules.get(outcome)
    if rule is None:
        return Decision(None, why=f"no retry rule for {outcome}")
    attempts = attempts_before + 1
    if attempts >= policy.max_attempts:
        return Decision(None, why=f"max_attempts {policy.max_attempts} reached")
    retries_so_far = outcome_counts_before.get(outcome, 0)  # earlier same-outcome attempts
    if retries_so_far >= rule.max_retries:
        return Decision(None, why=f"{outcome} retried {rule.max_retries} times already")
    return Decision(now + rule.delay, why=f"retry {outcome} in {rule.delay}")
