"""Calling hours in the callee's local wall-clock time. Pure: the instant is passed in.

A contact is open when the local time is inside that day's windows in EVERY zone it may
be in: a number that maps to several zones (a Russian mobile: eleven UTC offsets) is
called only when the hours are open in all of them.

Local time is what a clock on the callee's wall shows (zoneinfo): in the hour that does
not exist (clocks jump 02:00 -> 03:00) nobody is at 02:30, so a window opening at 02:30
opens at 03:00; in the hour that happens twice the wall reads 01:xx both times, and a
window covering 01:xx is open both times.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import Enum
from functools import lru_cache

import holidays

from dialer.held_back import Held, HeldReason

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
HORIZON = timedelta(days=366)  # next_opening looks this far ahead, then says None
_ONE_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True, order=True)
class Window:
    """Open from start to end (exclusive), in minutes after local midnight; end 1440 is
    the midnight that ends the day. Windows do not span midnight."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= DAY_MINUTES:
            raise ValueError(f"a window opens before it closes, within one day: {self}")

    @classmethod
    def parse(cls, text: str) -> Window:
        """'09:00-21:00' -> Window; ValueError in plain words otherwise."""
        parts = text.replace(" ", "").split("-")
        if len(parts) != 2:
            raise ValueError(f"expected hours such as 09:00-21:00, got {text!r}")
        start, end = (_minutes(part, text) for part in parts)
        if start >= end:
            raise ValueError(f"{text!r} closes before it opens (windows do not span midnight)")
        return cls(start, end)

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"

    def covers(self, other: Window) -> bool:
        return self.start <= other.start and other.end <= self.end


Windows = tuple[Window, ...]


def windows_text(windows: Windows) -> str:
    return ", ".join(map(str, windows)) if windows else "none"


@dataclass(frozen=True)
class CallingHours:
    """When calls may be placed, in the callee's local time."""

    weekly: tuple[Windows, ...]  # seven entries, Monday first; () = no calls that day
    on_holidays: Windows = ()  # on a public holiday of holiday_country; () = no calls
    holiday_country: str | None = None  # ISO code for the holidays package; None: none
    holiday_subdivision: str | None = None
    blackout_dates: frozenset[date] = field(default_factory=frozenset)  # no calls at all

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("weekly needs seven entries, Monday first")
        # The verdict's cache hashes the hours for every contact: once is enough.
        fields = (self.weekly, self.on_holidays, self.holiday_country)
        object.__setattr__(self, "_hash", hash((*fields, self.blackout_dates)))
        whole_day = (Window(0, DAY_MINUTES),)
        always = all(day == whole_day for day in self.weekly) and not self.blackout_dates
        always = always and (self.holiday_country is None or self.on_holidays == whole_day)
        object.__setattr__(self, "always_open", always)

    def __hash__(self) -> int:
        return self._hash  # type: ignore[no-any-return, attr-defined]

    # Open round the clock every day (no blackout, holidays open all day too): the zone
    # cannot close it, so the verdict skips the zones (set in __post_init__).
    always_open: bool = field(init=False, compare=False, repr=False, default=False)

    @classmethod
    def every_day(cls, *windows: Window) -> CallingHours:
        return cls(weekly=(tuple(windows),) * 7)


class _State(Enum):
    OPEN = "open"
    CLOSED = "closed"
    HOLIDAY = "holiday"  # closed only because the day is a holiday or a blackout date


def is_open(hours: CallingHours, zones: Sequence[tzinfo], instant: datetime) -> bool:
    """Open in every zone (False for no zone at all)."""
    return bool(zones) and all(_state(hours, z, instant) is _State.OPEN for z in zones)


def window_verdict(hours: CallingHours, zones: Sequence[tzinfo], now: datetime) -> Held | None:
    """None when the hours are open at now in every zone; otherwise why not and until
    when (the next instant open in every zone, None if none within a year).

    No zone at all (nothing known, not even the campaign's default): closed,
    WINDOW_CLOSED, until None; such a contact is never called at a guessed hour.
    Several zones, open in some but not all: AMBIGUOUS_ZONE (knowing the zone would let
    the call go). Closed everywhere: HOLIDAY if a holiday or blackout date closes it in
    some zone, else WINDOW_CLOSED."""
    _aware(now)
    if hours.always_open and zones:
        return None
    return _verdict(hours, tuple(zones), now)


@lru_cache(maxsize=4096)
def _verdict(hours: CallingHours, zones: tuple[tzinfo, ...], now: datetime) -> Held | None:
    if not zones:
        return Held(HeldReason.WINDOW_CLOSED, None)
    states = {_state(hours, zone, now) for zone in zones}
    if states == {_State.OPEN}:
        return None
    if _State.OPEN in states:
        reason = HeldReason.AMBIGUOUS_ZONE
    elif _State.HOLIDAY in states:
        reason = HeldReason.HOLIDAY
    else:
        reason = HeldReason.WINDOW_CLOSED
    return Held(reason, next_opening(hours, zones, now))


def next_opening(hours: CallingHours, zones: Sequence[tzinfo], after: datetime) -> datetime | None:
    """The earliest instant >= after that is open in every zone (in after's zone), or
    None if there is none within a year (or no zone)."""
    _aware(after)
    key = (hours, tuple(zones))
    known = _OPENINGS.get(key)
    if known is not None:
        since, found = known
        # The earliest opening after `since` is also the earliest after any later instant
        # before it: the lease path asks again every second with the same answer.
        if since <= after and (after <= found if found else after < since + _ONE_DAY):
            return max(found, after).astimezone(after.tzinfo) if found else None
    found = _search(hours, key[1], after)
    if len(_OPENINGS) > 4096:
        _OPENINGS.clear()
    _OPENINGS[key] = (after, found)
    return found.astimezone(after.tzinfo) if found else None


_OPENINGS: dict[tuple[CallingHours, tuple[tzinfo, ...]], tuple[datetime, datetime | None]] = {}


def _search(hours: CallingHours, zones: tuple[tzinfo, ...], after: datetime) -> datetime | None:
    if not zones or not _ever_open(hours):
        return None
    if is_open(hours, zones, after):
        return after
    # The open set is a union of intervals closed on the left; each starts where some
    # zone opens: a window's start on the wall clock, or a clock change.
    low = after
    while low < after + HORIZON:
        high = low + _ONE_DAY
        candidates = sorted({t for z in zones for t in _openings(hours, z, low, high)})
        for instant in candidates:
            if is_open(hours, zones, instant):
                return instant
        low = high
    return None


def _ever_open(hours: CallingHours) -> bool:
    return any(hours.weekly) or bool(hours.on_holidays and hours.holiday_country)


def _openings(
    hours: CallingHours, zone: tzinfo, low: datetime, high: datetime
) -> Iterator[datetime]:
    """Instants in [low, high) where zone may go from closed to open."""
    first = low.astimezone(zone).date() - _ONE_DAY
    last = high.astimezone(zone).date() + _ONE_DAY
    day = first
    while day <= last:
        for window in _day(hours, day)[0]:
            wall = datetime.combine(day, time(window.start // 60, window.start % 60))
            for fold in (0, 1):
                instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
                if low <= instant < high:
                    yield instant
        day += _ONE_DAY
    yield from _clock_changes(zone, low, high)


def _clock_changes(zone: tzinfo, low: datetime, high: datetime) -> Iterator[datetime]:
    """The clock changes of zone in [low, high), to the second (at most one per half)."""
    middle = low + (high - low) / 2
    for left, right in ((low, middle), (middle, high)):
        before = _offset(zone, left)
        if _offset(zone, right) == before:
            continue
        start, end = int(left.timestamp()), int(right.timestamp()) + 1
        while end - start > 1:  # offset(start) == before != offset(end)
            mid = (start + end) // 2
            if _offset(zone, datetime.fromtimestamp(mid, UTC)) == before:
                start = mid
            else:
                end = mid
        change = datetime.fromtimestamp(end, UTC)
        if low <= change < high:
            yield change


def _offset(zone: tzinfo, instant: datetime) -> timedelta | None:
    return instant.astimezone(zone).utcoffset()


def _state(hours: CallingHours, zone: tzinfo, instant: datetime) -> _State:
    local = instant.astimezone(zone)
    second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    windows, special = _day(hours, local.date())
    if any(w.start * 60 <= second < w.end * 60 for w in windows):
        return _State.OPEN
    usual = hours.weekly[local.weekday()]
    if special and any(w.start * 60 <= second < w.end * 60 for w in usual):
        return _State.HOLIDAY
    return _State.CLOSED


@lru_cache(maxsize=16384)
def _day(hours: CallingHours, day: date) -> tuple[Windows, bool]:
    """That local date's windows, and whether a holiday or blackout date set them."""
    if day in hours.blackout_dates:
        return (), True
    if hours.holiday_country and day in _holidays(hours.holiday_country, hours.holiday_subdivision):
        return hours.on_holidays, True
    return hours.weekly[day.weekday()], False


@lru_cache(maxsize=64)
def _holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision)


def holiday_country_problem(country: str, subdivision: str | None) -> str | None:
    """Why the holidays package cannot give this country's holidays; None when it can."""
    supported = holidays.list_supported_countries()
    if country not in supported:
        return f"the holidays package knows no country {country!r} (ISO 3166 codes: RU, US, GB...)"
    if subdivision is not None and subdivision not in supported[country]:
        known = ", ".join(supported[country][:12]) or "none"
        return f"{country} has no subdivision {subdivision!r} (known: {known})"
    return None


def _aware(instant: datetime) -> None:
    if instant.utcoffset() is None:
        raise ValueError("calling hours need an aware datetime (with its zone)")


def _minutes(part: str, text: str) -> int:
    pieces = part.split(":")  # 09:00 or 9:00
    if len(pieces) != 2 or not (_digits(pieces[0], 1, 2) and _digits(pieces[1], 2, 2)):
        raise ValueError(f"expected hours such as 09:00-21:00, got {text!r}")
    hour, minute = int(pieces[0]), int(pieces[1])
    if minute >= 60 or hour > 24 or (hour == 24 and minute):
        raise ValueError(f"{part!r} is not a time of day (00:00 to 24:00) in {text!r}")
    return hour * 60 + minute


def _digits(text: str, shortest: int, longest: int) -> bool:
    return text.isascii() and text.isdigit() and shortest <= len(text) <= longest


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
