"""Per-person frequency caps and recall holds across campaigns: pure, with a fake `now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.call_history import PastCall
from dialer.held_back import Held, HeldReason
from dialer.outcomes import Outcome
from dialer.policy.frequency import DAY, MONTH, WEEK, FrequencyCaps, frequency_verdict

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
H72 = timedelta(hours=72)


def call(
    ago: timedelta, outcome: Outcome | None = Outcome.NO_ANSWER, campaign: str = "a"
) -> PastCall:
    return PastCall.of(NOW - ago, outcome, campaign)


def verdict(
    caps: FrequencyCaps,
    *history: PastCall,
    zone: ZoneInfo | None = None,
    guaranteed: bool = False,
    now: datetime = NOW,
) -> Held | None:
    return frequency_verdict(caps, history, now, zone, guaranteed)


def test_given_no_rule_when_judged_then_callable_and_no_history_needed() -> None:
    caps = FrequencyCaps()
    assert caps.lookback is None
    assert verdict(caps, *(call(timedelta(minutes=m)) for m in range(50))) is None


def test_given_attempts_per_day_reached_across_two_campaigns_then_held_until_oldest_leaves() -> (
    None
):
    caps = FrequencyCaps(attempts_per_day=2)
    first, second = call(timedelta(hours=20), campaign="a"), call(timedelta(hours=1), campaign="b")
    held = verdict(caps, first, second)
    assert held == Held(HeldReason.FREQUENCY_CAP, first.started_at + DAY)
    # One call of the pair alone leaves room for another.
    assert verdict(caps, second) is None
    # At the very instant the oldest leaves the window, the cap holds again.
    assert verdict(caps, first, second, now=first.started_at + DAY) is None


def test_given_more_calls_than_the_cap_then_held_until_enough_have_left() -> None:
    caps = FrequencyCaps(attempts_per_week=2)
    history = [call(timedelta(days=d)) for d in (6, 5, 1)]
    held = verdict(caps, *history)
    # Three in the week, cap 2: one more fits once two have left (the one 5 days ago).
    assert held == Held(HeldReason.FREQUENCY_CAP, history[1].started_at + WEEK)


def test_given_an_open_call_then_it_counts_as_an_attempt() -> None:
    assert verdict(FrequencyCaps(attempts_per_day=1), call(timedelta(minutes=1), None)) is not None


def test_given_connected_cap_then_only_calls_that_reached_a_person_count() -> None:
    caps = FrequencyCaps(connected_per_month=2)
    unanswered = [call(timedelta(days=d), Outcome.NO_ANSWER) for d in range(1, 10)]
    answered = call(timedelta(days=29), Outcome.ANSWERED)
    assert verdict(caps, *unanswered, answered) is None
    transferred = call(timedelta(days=3), Outcome.TRANSFERRED)
    held = verdict(caps, *unanswered, answered, transferred)
    assert held == Held(HeldReason.FREQUENCY_CAP, answered.started_at + MONTH)
    # A call answered 31 days ago is out of the window.
    assert verdict(caps, call(timedelta(days=31), Outcome.ANSWERED), transferred) is None


def test_given_a_cap_of_zero_then_held_for_good() -> None:
    assert verdict(FrequencyCaps(attempts_per_month=0)) == Held(HeldReason.FREQUENCY_CAP, None)


def test_given_abandoned_within_72h_then_recall_hold_until_abandon_plus_hold() -> None:
    caps = FrequencyCaps(abandoned_recall_hold=H72)
    abandoned = call(timedelta(hours=70), Outcome.ABANDONED)
    ended = PastCall.of(
        abandoned.started_at, Outcome.ABANDONED, "a", abandoned.started_at + timedelta(seconds=40)
    )
    assert verdict(caps, abandoned) == Held(HeldReason.RECALL_HOLD, abandoned.started_at + H72)
    # From the moment the person was left waiting, not from the dial.
    assert verdict(caps, ended) == Held(HeldReason.RECALL_HOLD, ended.ended_at + H72)
    assert verdict(caps, call(timedelta(hours=73), Outcome.ABANDONED)) is None
    assert verdict(caps, abandoned, guaranteed=True) is None


def test_given_machine_earlier_the_same_local_day_then_held_until_local_midnight() -> None:
    caps = FrequencyCaps(no_same_day_machine_recall=True)
    moscow = ZoneInfo("Europe/Moscow")  # UTC+3: NOW is 15:00 there
    machine = call(timedelta(hours=5), Outcome.MACHINE)  # 10:00 in Moscow, the same day
    midnight = datetime(2026, 11, 24, 0, 0, tzinfo=moscow)
    assert verdict(caps, machine, zone=moscow) == Held(HeldReason.RECALL_HOLD, midnight)
    assert verdict(caps, machine, zone=moscow, guaranteed=True) is None
    # 13 h ago was 02:00 in Moscow today, but 23:00 yesterday in UTC.
    night = call(timedelta(hours=13), Outcome.MACHINE)
    assert verdict(caps, night, zone=moscow) is not None
    assert verdict(caps, night, zone=None) is None
    assert verdict(caps, call(timedelta(hours=1), Outcome.NO_ANSWER), zone=moscow) is None


def test_given_machine_and_the_day_is_25_hours_long_then_held_until_the_real_midnight() -> None:
    caps = FrequencyCaps(no_same_day_machine_recall=True)
    new_york = ZoneInfo("America/New_York")
    # 2026-11-01: clocks go back at 02:00; 20:00 local is 01:00 UTC on the 2nd.
    now = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    machine = PastCall.of(
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC), Outcome.MACHINE, "a"
    )  # 01:30 EDT
    held = verdict(caps, machine, zone=new_york, now=now)
    assert held == Held(HeldReason.RECALL_HOLD, datetime(2026, 11, 2, 5, 0, tzinfo=UTC))


def test_given_several_rules_then_the_one_that_holds_longest_wins() -> None:
    caps = FrequencyCaps(attempts_per_day=1, abandoned_recall_hold=H72)
    abandoned = call(timedelta(hours=2), Outcome.ABANDONED)
    assert verdict(caps, abandoned) == Held(HeldReason.RECALL_HOLD, abandoned.started_at + H72)
    # An operator guaranteed lifts the recall hold, never the cap.
    assert verdict(caps, abandoned, guaranteed=True) == Held(
        HeldReason.FREQUENCY_CAP, abandoned.started_at + DAY
    )


def test_lookback_covers_the_longest_rule() -> None:
    assert FrequencyCaps(attempts_per_day=3).lookback == DAY
    assert FrequencyCaps(attempts_per_day=3, abandoned_recall_hold=H72).lookback == H72
    assert FrequencyCaps(connected_per_month=1).lookback == MONTH
    assert FrequencyCaps(no_same_day_machine_recall=True).lookback > DAY


# --- whatever the history ---------------------------------------------------------------------
ZONES = [
    "UTC",
    "Europe/Moscow",
    "Asia/Kamchatka",
    "America/New_York",
    "America/Phoenix",
    "Australia/Lord_Howe",
    "America/Havana",
    "Asia/Tehran",
    "Pacific/Chatham",
]
caps_st = st.builds(
    FrequencyCaps,
    attempts_per_day=st.none() | st.integers(0, 4),
    attempts_per_week=st.none() | st.integers(0, 8),
    attempts_per_month=st.none() | st.integers(0, 12),
    connected_per_day=st.none() | st.integers(0, 2),
    connected_per_week=st.none() | st.integers(0, 3),
    connected_per_month=st.none() | st.integers(0, 5),
    abandoned_recall_hold=st.none() | st.just(H72),
    no_same_day_machine_recall=st.booleans(),
)
history_st = st.lists(
    st.builds(
        PastCall.of,
        st.integers(-3600, 40 * 86400).map(lambda s: NOW - timedelta(seconds=s)),
        st.none() | st.sampled_from(Outcome),
        st.sampled_from(["a", "b", "c"]),
    ),
    max_size=25,
)


def _count(history: list[PastCall], now: datetime, window: timedelta, connected: bool) -> int:
    return sum(1 for c in history if now - c.started_at < window and (c.connected or not connected))


@settings(max_examples=400, deadline=None)
@given(
    caps=caps_st,
    history=history_st,
    now=st.datetimes(datetime(2026, 1, 1), datetime(2027, 1, 1)).map(
        lambda d: d.replace(tzinfo=UTC)
    ),
    zone=st.none() | st.sampled_from(ZONES).map(ZoneInfo),
    guaranteed=st.booleans(),
)
def test_property_callable_means_every_cap_holds_with_the_new_call_and_until_is_never_past(
    caps: FrequencyCaps,
    history: list[PastCall],
    now: datetime,
    zone: ZoneInfo | None,
    guaranteed: bool,
) -> None:
    # The history sits around `now`, not NOW: shift it.
    history = [PastCall.of(c.started_at - NOW + now, c.outcome, c.campaign) for c in history]
    held = frequency_verdict(caps, history, now, zone, guaranteed)
    if held is not None:
        assert held.until is None or held.until > now
        assert held.reason in (HeldReason.FREQUENCY_CAP, HeldReason.RECALL_HOLD)
        return
    for window, connected, cap in (
        (DAY, False, caps.attempts_per_day),
        (WEEK, False, caps.attempts_per_week),
        (MONTH, False, caps.attempts_per_month),
        (DAY, True, caps.connected_per_day),
        (WEEK, True, caps.connected_per_week),
        (MONTH, True, caps.connected_per_month),
    ):
        if cap is not None:
            assert _count(history, now, window, connected) + 1 <= cap
    if not guaranteed and caps.abandoned_recall_hold is not None:
        assert all(now - c.started_at >= H72 for c in history if c.abandoned)
    if not guaranteed and caps.no_same_day_machine_recall:
        local = zone or UTC
        today = now.astimezone(local).date()
        assert all(c.started_at.astimezone(local).date() != today for c in history if c.machine)


@settings(max_examples=300, deadline=None)
@given(
    caps=caps_st,
    history=history_st,
    zone=st.none() | st.sampled_from(ZONES).map(ZoneInfo),
)
def test_property_at_until_the_rule_that_held_is_over(
    caps: FrequencyCaps, history: list[PastCall], zone: ZoneInfo | None
) -> None:
    """Waiting until the time given, with no call in between, is enough: the verdict is
    then None or a later time (another rule), never the same hold again."""
    held = frequency_verdict(caps, history, NOW, zone, False)
    if held is None or held.until is None:
        return
    later = frequency_verdict(caps, history, held.until, zone, False)
    assert later is None or later.until is None or later.until > held.until
