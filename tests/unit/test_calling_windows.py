"""Calling hours in the callee's local time: zones, DST edges, holidays."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dialer.contacts.zones import callee_zones
from dialer.held_back import Held, HeldReason
from dialer.policy.calling_windows import (
    CallingHours,
    Window,
    holiday_country_problem,
    next_opening,
    window_verdict,
)

NINE_TO_NINE = CallingHours.every_day(Window.parse("09:00-21:00"))
NEW_YORK = ZoneInfo("America/New_York")
PHOENIX = ZoneInfo("America/Phoenix")
DENVER = ZoneInfo("America/Denver")
MOSCOW = ZoneInfo("Europe/Moscow")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_window_parse_and_words() -> None:
    assert Window.parse("09:00-21:00") == Window(540, 1260)
    assert Window.parse(" 00:00 - 24:00 ") == Window(0, 1440)
    assert Window.parse("9:00-21:00") == Window(540, 1260)
    assert str(Window(540, 1260)) == "09:00-21:00"
    for bad in [
        "9-21",
        "09:00",
        "21:00-09:00",
        "09:00-09:00",
        "25:00-26:00",
        "09:60-10:00",
        "24:30-24:45",
        "09:00-21:00-22:00",
        "ab:cd-ef:gh",
    ]:
        with pytest.raises(ValueError):
            Window.parse(bad)


def test_open_in_the_callee_zone_not_ours() -> None:
    # 07:00 UTC: 10:00 in Moscow (open), 03:00 in New York (closed until 13:00 UTC).
    assert window_verdict(NINE_TO_NINE, (MOSCOW,), utc(2026, 1, 15, 7)) is None
    held = window_verdict(NINE_TO_NINE, (NEW_YORK,), utc(2026, 1, 15, 7))
    assert held == Held(HeldReason.WINDOW_CLOSED, utc(2026, 1, 15, 14))


def test_window_end_is_exclusive() -> None:
    assert window_verdict(NINE_TO_NINE, (MOSCOW,), utc(2026, 1, 15, 17, 59, 59)) is None
    held = window_verdict(NINE_TO_NINE, (MOSCOW,), utc(2026, 1, 15, 18))
    assert held is not None and held.until == utc(2026, 1, 16, 6)


def test_arizona_keeps_standard_time_all_summer() -> None:
    eight_to_nine = CallingHours.every_day(Window.parse("08:00-21:00"))
    july = utc(2026, 7, 15, 14, 30)  # Phoenix 07:30 (MST), Denver 08:30 (MDT)
    assert window_verdict(eight_to_nine, (DENVER,), july) is None
    held = window_verdict(eight_to_nine, (PHOENIX,), july)
    assert held == Held(HeldReason.WINDOW_CLOSED, utc(2026, 7, 15, 15))
    january = utc(2026, 1, 15, 14, 30)  # both 07:30 (MST)
    assert window_verdict(eight_to_nine, (PHOENIX,), january) is not None
    assert window_verdict(eight_to_nine, (DENVER,), january) is not None


def test_indiana_counties_differ_by_an_hour() -> None:
    indianapolis = callee_zones("+13175551234")  # Eastern
    crown_point = callee_zones("+12192261234")  # Lake County, Central
    instant = utc(2026, 1, 15, 14, 30)  # 09:30 Eastern, 08:30 Central
    assert window_verdict(NINE_TO_NINE, indianapolis, instant) is None
    held = window_verdict(NINE_TO_NINE, crown_point, instant)
    assert held == Held(HeldReason.WINDOW_CLOSED, utc(2026, 1, 15, 15))
    knox = ZoneInfo("America/Indiana/Knox")  # Starke County: Central, with DST
    summer = utc(2026, 7, 15, 13, 30)  # 08:30 CDT
    held = window_verdict(NINE_TO_NINE, (knox,), summer)
    assert held is not None and held.until == utc(2026, 7, 15, 14)


def test_hour_that_does_not_exist_opens_when_the_clock_jumps() -> None:
    # New York, 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00 UTC; nobody is at 02:30.
    hours = CallingHours.every_day(Window.parse("02:30-05:00"))
    before = utc(2026, 3, 8, 6, 30)  # 01:30 EST
    held = window_verdict(hours, (NEW_YORK,), before)
    assert held == Held(HeldReason.WINDOW_CLOSED, utc(2026, 3, 8, 7))  # 03:00 EDT
    assert window_verdict(hours, (NEW_YORK,), utc(2026, 3, 8, 7)) is None
    assert window_verdict(hours, (NEW_YORK,), utc(2026, 3, 8, 6, 59, 59)) is not None
    # The day after, 02:30 is an ordinary wall time again.
    assert next_opening(hours, (NEW_YORK,), utc(2026, 3, 8, 10)) == utc(2026, 3, 9, 6, 30)


def test_hour_that_happens_twice_is_open_both_times() -> None:
    # New York, 2026-11-01: 02:00 EDT becomes 01:00 EST at 06:00 UTC; 01:xx happens twice.
    hours = CallingHours.every_day(Window.parse("01:00-01:30"))
    first = utc(2026, 11, 1, 5, 10)  # 01:10 EDT
    second = utc(2026, 11, 1, 6, 10)  # 01:10 EST
    assert window_verdict(hours, (NEW_YORK,), first) is None
    assert window_verdict(hours, (NEW_YORK,), second) is None
    between = utc(2026, 11, 1, 5, 45)  # 01:45 EDT: closed, opens again at 01:00 EST
    assert window_verdict(hours, (NEW_YORK,), between) == Held(
        HeldReason.WINDOW_CLOSED, utc(2026, 11, 1, 6)
    )
    later = CallingHours.every_day(Window.parse("01:20-01:40"))  # second time: 01:20 EST
    assert next_opening(later, (NEW_YORK,), between) == utc(2026, 11, 1, 6, 20)


def test_russian_mobile_is_called_only_when_every_zone_is_open() -> None:
    zones = callee_zones("+79123456789")
    # 07:00 UTC (winter): Kaliningrad 09:00 ... Kamchatka 19:00: open everywhere.
    assert window_verdict(NINE_TO_NINE, zones, utc(2026, 1, 15, 7)) is None
    assert window_verdict(NINE_TO_NINE, zones, utc(2026, 1, 15, 8, 59)) is None
    # 09:00 UTC: Kamchatka is at 21:00, Moscow at 12:00: ambiguous, back at 07:00 UTC.
    held = window_verdict(NINE_TO_NINE, zones, utc(2026, 1, 15, 9))
    assert held == Held(HeldReason.AMBIGUOUS_ZONE, utc(2026, 1, 16, 7))
    # 20:30 UTC: 22:30 in Kaliningrad, 08:30 next morning in Kamchatka: closed everywhere.
    held = window_verdict(NINE_TO_NINE, zones, utc(2026, 1, 15, 20, 30))
    assert held == Held(HeldReason.WINDOW_CLOSED, utc(2026, 1, 16, 7))


def test_hours_never_open_in_every_zone_give_no_until() -> None:
    zones = callee_zones("+79123456789")
    narrow = CallingHours.every_day(Window.parse("10:00-18:00"))  # 10 h apart: never
    held = window_verdict(narrow, zones, utc(2026, 1, 15, 9))
    assert held == Held(HeldReason.AMBIGUOUS_ZONE, None)
    assert next_opening(narrow, zones, utc(2026, 1, 15, 9, 0, 1)) is None


def test_no_zone_known_is_closed_for_good() -> None:
    assert window_verdict(NINE_TO_NINE, (), utc(2026, 1, 15, 12)) == Held(
        HeldReason.WINDOW_CLOSED, None
    )
    assert next_opening(NINE_TO_NINE, (), utc(2026, 1, 15, 12)) is None


def test_public_holiday_in_the_callee_country() -> None:
    hours = replace(NINE_TO_NINE, holiday_country="RU")
    russia_day = utc(2026, 6, 12, 9)  # Friday 12 June, 12:00 in Moscow
    held = window_verdict(hours, (MOSCOW,), russia_day)
    assert held == Held(HeldReason.HOLIDAY, utc(2026, 6, 13, 6))
    short_day = replace(hours, on_holidays=(Window.parse("12:00-14:00"),))
    assert window_verdict(short_day, (MOSCOW,), russia_day) is None
    held = window_verdict(short_day, (MOSCOW,), utc(2026, 6, 12, 7))
    assert held == Held(HeldReason.HOLIDAY, utc(2026, 6, 12, 9))
    # Out of the usual hours on a holiday, the hours are why: not the holiday.
    held = window_verdict(hours, (MOSCOW,), utc(2026, 6, 12, 19))
    assert held is not None and held.reason is HeldReason.WINDOW_CLOSED


def test_blackout_date_closes_the_whole_local_day() -> None:
    hours = replace(NINE_TO_NINE, blackout_dates=frozenset({date(2026, 12, 31)}))
    held = window_verdict(hours, (MOSCOW,), utc(2026, 12, 31, 9))
    assert held == Held(HeldReason.HOLIDAY, utc(2027, 1, 1, 6))
    # Still 30 December in New York when it is already 31 December in Moscow.
    assert window_verdict(hours, (NEW_YORK,), utc(2026, 12, 31, 1)) is None


def test_weekday_windows_and_several_windows_a_day() -> None:
    lunch_break = (Window.parse("09:00-13:00"), Window.parse("14:00-18:00"))
    hours = CallingHours(weekly=(lunch_break,) * 5 + ((), ()))
    friday_lunch = utc(2026, 1, 16, 10, 30)  # 13:30 Moscow
    assert window_verdict(hours, (MOSCOW,), friday_lunch) == Held(
        HeldReason.WINDOW_CLOSED, utc(2026, 1, 16, 11)
    )
    friday_evening = utc(2026, 1, 16, 16)  # 19:00 Moscow; next: Monday 09:00
    assert next_opening(hours, (MOSCOW,), friday_evening) == utc(2026, 1, 19, 6)


def test_fixed_offsets_and_the_answer_in_the_zone_asked() -> None:
    plus_three = timezone(timedelta(hours=3))
    after = datetime(2026, 1, 15, 22, 0, tzinfo=plus_three)
    found = next_opening(NINE_TO_NINE, (plus_three,), after)
    assert found == datetime(2026, 1, 16, 9, 0, tzinfo=plus_three)
    assert found is not None and found.tzinfo is plus_three


def test_never_open_hours_and_naive_times() -> None:
    closed = CallingHours(weekly=((),) * 7)
    assert window_verdict(closed, (MOSCOW,), utc(2026, 1, 15, 9)) == Held(
        HeldReason.WINDOW_CLOSED, None
    )
    with pytest.raises(ValueError, match="aware"):
        window_verdict(NINE_TO_NINE, (MOSCOW,), datetime(2026, 1, 15, 9))


def test_holiday_countries_are_checked_against_the_holidays_package() -> None:
    assert holiday_country_problem("RU", None) is None
    assert holiday_country_problem("US", "CA") is None
    assert "no country" in (holiday_country_problem("XX", None) or "")
    assert "no subdivision" in (holiday_country_problem("US", "ZZ") or "")


def test_hours_open_round_the_clock_skip_the_zones_but_a_blackout_date_does_not() -> None:
    whole = CallingHours.every_day(Window(0, 1440))
    assert whole.always_open
    at = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    assert window_verdict(whole, (ZoneInfo("Asia/Vladivostok"),), at) is None
    dated = CallingHours(weekly=whole.weekly, blackout_dates=frozenset({date(2026, 12, 2)}))
    assert not dated.always_open
    assert window_verdict(dated, (ZoneInfo("Europe/Moscow"),), at) is not None
    assert not CallingHours(weekly=whole.weekly, holiday_country="RU").always_open
