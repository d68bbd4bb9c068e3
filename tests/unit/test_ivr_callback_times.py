"""Callback times from a script ("in 2h", "tomorrow 10:00") in the contact's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ivr.callback_times import parse_callback

MOSCOW = ZoneInfo("Europe/Moscow")  # UTC+3, no daylight saving time
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # Tuesday; 15:00 in Moscow, 08:00 in New York


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("in 90m", MOSCOW, utc(2026, 3, 10, 13, 30)),
        ("in 2h", UTC, utc(2026, 3, 10, 14, 0)),
        ("in 1h30m", NEW_YORK, utc(2026, 3, 10, 13, 30)),
        ("In  2d", MOSCOW, utc(2026, 3, 12, 12, 0)),
        ("today 18:30", MOSCOW, utc(2026, 3, 10, 15, 30)),
        ("today 18:30", UTC, utc(2026, 3, 10, 18, 30)),
        ("tomorrow 10:00", MOSCOW, utc(2026, 3, 11, 7, 0)),
        ("tomorrow 10:00", UTC, utc(2026, 3, 11, 10, 0)),
        ("Tomorrow 9:05", NEW_YORK, utc(2026, 3, 11, 13, 5)),  # EDT (UTC-4) since March 8
        ("2026-12-01 10:00", MOSCOW, utc(2026, 12, 1, 7, 0)),
        ("2026-12-01 10:00", NEW_YORK, utc(2026, 12, 1, 15, 0)),  # EST (UTC-5) in December
        ("monday 09:00", MOSCOW, utc(2026, 3, 16, 6, 0)),
        ("wednesday 09:00", MOSCOW, utc(2026, 3, 11, 6, 0)),
        ("tuesday 16:00", MOSCOW, utc(2026, 3, 10, 13, 0)),  # today, still ahead
        ("tuesday 14:00", MOSCOW, utc(2026, 3, 17, 11, 0)),  # today, passed: next week
    ],
)
def test_given_callback_text_then_aware_utc_time_in_the_contacts_day(
    text: str, tz: ZoneInfo, expected: datetime
) -> None:
    found = parse_callback(text, NOW, tz)

    assert found == expected
    assert found.tzinfo is UTC


def test_given_time_already_past_today_then_it_is_returned_as_written() -> None:
    # Whether a past time means "skip" is the interpreter's decision, not the parser's.
    assert parse_callback("today 09:00", NOW, MOSCOW) == utc(2026, 3, 10, 6, 0)


def test_given_now_in_another_zone_then_same_result() -> None:
    now_moscow = NOW.astimezone(MOSCOW)

    assert parse_callback("tomorrow 10:00", now_moscow, MOSCOW) == utc(2026, 3, 11, 7, 0)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "expected 'in 90m', 'in 2h'"),
        ("soon", "cannot read callback time 'soon'"),
        ("tomorrow", "cannot read callback time 'tomorrow'"),
        ("in two hours", "after 'in' write a duration such as 90m"),
        ("in 2", "after 'in' write a duration"),
        ("in 0m", "must be later than now"),
        ("tomorrow 24:00", "no such time of day"),
        ("tomorrow 10:60", "no such time of day"),
        ("2026-02-30 10:00", "has no such date"),
        ("someday 10:00", "expected today, tomorrow, a weekday"),
        ("tomorow 10:00", "cannot read callback day 'tomorow'"),
    ],
)
def test_given_unreadable_callback_then_value_error_says_what_is_expected(
    text: str, words: str
) -> None:
    with pytest.raises(ValueError) as caught:
        parse_callback(text, NOW, MOSCOW)

    assert words in str(caught.value)


def test_given_naive_now_then_value_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_callback("in 2h", datetime(2026, 3, 10, 12, 0), UTC)
