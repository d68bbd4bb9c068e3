"""The `compliance:` section of a campaign file: profile, calling hours in the callee's
local time, holidays, how to find the callee's zone, purpose and consent, frequency caps.

This module checks what each value says on its own; what a profile allows, and what
the rest of the campaign must do under it, is checked in dialer.campaign.compliance.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from itertools import pairwise
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from dialer.campaign.fields import Strict, single_line
from dialer.contacts.zones import zone_named
from dialer.durations import Duration
from dialer.policy.calling_windows import WEEKDAYS, Window, Windows, holiday_country_problem
from dialer.policy.compliance_profiles import Purpose

NO_CALLS = "none"


class ProfileName(StrEnum):
    US = "us"
    UK = "uk"
    RU = "ru"
    RU_COLLECTION = "ru-collection"
    NONE = "none"


def parse_days(text: str) -> tuple[int, ...]:
    """'mon-fri' -> (0, 1, 2, 3, 4); 'sat, sun' -> (5, 6); ValueError otherwise."""
    days: list[int] = []
    for part in text.replace(" ", "").lower().split(","):
        ends = part.split("-")
        if len(ends) > 2 or not all(end in WEEKDAYS for end in ends):
            raise ValueError(
                f"expected days such as mon, mon-fri or sat,sun ({', '.join(WEEKDAYS)}), "
                f"got {text!r}"
            )
        first, last = WEEKDAYS.index(ends[0]), WEEKDAYS.index(ends[-1])
        if first > last:
            raise ValueError(f"{part!r} runs backwards: write the days from Monday on")
        days += range(first, last + 1)
    if len(set(days)) != len(days):
        raise ValueError(f"{text!r} names a day twice")
    return tuple(days)


def parse_windows(text: str) -> Windows:
    """'09:00-13:00, 14:00-20:00' -> windows; 'none' -> () (no calls)."""
    if text.strip().lower() == NO_CALLS:
        return ()
    windows = sorted(Window.parse(part) for part in text.split(","))
    for earlier, later in pairwise(windows):
        if later.start < earlier.end:
            raise ValueError(f"{earlier} and {later} overlap")
    return tuple(windows)


def _days(text: str) -> str:
    parse_days(text)
    return text


def _hours(text: str) -> str:
    parse_windows(text)
    return text


def _zone(text: str) -> str:
    if zone_named(text) is None:
        raise ValueError(
            f"expected an IANA time zone such as Europe/Moscow or a UTC offset such as "
            f"+03:00 or UTC+3, got {text!r}"
        )
    return text


Days = Annotated[str, AfterValidator(_days)]
HoursText = Annotated[str, AfterValidator(_hours)]
ZoneText = Annotated[str, AfterValidator(_zone)]


class HolidaySettings(Strict):
    """Public holidays, from the holidays package, in the callee's local date."""

    country: str = Field(..., description="ISO 3166 country code known to the holidays package")
    subdivision: str | None = Field(
        None, description="state or region code of that country (e.g. CA for US), if any"
    )
    hours: HoursText = Field(
        NO_CALLS,
        description="calling hours on a public holiday, e.g. 10:00-16:00; none: no calls",
    )

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        problem = holiday_country_problem(value.upper(), None)
        if problem:
            raise ValueError(problem)
        return value.upper()

    @field_validator("subdivision")
    @classmethod
    def _known_subdivision(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if country is None or value is None:  # a wrong country is reported on its own
            return value
        problem = holiday_country_problem(country, value)
        if problem:
            raise ValueError(problem)
        return value

    @property
    def windows(self) -> Windows:
        return parse_windows(self.hours)


class FrequencySettings(Strict):
    """Per person, across every campaign, over rolling windows ending now; unset: the
    profile's value. A profile's cap may be lowered, never raised."""

    attempts_per_day: int | None = Field(None, ge=0, description="call attempts per 24 h")
    attempts_per_week: int | None = Field(None, ge=0, description="call attempts per 7 days")
    attempts_per_month: int | None = Field(None, ge=0, description="call attempts per 30 days")
    connected_per_day: int | None = Field(None, ge=0, description="answered calls per 24 h")
    connected_per_week: int | None = Field(None, ge=0, description="answered calls per 7 days")
    connected_per_month: int | None = Field(None, ge=0, description="answered calls per 30 days")
    abandoned_recall_hold: Duration | None = Field(
        None, description="no call again this long after an abandoned call (no operator sure)"
    )
    no_same_day_machine_recall: bool | None = Field(
        None,
        description="no call again the same (callee-local) day after an answering machine, "
        "unless an operator is guaranteed",
    )


def _every_day_once(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return None
    named = [day for key in value for day in parse_days(key)]
    twice = sorted({WEEKDAYS[day] for day in named if named.count(day) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)} named more than once")
    missing = [name for index, name in enumerate(WEEKDAYS) if index not in named]
    if missing:
        raise ValueError(
            f"no hours for {', '.join(missing)}: give every day (write {missing[0]}: none "
            "for no calls that day)"
        )
    return value


class ComplianceSettings(Strict):
    """The legal side of a campaign: when, whom and how often it may call."""

    profile: ProfileName = Field(
        ProfileName.NONE,
        description="legal defaults and limits: us (FCC/TSR), uk (Ofcom/PECR), ru (38-FZ), "
        "ru-collection (230-FZ debt collection), none",
    )
    calling_hours: Annotated[dict[Days, HoursText] | None, AfterValidator(_every_day_once)] = Field(
        None,
        description="calling hours per day in the callee's local time, e.g. mon-fri: "
        "09:00-20:00, sat: 10:00-14:00, sun: none; every day once. Default: "
        "09:00-21:00 every day, cut to the profile's legal hours",
    )
    holidays: HolidaySettings | None = Field(
        None,
        description="public holidays with their own hours (default none; ru-collection: "
        "RU, 09:00-20:00)",
    )
    blackout_dates: list[date] = Field(
        default_factory=list, description="dates (callee local) with no calls at all"
    )
    timezone_field: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="contact field with the callee's IANA zone or UTC offset (used after "
        "the contact's own timezone column)",
    )
    region_field: str | None = Field(
        None, min_length=1, max_length=64, description="contact field with a region name"
    )
    region_zones: dict[str, ZoneText] = Field(
        default_factory=dict,
        description="region name (as in region_field, any case) -> IANA zone or UTC offset",
    )
    default_timezone: ZoneText | None = Field(
        None, description="the zone of contacts whose zone nothing else tells"
    )
    purpose: Purpose | None = Field(
        None,
        description="advertising, informational, collection or survey (default: "
        "collection for ru-collection, else informational)",
    )
    require_consent: bool = Field(
        False,
        description="call only contacts with a consent covering the purpose (the profile "
        "asks it for advertising anyway)",
    )
    frequency: FrequencySettings = Field(
        FrequencySettings(), description="per-person caps across campaigns (profile defaults)"
    )

    @field_validator("timezone_field", "region_field")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return None if value is None else single_line(value, "a contact field name")
