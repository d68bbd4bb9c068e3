"""Property: whatever the hours, zones and instant, the verdict never says open when
some zone's local time is outside its window, and next_opening finds the earliest
instant open in every zone. The check below reads the wall clock on its own."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import holidays
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.policy.calling_windows import CallingHours, Window, next_opening, window_verdict

# Zones with the edges that matter: DST at 02:00 and at midnight (Havana, Santiago), no
# DST (Phoenix), 30-minute DST (Lord Howe), odd offsets (Kathmandu), a date-line jump
# (Apia), moving DST (Casablanca), fixed offsets.
ZONES: list[tzinfo] = [
    ZoneInfo(name)
    for name in [
        "America/New_York",
        "America/Phoenix",
        "America/Indiana/Knox",
        "Europe/London",
        "Australia/Lord_Howe",
        "America/Havana",
        "America/Santiago",
        "Asia/Kathmandu",
        "Pacific/Apia",
        "Africa/Casablanca",
        "Europe/Moscow",
        "Asia/Kamchatka",
        "Europe/Kaliningrad",
        "Asia/Tehran",
        "America/St_Johns",
    ]
] + [timezone(timedelta(hours=3)), timezone(timedelta(hours=-9, minutes=-30))]
# Instants around the clock changes of 2026, where mistakes hide.
EDGES = [
    datetime(2026, 3, 8, 7, tzinfo=UTC),
    datetime(2026, 11, 1, 6, tzinfo=UTC),
    datetime(2026, 3, 29, 1, tzinfo=UTC),
    datetime(2026, 10, 25, 1, tzinfo=UTC),
    datetime(2026, 4, 5, 2, tzinfo=UTC),
    datetime(2026, 10, 4, 2, tzinfo=UTC),
    datetime(2026, 3, 8, 5, tzinfo=UTC),
    datetime(2026, 4, 5, 3, tzinfo=UTC),
    datetime(2026, 9, 6, 4, tzinfo=UTC),
    datetime(2026, 2, 15, 2, tzinfo=UTC),
]
RU_HOLIDAYS = holidays.country_holidays("RU")


# Windows that open or close inside the hours clocks skip or repeat.
EDGE_WINDOWS = [
    (Window.parse("02:30-05:00"),),
    (Window.parse("01:20-01:40"),),
    (Window.parse("00:00-00:30"),),
    (Window.parse("00:15-09:00"),),
    (Window.parse("01:00-01:30"), Window.parse("02:00-03:00")),
    (Window.parse("23:30-24:00"),),
    (Window.parse("03:00-04:00"),),
]


@st.composite
def windows(draw: st.DrawFn) -> tuple[Window, ...]:
    if draw(st.booleans()):
        return draw(st.sampled_from(EDGE_WINDOWS))
    count = draw(st.integers(0, 2))
    cuts = sorted(
        draw(st.lists(st.integers(0, 96), min_size=2 * count, max_size=2 * count, unique=True))
    )
    return tuple(Window(cuts[i] * 15, cuts[i + 1] * 15) for i in range(0, len(cuts), 2))


@st.composite
def calling_hours(draw: st.DrawFn) -> CallingHours:
    weekly = tuple(draw(windows()) for _ in range(7))
    country = draw(st.sampled_from([None, "RU"]))
    blackouts = draw(st.frozensets(st.dates(date(2026, 1, 1), date(2027, 1, 31)), max_size=5))
    return CallingHours(weekly, draw(windows()), country, None, blackouts)


instants = st.one_of(
    st.datetimes(datetime(2025, 12, 1), datetime(2027, 1, 1), timezones=st.just(UTC)),
    st.builds(
        lambda edge, minutes: edge + timedelta(minutes=minutes),
        st.sampled_from(EDGES),
        st.integers(-24 * 60, 24 * 60),
    ),
)


def open_on_the_wall(hours: CallingHours, zone: tzinfo, instant: datetime) -> bool:
    local = instant.astimezone(zone)
    day = local.date()
    if day in hours.blackout_dates:
        todays: tuple[Window, ...] = ()
    elif hours.holiday_country and day in RU_HOLIDAYS:
        todays = hours.on_holidays
    else:
        todays = hours.weekly[day.weekday()]
    minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 6e7
    return any(w.start <= minute < w.end for w in todays)


def open_everywhere(hours: CallingHours, zones: list[tzinfo], instant: datetime) -> bool:
    return all(open_on_the_wall(hours, z, instant) for z in zones)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calling_hours(),
    st.lists(st.sampled_from(ZONES), min_size=1, max_size=3, unique_by=str),
    instants,
)
def test_never_open_outside_a_window_and_next_opening_is_the_earliest(
    hours: CallingHours, zones: list[tzinfo], now: datetime
) -> None:
    verdict = window_verdict(hours, zones, now)
    assert (verdict is None) == open_everywhere(hours, zones, now)

    found = next_opening(hours, zones, now)
    if verdict is not None:
        assert verdict.until == found
    if found is None:
        # Nothing within a year: spot checks over the next weeks find nothing open.
        probes = [now + timedelta(minutes=7 * i) for i in range(0, 60 * 24 * 3, 13)]
    else:
        assert found >= now
        assert open_everywhere(hours, zones, found)
        # Earliest: every instant before it (from now) is closed.
        span = (found - now).total_seconds()
        probes = [now + timedelta(seconds=span * i / 200) for i in range(200)]
        if found - timedelta(seconds=1) >= now:
            probes.append(found - timedelta(seconds=1))
    assert not any(open_everywhere(hours, zones, p) for p in probes if p != found)
