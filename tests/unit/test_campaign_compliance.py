"""The campaign's compliance section: what it means for the engine, and the settings a
profile refuses with file:line errors."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dialer.campaign.compliance import (
    calling_hours_of,
    consent_scope_needed,
    frequency_caps_of,
    operator_guaranteed,
    zone_settings_of,
)
from dialer.campaign.errors import CampaignError
from dialer.campaign.loader import load_campaign, parse_campaign
from dialer.campaign.model import Campaign
from dialer.policy.calling_windows import CallingHours, Window
from dialer.policy.compliance_profiles import PROFILES
from dialer.policy.frequency import FrequencyCaps

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BASE = """\
name: c
list: l
ami: {secret: x}
dial: {channel: "PJSIP/{number}@trunk"}
"""
QUEUED = "on_answer: {action: play_and_queue, queue: ops}\n"
NINE_TO_NINE = (Window.parse("09:00-21:00"),)


def load(text: str) -> Campaign:
    return parse_campaign(BASE + text, "c.yaml")


def errors(text: str) -> list[str]:
    with pytest.raises(CampaignError) as caught:
        load(text)
    return str(caught.value).splitlines()


def test_no_section_means_profile_none_and_nine_to_nine_every_day() -> None:
    campaign = load("")

    assert calling_hours_of(campaign) == CallingHours.every_day(*NINE_TO_NINE)
    assert frequency_caps_of(campaign) == FrequencyCaps()
    assert consent_scope_needed(campaign) is None
    assert not operator_guaranteed(campaign)
    assert zone_settings_of(campaign).default_timezone is None


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("campaign*.yaml")), ids=str)
def test_every_example_is_valid(example: Path) -> None:
    load_campaign(example)


def test_hours_per_day_holidays_and_blackouts() -> None:
    campaign = load(
        "compliance:\n"
        "  calling_hours:\n"
        '    mon-fri: "09:00-13:00, 14:00-20:00"\n'
        '    sat: "10:00-14:00"\n'
        "    sun: none\n"
        "  holidays: {country: us, subdivision: CA, hours: '11:00-15:00'}\n"
        "  blackout_dates: [2026-12-24, 2026-12-31]\n"
    )
    hours = calling_hours_of(campaign)

    assert hours.weekly[0] == (Window.parse("09:00-13:00"), Window.parse("14:00-20:00"))
    assert hours.weekly[5] == (Window.parse("10:00-14:00"),)
    assert hours.weekly[6] == ()
    assert (hours.holiday_country, hours.holiday_subdivision) == ("US", "CA")
    assert hours.on_holidays == (Window.parse("11:00-15:00"),)
    assert hours.blackout_dates == {date(2026, 12, 24), date(2026, 12, 31)}


def test_ru_collection_defaults_follow_the_law() -> None:
    campaign = load("compliance: {profile: ru-collection}\n")
    hours = calling_hours_of(campaign)

    assert hours.weekly[0] == NINE_TO_NINE  # 09:00-21:00 fits 08:00-22:00
    assert hours.weekly[6] == (Window.parse("09:00-20:00"),)  # cut to the law's day off
    assert (hours.holiday_country, hours.on_holidays) == ("RU", (Window.parse("09:00-20:00"),))
    caps = frequency_caps_of(campaign)
    assert (caps.connected_per_day, caps.connected_per_week, caps.connected_per_month) == (1, 2, 8)
    assert consent_scope_needed(campaign) is None


def test_frequency_overrides_replace_the_profile_defaults() -> None:
    campaign = load(
        "compliance:\n  profile: uk\n"
        "  frequency: {attempts_per_day: 2, abandoned_recall_hold: 96h}\n"
    )

    caps = frequency_caps_of(campaign)
    assert caps.attempts_per_day == 2
    assert caps.abandoned_recall_hold == timedelta(hours=96)
    assert caps.no_same_day_machine_recall is True


def test_consent_scope() -> None:
    assert consent_scope_needed(load("compliance: {profile: us, purpose: advertising}\n")) == (
        "advertising"
    )
    assert consent_scope_needed(load("compliance: {profile: none, purpose: advertising}\n")) is None
    assert consent_scope_needed(load("compliance: {purpose: survey, require_consent: true}\n")) == (
        "survey"
    )
    assert consent_scope_needed(load("compliance: {profile: uk}\n")) is None


def test_operator_guaranteed_only_in_progressive_mode_with_a_queue() -> None:
    progressive = "pacing: {mode: progressive, compliance_message: id}\n"
    assert operator_guaranteed(load(QUEUED + progressive))
    assert not operator_guaranteed(load(QUEUED))
    predictive = "pacing: {mode: predictive, compliance_message: id}\n"
    assert not operator_guaranteed(load(QUEUED + predictive))


def test_zone_settings() -> None:
    campaign = load(
        "compliance:\n  timezone_field: tz\n  region_field: oblast\n"
        "  region_zones: {Омская область: Asia/Omsk, Samara: '+04:00'}\n"
        "  default_timezone: UTC+3\n"
    )
    settings = zone_settings_of(campaign)

    zones = settings.zones_for("+79123456789", None, {"oblast": "омская область"})
    assert zones == (ZoneInfo("Asia/Omsk"),)
    assert settings.zones_for("+999", None, {})[0].utcoffset(None) == timedelta(hours=3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "compliance:\n  profile: us\n  calling_hours:\n    mon-fri: '07:30-21:00'\n"
            "    sat,sun: none\n",
            "c.yaml:8:14: compliance.calling_hours.mon-fri: 07:30-21:00 is wider than the us "
            "profile allows on Monday (08:00-21:00, callee local time)",
        ),
        (
            "compliance:\n  profile: ru-collection\n  calling_hours:\n    mon-fri: '08:00-22:00'\n"
            "    sat-sun: '09:00-21:00'\n",
            "c.yaml:9:14: compliance.calling_hours.sat-sun: 09:00-21:00 is wider than the "
            "ru-collection profile allows on Saturday (09:00-20:00, callee local time)",
        ),
        (
            "compliance:\n  profile: ru-collection\n"
            "  holidays: {country: RU, hours: '09:00-21:00'}\n",
            "c.yaml:7:34: compliance.holidays.hours: 09:00-21:00 is wider than the "
            "ru-collection profile allows on a public holiday (09:00-20:00",
        ),
        (
            "compliance:\n  profile: ru-collection\n  holidays:\n    country: US\n",
            "c.yaml:8:14: compliance.holidays.country: the ru-collection profile follows the "
            "public holidays of RU, not US",
        ),
        (
            "compliance:\n  profile: ru-collection\n  frequency:\n    connected_per_day: 2\n",
            "c.yaml:8:24: compliance.frequency.connected_per_day: the ru-collection profile "
            "sets connected_per_day to 1; a campaign may be stricter, not looser",
        ),
        (
            "compliance:\n  profile: uk\n  frequency:\n    abandoned_recall_hold: 24h\n",
            "compliance.frequency.abandoned_recall_hold: the uk profile sets "
            "abandoned_recall_hold to 72h",
        ),
        (
            "compliance:\n  profile: uk\n  frequency:\n    no_same_day_machine_recall: false\n",
            "compliance.frequency.no_same_day_machine_recall: the uk profile sets "
            "no_same_day_machine_recall to true",
        ),
        (
            "compliance:\n  profile: ru-collection\n  purpose: advertising\n",
            "c.yaml:7:12: compliance.purpose: the ru-collection profile is for collection "
            "calls, not advertising",
        ),
        (
            "compliance:\n  profile: ru\n  purpose: advertising\n",
            "c.yaml:7:12: compliance.purpose: the ru profile refuses advertising dialled "
            "automatically with no person in the call (38-FZ art. 18 part 2)",
        ),
        (
            QUEUED + "pacing: {connect_limit: 5s}\ncompliance: {profile: us}\n",
            "c.yaml:6:25: pacing.connect_limit: the us profile gives a person at most 2s",
        ),
        (
            QUEUED + "pacing: {operator_guaranteed: true}\ncompliance: {profile: uk}\n",
            "c.yaml:6:31: pacing.operator_guaranteed: under the uk profile an operator is "
            "guaranteed only in progressive mode with a queue in the flow",
        ),
    ],
)
def test_profile_refuses_what_breaks_it_at_the_line_to_change(text: str, expected: str) -> None:
    found = errors(text)

    assert any(expected in line for line in found), found


def test_ru_advertising_with_an_operator_in_the_flow_is_accepted() -> None:
    load(QUEUED + "compliance: {profile: ru, purpose: advertising}\n")
    ivr = (
        "on_answer: {action: ivr}\n"
        "ivr:\n  start: offer\n  steps:\n"
        "    offer: {kind: transfer, queue: ops}\n"
        "compliance: {profile: ru, purpose: advertising}\n"
    )
    assert consent_scope_needed(load(ivr)) == "advertising"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("compliance: {profile: eu}\n", "compliance.profile: expected 'us', 'uk', 'ru'"),
        (
            "compliance:\n  calling_hours: {mon-fri: '09:00-21:00'}\n",
            "compliance.calling_hours: no hours for sat, sun: give every day (write sat: none",
        ),
        (
            "compliance:\n  calling_hours: {mon-sun: '09:00-21:00', sat: none}\n",
            "compliance.calling_hours: sat named more than once",
        ),
        (
            "compliance:\n  calling_hours: {mon-sun: '9-21'}\n",
            "c.yaml:6:28: compliance.calling_hours.mon-sun: expected hours such as 09:00-21:00",
        ),
        (
            "compliance:\n  calling_hours: {weekdays: none}\n",
            "compliance.calling_hours.weekdays: expected days such as mon, mon-fri",
        ),
        (
            "compliance:\n  calling_hours: {fri-mon: none}\n",
            "runs backwards",
        ),
        ("compliance:\n  holidays: {country: XX}\n", "the holidays package knows no country"),
        (
            "compliance:\n  holidays: {country: US, subdivision: ZZ}\n",
            "US has no subdivision 'ZZ'",
        ),
        (
            "compliance:\n  default_timezone: Moscow\n",
            "compliance.default_timezone: expected an IANA time zone such as Europe/Moscow",
        ),
        (
            "compliance:\n  region_zones: {Omsk: Asia/Omks}\n",
            "compliance.region_zones.Omsk: expected an IANA time zone",
        ),
        ("compliance:\n  blackout_dates: [2026-02-30]\n", "compliance.blackout_dates[0]"),
        ("compliance:\n  purpose: spam\n", "compliance.purpose: expected 'advertising'"),
        ("compliance:\n  frequency: {attempts_per_day: -1}\n", "must be at least 0"),
    ],
)
def test_bad_values_are_refused_in_plain_words(text: str, expected: str) -> None:
    found = errors(text)

    assert any(expected in line for line in found), found


def test_every_profile_default_fits_its_own_limits() -> None:
    for profile in PROFILES.values():
        if profile.legal_hours is None:
            continue
        hours = profile.default_hours
        for day in range(7):
            legal = profile.legal_windows(day) or ()
            assert all(any(lim.covers(w) for lim in legal) for w in hours.weekly[day])


def test_collection_example_end_to_end_with_a_fake_clock() -> None:
    """The lease path's use: the campaign's zone settings and hours, one contact each."""
    from datetime import UTC, datetime

    from dialer.held_back import HeldReason
    from dialer.policy.calling_windows import window_verdict

    campaign = load_campaign(EXAMPLES / "campaign-collection.yaml")
    hours, zones_of = calling_hours_of(campaign), zone_settings_of(campaign)
    mobile = "+79123456789"
    in_moscow = zones_of.zones_for(mobile, None, {"region": "Москва"})
    in_primorye = zones_of.zones_for(mobile, None, {"region": "приморский край"})
    nowhere = zones_of.zones_for(mobile, None, {})

    wednesday = datetime(2026, 1, 14, 8, 30, tzinfo=UTC)  # 11:30 Moscow, 18:30 Vladivostok
    assert window_verdict(hours, in_moscow, wednesday) is None
    assert window_verdict(hours, in_primorye, wednesday) is None
    held = window_verdict(hours, nowhere, wednesday)  # Kaliningrad 10:30 .. Kamchatka 20:30
    assert held is not None and held.reason is HeldReason.AMBIGUOUS_ZONE
    assert held.until == datetime(2026, 1, 15, 7, tzinfo=UTC)  # 09:00 Kaliningrad

    saturday = datetime(2026, 1, 17, 10, 30, tzinfo=UTC)  # 13:30 Moscow: sat 10:00-14:00
    assert window_verdict(hours, in_moscow, saturday) is None
    held = window_verdict(hours, in_primorye, saturday)  # 20:30 Vladivostok: closed
    assert held is not None and held.reason is HeldReason.WINDOW_CLOSED
    assert held.until == datetime(2026, 1, 18, 23, tzinfo=UTC)  # Monday 09:00 Vladivostok

    russia_day = datetime(2026, 6, 12, 8, tzinfo=UTC)  # Friday, a public holiday: no calls
    held = window_verdict(hours, in_moscow, russia_day)
    assert held is not None and held.reason is HeldReason.HOLIDAY
    assert held.until == datetime(2026, 6, 13, 7, tzinfo=UTC)  # Saturday 10:00 Moscow
