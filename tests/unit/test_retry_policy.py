"""Retry scheduling: pure, driven by a fake `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialer.outcomes import Outcome
from dialer.policy.pacing import FixedPacer
from dialer.policy.retry import RetryPolicy, RetryRule, decide

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
POLICY = RetryPolicy(
    max_attempts=4,
    rules={
        Outcome.BUSY: RetryRule(timedelta(minutes=10), 2),
        Outcome.NO_ANSWER: RetryRule(timedelta(hours=1), 1),
        Outcome.CONGESTION: RetryRule(timedelta(minutes=5), 3),
        Outcome.FAILED: RetryRule(timedelta(minutes=30), 1),
        Outcome.UNKNOWN: RetryRule(timedelta(minutes=30), 1),
        Outcome.ABANDONED: RetryRule(timedelta(hours=72), 1),
    },
)


@pytest.mark.parametrize("outcome", [Outcome.ANSWERED, Outcome.TRANSFERRED])
def test_given_person_reached_when_deciding_then_final(outcome: Outcome) -> None:
    decision = decide(POLICY, outcome, 0, {}, NOW)
    assert decision.final and not decision.mark_dead


def test_given_invalid_number_when_deciding_then_final_and_dead() -> None:
    decision = decide(POLICY, Outcome.INVALID_NUMBER, 0, {}, NOW)
    assert decision.final and decision.mark_dead


@pytest.mark.parametrize(
    ("outcome", "delay"),
    [
        (Outcome.BUSY, timedelta(minutes=10)),
        (Outcome.NO_ANSWER, timedelta(hours=1)),
        (Outcome.CONGESTION, timedelta(minutes=5)),
        (Outcome.FAILED, timedelta(minutes=30)),
        (Outcome.UNKNOWN, timedelta(minutes=30)),
        (Outcome.ABANDONED, timedelta(hours=72)),
    ],
)
def test_given_first_failure_when_deciding_then_retry_after_the_rule_delay(
    outcome: Outcome, delay: timedelta
) -> None:
    assert decide(POLICY, outcome, 0, {}, NOW).retry_at == NOW + delay


def test_given_busy_retried_max_times_when_busy_again_then_final() -> None:
    # 1st busy -> retry, 2nd busy -> retry, 3rd busy -> final (max 2 retries)
    assert decide(POLICY, Outcome.BUSY, 0, {}, NOW).retry_at is not None
    assert decide(POLICY, Outcome.BUSY, 1, {Outcome.BUSY: 1}, NOW).retry_at is not None
    assert decide(POLICY, Outcome.BUSY, 2, {Outcome.BUSY: 2}, NOW).final


def test_given_max_attempts_reached_when_any_retryable_outcome_then_final() -> None:
    counts = {Outcome.CONGESTION: 1, Outcome.BUSY: 1, Outcome.NO_ANSWER: 1}
    assert decide(POLICY, Outcome.CONGESTION, 3, counts, NOW).final


def test_given_mixed_outcomes_when_counting_retries_then_each_rule_counts_its_own() -> None:
    counts = {Outcome.BUSY: 2}
    decision = decide(POLICY, Outcome.NO_ANSWER, 2, counts, NOW)
    assert decision.retry_at == NOW + timedelta(hours=1)


def test_given_a_fake_clock_when_retry_chain_runs_then_due_times_follow_the_rules() -> None:
    clock = NOW
    counts: dict[Outcome, int] = {}
    attempts = 0
    due_times = []
    for outcome in (Outcome.BUSY, Outcome.BUSY, Outcome.NO_ANSWER):
        decision = decide(POLICY, outcome, attempts, counts, clock)
        assert decision.retry_at is not None
        due_times.append(decision.retry_at - clock)
        clock = decision.retry_at
        attempts += 1
        counts[outcome] = counts.get(outcome, 0) + 1
    assert due_times == [timedelta(minutes=10), timedelta(minutes=10), timedelta(hours=1)]
    assert decide(POLICY, Outcome.BUSY, attempts, counts, clock).final  # 4 = max_attempts


def test_pacer_never_exceeds_channels_or_rate() -> None:
    pacer = FixedPacer(max_channels=5, calls_per_second=2)
    assert pacer.allowance(0.0, in_flight=0) == 1  # gentle start
    pacer.placed(1)
    assert pacer.allowance(0.1, in_flight=1) == 0
    assert pacer.allowance(1.0, in_flight=1) == 2  # refilled at 2 tokens/s, capped at 2
    assert pacer.allowance(10.0, in_flight=1) == 2  # burst is one second of calls
    assert pacer.allowance(10.0, in_flight=5) == 0  # all channels busy
    placed = 0
    t = 20.0
    for _ in range(100):
        n = pacer.allowance(t, in_flight=0)
        pacer.placed(n)
        placed += n
        t += 0.05
    assert placed <= 2 * 5 + 2  # 5 s at 2 calls/s, plus the one-second burst
