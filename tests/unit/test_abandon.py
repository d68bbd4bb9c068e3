"""Abandon accounting over the regulators' windows, its persistence, and the recall rule."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from dialer.policy.abandon import (
    DAY_S,
    MONTH_S,
    AbandonLedger,
    WindowCounts,
    earliest_recall,
    is_abandoned,
)

T0 = 1_790_000_000.0  # Unix time, as the engine passes it


def ledger_with(live: int, abandoned: int, at: float = T0) -> AbandonLedger:
    ledger = AbandonLedger()
    for _ in range(live):
        ledger.record_live(at)
    for _ in range(abandoned):
        ledger.record_abandoned(at)
    return ledger


def test_given_live_and_abandoned_calls_when_counted_then_rate_is_abandoned_over_live():
    counts = ledger_with(live=200, abandoned=5).counts(T0)
    assert counts["24h"] == WindowCounts(live=200, transfers=0, abandoned=5)
    assert counts["30d"].rate == pytest.approx(0.025)
    assert counts["24h"].headroom(0.03) == pytest.approx(1.0)


def test_given_nothing_answered_when_rate_asked_then_zero_not_a_division_error():
    assert AbandonLedger().counts(T0)["24h"].rate == 0.0


def test_given_calls_a_day_ago_when_counted_then_24h_window_drops_them_at_its_edge():
    ledger = ledger_with(live=100, abandoned=3)
    ledger.record_live(T0 + 3600)
    just_inside = ledger.counts(T0 + DAY_S - 60)["24h"]
    assert (just_inside.live, just_inside.abandoned) == (101, 3)
    past_edge = ledger.counts(T0 + DAY_S + 60)["24h"]
    assert (past_edge.live, past_edge.abandoned) == (1, 0)
    assert ledger.counts(T0 + DAY_S + 60)["30d"].abandoned == 3  # still in the 30 days


def test_given_calls_a_month_ago_when_counted_then_30d_window_drops_them_at_its_edge():
    ledger = ledger_with(live=100, abandoned=3)
    assert ledger.counts(T0 + MONTH_S - 3600)["30d"].abandoned == 3
    gone = ledger.counts(T0 + MONTH_S + 3600)["30d"]
    assert (gone.live, gone.abandoned) == (0, 0)


def test_given_a_ledger_when_saved_as_json_and_restored_then_a_restart_keeps_the_history():
    ledger = ledger_with(live=300, abandoned=7)
    ledger.record_transfer(T0 + 10)
    restored = AbandonLedger.from_dict(json.loads(json.dumps(ledger.to_dict())))
    assert restored.counts(T0 + 60) == ledger.counts(T0 + 60)
    restored.record_abandoned(T0 + 120)
    assert restored.counts(T0 + 180)["24h"].abandoned == 8
    # ... and the restored windows still expire on time.
    assert restored.counts(T0 + DAY_S + 3600)["24h"].abandoned == 0


def test_given_an_unknown_ledger_version_when_restored_then_refused():
    data = AbandonLedger().to_dict() | {"version": 99}
    with pytest.raises(ValueError, match="version 99"):
        AbandonLedger.from_dict(data)


def test_given_a_clock_stepping_back_when_recording_then_counted_not_lost():
    ledger = ledger_with(live=10, abandoned=0)
    ledger.record_abandoned(T0 - 5)
    assert ledger.counts(T0)["24h"].abandoned == 1


def test_given_abandoned_number_when_no_operator_guaranteed_then_recall_after_72_hours():
    at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert earliest_recall(at, guaranteed=False) == at + timedelta(hours=72)
    assert earliest_recall(at, guaranteed=True) == at


@pytest.mark.parametrize(
    ("waited", "reached", "abandoned"),
    [(0.0, True, False), (2.0, True, False), (2.5, True, True), (1.0, False, True)],
)
def test_given_wait_at_transfer_when_judged_then_late_or_unanswered_is_abandoned(
    waited: float, reached: bool, abandoned: bool
):
    assert is_abandoned(waited, 2.0, reached) is abandoned
