"""Recycling: a retry moved to a time of day in the callee's local time. Pure, fake now."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.campaign.model import RetryRuleSettings
from dialer.outcomes import Outcome
from dialer.policy.retry import RetryPolicy, RetryRule, decide, next_time_of_day

MOSCOW = ZoneInfo("Europe/Moscow")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
EVENING = RetryRule(timedelta(hours=1), 2, at=(time(18, 0),))


def _policy(rule: RetryRule) -> RetryPolicy:
    return RetryPolicy(max_attempts=5, rules={Outcome.NO_ANSWER: rule})


def test_given_no_answer_at_11_in_moscow_when_deciding_then_retry_at_18_moscow_same_day() -> None:
    now = datetime(2026, 11, 23, 11, 0, tzinfo=MOSCOW)
    decision = decide(_policy(EVENING), Outcome.NO_ANSWER, 0, {}, now.astimezone(UTC), MOSCOW)
    assert decision.retry_at == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 18:00 MSK


def test_given_no_answer_after_the_hour_when_deciding_then_retry_at_18_next_day() -> None:
    now = datetime(2026, 11, 23, 17, 30, tzinfo=MOSCOW)  # 17:30 + 1h delay is past 18:00
    decision = decide(_policy(EVENING), Outcome.NO_ANSWER, 0, {}, now, MOSCOW)
    assert decision.retry_at == datetime(2026, 11, 24, 18, 0, tzinfo=MOSCOW)


def test_given_no_zone_when_deciding_then_times_of_day_are_utc() -> None:
    now = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    decision = decide(_policy(EVENING), Outcome.NO_ANSWER, 0, {}, now, None)
    assert decision.retry_at == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def test_given_several_times_when_deciding_then_first_one_after_the_delay() -> None:
    rule = RetryRule(timedelta(hours=2), 2, at=(time(10, 0), time(14, 0), time(19, 0)))
    now = datetime(2026, 11, 23, 12, 30, tzinfo=MOSCOW)  # earliest 14:30 -> 19:00
    decision = decide(_policy(rule), Outcome.NO_ANSWER, 0, {}, now, MOSCOW)
    assert decision.retry_at == datetime(2026, 11, 23, 19, 0, tzinfo=MOSCOW)


def test_given_rule_limits_when_times_of_day_set_then_max_still_applies() -> None:
    decision = decide(_policy(EVENING), Outcome.NO_ANSWER, 2, {Outcome.NO_ANSWER: 2}, _NOW, MOSCOW)
    assert decision.final


_NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_given_spring_forward_day_when_time_falls_in_the_gap_then_pushed_forward_by_the_gap() -> (
    None
):
    # 2026-03-08: New York clocks jump from 02:00 to 03:00; 02:30 does not exist.
    earliest = datetime(2026, 3, 8, 0, 0, tzinfo=NEW_YORK)
    due = next_time_of_day(earliest, [time(2, 30)], NEW_YORK)
    assert due.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)
    assert due == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)


def test_given_spring_forward_day_when_evening_time_then_new_offset_applies() -> None:
    earliest = datetime(2026, 3, 8, 9, 0, tzinfo=NEW_YORK)
    due = next_time_of_day(earliest, [time(18, 0)], NEW_YORK)
    assert due == datetime(2026, 3, 8, 22, 0, tzinfo=UTC)  # EDT, UTC-4 (was UTC-5 at 01:00)


def test_given_fall_back_day_when_time_happens_twice_then_first_occurrence() -> None:
    # 2026-11-01: New York clocks go back from 02:00 to 01:00; 01:30 happens twice.
    earliest = datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK)
    due = next_time_of_day(earliest, [time(1, 30)], NEW_YORK)
    assert due == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT, not 01:30 EST


def test_given_fall_back_day_when_first_occurrence_is_past_then_next_day_not_the_repeat() -> None:
    earliest = datetime(2026, 11, 1, 5, 45, tzinfo=UTC)  # 01:45 EDT, before the repeat
    due = next_time_of_day(earliest, [time(1, 30)], NEW_YORK)
    assert due == datetime(2026, 11, 2, 6, 30, tzinfo=UTC)  # 01:30 EST the next day


def test_given_berlin_dst_end_when_retry_crosses_it_then_wall_clock_time_is_kept() -> None:
    # No answer at 11:00 on Saturday 24 Oct 2026 (CEST), retried a day later at 11:00
    # on Sunday, which is CET: 25 hours later in absolute time.
    rule = RetryRule(timedelta(hours=20), 2, at=(time(11, 0),))
    now = datetime(2026, 10, 24, 11, 0, tzinfo=BERLIN)
    decision = decide(_policy(rule), Outcome.NO_ANSWER, 0, {}, now, BERLIN)
    assert decision.retry_at == datetime(2026, 10, 25, 10, 0, tzinfo=UTC)
    assert decision.retry_at - now == timedelta(hours=25)


@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2100, 1, 1),
        timezones=st.just(UTC),
    ),
    zone=st.sampled_from(
        [None, MOSCOW, NEW_YORK, BERLIN, ZoneInfo("Australia/Lord_Howe"), ZoneInfo("Asia/Kolkata")]
    ),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
)
def test_given_any_moment_and_zone_when_next_time_of_day_then_at_or_after_and_within_a_day(
    moment: datetime, zone: ZoneInfo | None, hour: int, minute: int
) -> None:
    due = next_time_of_day(moment, [time(hour, minute)], zone)
    assert moment <= due < moment + timedelta(hours=26)
    local = due.astimezone(zone or UTC)
    # Either the wall clock shows the time asked for, or that time did not exist (gap).
    asked = local.replace(hour=hour, minute=minute, fold=0)
    assert (local.hour, local.minute) == (hour, minute) or asked.astimezone(UTC) == due


def test_given_yaml_text_when_loading_rule_then_times_parsed_sorted_and_old_files_still_valid() -> (
    None
):
    assert RetryRuleSettings.model_validate({"delay": "1h", "max": 1}).at == ()
    rule = RetryRuleSettings.model_validate({"delay": "1h", "max": 1, "at": ["18:00", "11:30"]})
    assert rule.at == (time(11, 30), time(18, 0))
    assert RetryRuleSettings.model_validate({"delay": "1h", "max": 1, "at": "18:00"}).at == (
        time(18, 0),
    )


@pytest.mark.parametrize("bad", ["6pm", "24:00", "18:60", "1800", ["18:00", "18:00"], 1080])
def test_given_bad_time_of_day_when_loading_rule_then_refused(bad: object) -> None:
    with pytest.raises(ValueError, match=r"time of day|listed once"):
        RetryRuleSettings.model_validate({"delay": "1h", "max": 1, "at": bad})
