"""Callback times written in a script ("in 2h", "tomorrow 10:00") -> an aware UTC datetime.

Pure: the caller passes the current time and the contact's time zone, so the same text
gives a time in the contact's local day ("tomorrow 10:00" in Vladivostok is not 10:00 in
Moscow). Used by the interpreter at call time and by the script model at load time (with
a fixed clock) so that a misspelt callback is a file:line error, not a failed call.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from dialer.durations import parse_duration

CALLBACK_FORMS = (
    "'in 90m', 'in 2h', 'in 1h30m', 'today 18:30', 'tomorrow 10:00', "
    "'monday 09:00' or '2026-12-01 10:00'"
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_AND_TIME = re.compile(r"^(?P<day>[a-z]+|\d{4}-\d{2}-\d{2})\s+(?P<hh>\d{1,2}):(?P<mm>\d{2})$")


def parse_callback(text: str, now_utc: datetime, tz: tzinfo) -> datetime:
    """When to call back, as an aware UTC datetime; ValueError names the accepted forms.

    Times of day are in `tz` (the contact's zone). A weekday means its next occurrence
    after now (today counts when that time is still ahead). The result may lie in the
    past ("today 09:00" said at noon, an old date): deciding what that means is the
    caller's business, not the parser's.
    """
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    words = " ".join(text.strip().lower().split())
    if words.startswith("in "):
        return now_utc.astimezone(UTC) + _positive_duration(words[3:], text)
    found = _DAY_AND_TIME.match(words)
    if found is None:
        raise ValueError(f"cannot read callback time {text!r}: expected {CALLBACK_FORMS}")
    at = _time_of_day(int(found["hh"]), int(found["mm"]), text)
    local_now = now_utc.astimezone(tz)
    day = _day(found["day"], local_now, at, text)
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def _positive_duration(words: str, text: str) -> timedelta:
    try:
        delay = parse_duration(words)
    except ValueError:
        raise ValueError(
            f"cannot read callback time {text!r}: after 'in' write a duration such as "
            "90m, 2h or 1h30m"
        ) from None
    if delay <= timedelta(0):
        raise ValueError(f"callback time {text!r} must be later than now")
    return delay


def _time_of_day(hour: int, minute: int, text: str) -> time:
    if hour > 23 or minute > 59:
        raise ValueError(f"callback time {text!r} has no such time of day (00:00 to 23:59)")
    return time(hour, minute)


def _day(word: str, local_now: datetime, at: time, text: str) -> date:
    today = local_now.date()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word in _WEEKDAYS:
        ahead = (_WEEKDAYS.index(word) - today.weekday()) % 7
        if ahead == 0 and at <= local_now.time().replace(tzinfo=None):
            ahead = 7  # that time today has passed: the same weekday next week
        return today + timedelta(days=ahead)
    if word[:1].isdigit():
        try:
            return date.fromisoformat(word)
        except ValueError:
            raise ValueError(f"callback time {text!r} has no such date") from None
    raise ValueError(
        f"cannot read callback day {word!r} in {text!r}: expected today, tomorrow, "
        "a weekday (monday...sunday) or a date such as 2026-12-01"
    )
