"""What becomes of a contact after an attempt. Pure: no I/O; the caller passes `now`.

Per outcome, a rule gives the delay before the next attempt and how many times that
outcome may lead to a retry; `max_attempts` caps the attempts per contact whatever the
outcomes. Reaching a person is final; an invalid number is final and marks the contact
dead so later campaigns skip it. A number that keeps failing (`dead_after_failures`
failed attempts in a row across every campaign, none ringing or answered in between) is
dead too: the store counts the streak when it closes the attempt.

Recycling: a rule may also name times of day (`at`), in the callee's local time. The
retry is then due at the first of those times once the delay has passed, so a number
nobody answered at 11:00 is tried again at 18:00, when people are home.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta, tzinfo

from dialer.outcomes import Outcome

FINAL_ON_SUCCESS = frozenset({Outcome.ANSWERED, Outcome.TRANSFERRED})
DEAD_AFTER_FAILURES = 3  # a sane default: one bad day of a trunk does not kill a base


@dataclass(frozen=True)
class RetryRule:
    delay: timedelta
    max_retries: int
    # Times of day (callee's local time) the retry is moved to; empty: now + delay.
    at: tuple[time, ...] = ()


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    rules: Mapping[Outcome, RetryRule] = field(default_factory=dict)
    # Failed attempts in a row, across campaigns, after which a number is dead (None: never).
    dead_after_failures: int | None = None


@dataclass(frozen=True)
class Decision:
    retry_at: datetime | None  # None: the contact is final in this campaign
    mark_dead: bool = False
    why: str = ""
    # The number is dead if its streak of failures across campaigns, this one counted,
    # reaches this (None: no such check for this outcome).
    dead_after_failures: int | None = None

    @property
    def final(self) -> bool:
        return self.retry_at is None


def decide(
    policy: RetryPolicy,
    outcome: Outcome,
    attempts_before: int,
    outcome_counts_before: Mapping[Outcome, int],
    now: datetime,
    zone: tzinfo | None = None,
) -> Decision:
    """Decide the next step after an attempt that ended with `outcome`.

    `attempts_before` and `outcome_counts_before` describe the contact's closed attempts
    in this campaign *before* this one. `zone` is the callee's time zone (None: UTC): a
    rule's `at` times of day are read in it.
    """
    if outcome in FINAL_ON_SUCCESS:
        return Decision(None, why="reached")
    if outcome is Outcome.INVALID_NUMBER:
        return Decision(None, mark_dead=True, why="invalid number")
    decision = _retry_decision(policy, outcome, attempts_before, outcome_counts_before, now, zone)
    if outcome.number_failure and policy.dead_after_failures is not None:
        return replace(decision, dead_after_failures=policy.dead_after_failures)
    return decision


def _retry_decision(
    policy: RetryPolicy,
    outcome: Outcome,
    attempts_before: int,
    outcome_counts_before: Mapping[Outcome, int],
    now: datetime,
    zone: tzinfo | None,
) -> Decision:
    rule = policy.rules.get(outcome)
    if rule is None:
        return Decision(None, why=f"no retry rule for {outcome}")
    attempts = attempts_before + 1
    if attempts >= policy.max_attempts:
        return Decision(None, why=f"max_attempts {policy.max_attempts} reached")
    retries_so_far = outcome_counts_before.get(outcome, 0)  # earlier same-outcome attempts
    if retries_so_far >= rule.max_retries:
        return Decision(None, why=f"{outcome} retried {rule.max_retries} times already")
    if rule.at:
        due = next_time_of_day(now + rule.delay, rule.at, zone)
        return Decision(due, why=f"retry {outcome} at {due.isoformat()} (after {rule.delay})")
    return Decision(now + rule.delay, why=f"retry {outcome} in {rule.delay}")


def next_time_of_day(earliest: datetime, times: Sequence[time], zone: tzinfo | None) -> datetime:
    """The first moment at or after `earliest` whose wall-clock time in `zone` (None: UTC)
    is one of `times`, as an aware UTC datetime.

    A time that does not exist that day (the spring-forward gap) is taken as the same
    wall-clock reading with the offset before the change, i.e. pushed forward by the gap
    (02:30 -> 03:30); a time that happens twice (autumn) is its first occurrence.
    """
    if not times:
        raise ValueError("next_time_of_day needs at least one time of day")
    local_zone = zone if zone is not None else UTC
    start = earliest.astimezone(local_zone).date()
    # Any time of day comes round within two local days, whatever the DST change.
    after = earliest.astimezone(UTC)
    candidates = (
        datetime.combine(start + timedelta(days=days), at.replace(tzinfo=None), local_zone)
        for days in range(3)
        for at in times
    )
    # Compared in UTC: aware datetimes sharing a tzinfo compare by wall clock, not instant.
    return min(u for u in (c.astimezone(UTC) for c in candidates) if u >= after)
