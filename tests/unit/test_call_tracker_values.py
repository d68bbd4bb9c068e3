"""AMI values out of any sane range (a Cause of 23 digits once overflowed SQLite's
INTEGER and orphaned the attempt) read as unknown instead of reaching the store."""

from __future__ import annotations

from datetime import UTC, datetime

from dialer.outcomes import Outcome
from dialer.pbx.call_tracker import CallTracker

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def test_a_huge_or_negative_hangup_cause_and_reason_read_as_unknown() -> None:
    tracker = CallTracker("a1", "a1")
    tracker.apply(
        {"Event": "OriginateResponse", "Response": "Failure", "Reason": "-3", "Uniqueid": "a1"},
        T0,
    )
    tracker.apply({"Event": "Hangup", "Uniqueid": "a1", "Cause": "99999999999999999999999"}, T0)
    assert tracker.finished
    result = tracker.outcome(T0)
    # Cause 0 is Asterisk's "not defined", what a Hangup without a cause reads as.
    assert (result.cause, result.reason) == (0, None)
    assert result.outcome in set(Outcome)


def test_sane_causes_and_reasons_are_kept() -> None:
    tracker = CallTracker("a1", "a1")
    tracker.apply(
        {"Event": "OriginateResponse", "Response": "Failure", "Reason": "5", "Uniqueid": "a1"},
        T0,
    )
    tracker.apply({"Event": "Hangup", "Uniqueid": "a1", "Cause": "17"}, T0)
    result = tracker.outcome(T0)
    assert (result.cause, result.reason) == (17, 5)
