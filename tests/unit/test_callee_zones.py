"""Which zones a callee may be in: the contact's own value, the campaign's region map,
the number (phonenumbers), the campaign's default."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from phonenumbers import timezone as number_timezones

from dialer.contacts.numbers import normalize_number
from dialer.contacts.zones import (
    ZoneSettings,
    callee_zones,
    corrected_zone_names,
    number_zones,
    zone_named,
)

RUSSIAN_MOBILE = "+79123456789"
RUSSIAN_ZONES = {
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Sakhalin",
    "Asia/Magadan",
    "Asia/Kamchatka",
    "Asia/Anadyr",
}


def names(zones: tuple[object, ...]) -> set[str]:
    return {str(zone) for zone in zones}


@pytest.mark.parametrize(
    ("text", "offset"),
    [
        ("+03:00", timedelta(hours=3)),
        ("+0530", timedelta(hours=5, minutes=30)),
        ("-05:00", timedelta(hours=-5)),
        ("UTC+3", timedelta(hours=3)),
        ("utc-3:30", timedelta(hours=-3, minutes=-30)),
        ("GMT-5", timedelta(hours=-5)),
        ("GMT+12:45", timedelta(hours=12, minutes=45)),
        ("UTC", timedelta(0)),
        (" +3 ", timedelta(hours=3)),
    ],
)
def test_offsets_as_people_write_them(text: str, offset: timedelta) -> None:
    assert zone_named(text) == timezone(offset)


def test_iana_names_including_posix_gmt_names_as_iana_reads_them() -> None:
    assert zone_named("Europe/Moscow") == ZoneInfo("Europe/Moscow")
    # Etc/GMT-5 is UTC+5 (POSIX sign): the name written out is the IANA zone it is.
    assert zone_named("Etc/GMT-5") == ZoneInfo("Etc/GMT-5")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Mars/Olympus",
        "Europe",
        "+15:00",
        "UTC+3:75",
        "../../etc/passwd",
        "/etc/localtime",
        "Europe/../../etc/passwd",
        "x" * 100,
        "+",
        "Moscow time",
    ],
)
def test_what_is_not_a_zone_is_none(text: str) -> None:
    assert zone_named(text) is None


def test_explicit_value_wins_then_region_then_number_then_default() -> None:
    regions = {"samara": "Europe/Samara"}
    moscow_fixed = "+74951234567"

    assert names(callee_zones(moscow_fixed, "Asia/Tokyo", "samara", regions)) == {"Asia/Tokyo"}
    assert names(callee_zones(moscow_fixed, None, "samara", regions)) == {"Europe/Samara"}
    assert names(callee_zones(moscow_fixed, None, "tula", regions)) == {"Europe/Moscow"}
    assert names(callee_zones("+999", None, None, None, "Europe/Berlin")) == {"Europe/Berlin"}
    assert callee_zones("+999") == ()


def test_bad_values_fall_through_to_the_next_source() -> None:
    regions = {"samara": "Not/AZone", "omsk": "Asia/Omsk"}

    zones = callee_zones("+74951234567", "Mars/Olympus", "samara", regions, "Nowhere")

    assert names(zones) == {"Europe/Moscow"}
    assert names(callee_zones("+999", "bad", "omsk", regions)) == {"Asia/Omsk"}
    assert callee_zones("+999", "bad", "x", regions, "also bad") == ()


def test_region_names_are_matched_without_case_when_the_map_is_casefolded() -> None:
    regions = {"самарская область": "Europe/Samara"}

    zones = callee_zones("+74951234567", None, " Самарская область", regions)

    assert names(zones) == {"Europe/Samara"}


def test_russian_mobile_maps_to_every_russian_zone_and_eleven_offsets() -> None:
    zones = callee_zones(RUSSIAN_MOBILE)

    assert names(zones) == RUSSIAN_ZONES
    offsets = {datetime(2026, 1, 15, tzinfo=UTC).astimezone(z).utcoffset() for z in zones}
    assert len(offsets) == 11  # UTC+2 (Kaliningrad) to UTC+12 (Kamchatka)


def test_kaliningrad_is_not_bucharest() -> None:
    # phonenumbers says Europe/Bucharest, which keeps summer time; Kaliningrad does not.
    assert names(callee_zones("+74012123456")) == {"Europe/Kaliningrad"}
    assert normalize_number("+74012123456", "RU").timezone == "Europe/Kaliningrad"
    assert corrected_zone_names(["Europe/Bucharest"], "RO") == ("Europe/Bucharest",)


def test_kazakh_mobile_keeps_only_kazakh_zones() -> None:
    zones = names(callee_zones("+77012345678"))

    assert zones
    assert zones <= {
        "Asia/Almaty",
        "Asia/Aqtobe",
        "Asia/Qostanay",
        "Asia/Oral",
        "Asia/Aqtau",
        "Asia/Atyrau",
        "Asia/Qyzylorda",
    }


def test_us_numbers_arizona_and_indiana() -> None:
    assert names(callee_zones("+16025551234")) == {"America/Phoenix"}  # no DST
    assert names(callee_zones("+13175551234")) == {"America/New_York"}  # Indianapolis
    # Indiana is split by exchange: Lake County (219-226, Crown Point) keeps Central time.
    assert names(callee_zones("+12192261234")) == {"America/Chicago"}


@pytest.mark.parametrize(
    ("region", "plans"),
    [
        ("RU", ["MOBILE", "FIXED_LINE"]),
        ("US", ["FIXED_LINE_OR_MOBILE", "TOLL_FREE"]),
        ("CA", ["FIXED_LINE_OR_MOBILE"]),
        ("KZ", ["MOBILE", "FIXED_LINE"]),
        ("AU", ["MOBILE", "FIXED_LINE"]),
        ("BR", ["MOBILE", "FIXED_LINE"]),
        ("MX", ["MOBILE", "FIXED_LINE"]),
        ("ID", ["MOBILE", "FIXED_LINE"]),
    ],
)
def test_prefix_cache_agrees_with_phonenumbers_on_random_numbers(
    region: str, plans: list[str]
) -> None:
    """The kind of a number is cached on its first digits; this is where that could go
    wrong (countries with several zones), checked on random valid numbers."""
    rng = random.Random(region)
    checked = 0
    for plan in plans:
        example = phonenumbers.example_number_for_type(
            region, getattr(phonenumbers.PhoneNumberType, plan)
        )
        national = str(example.national_number)
        for _ in range(3000):
            digits = "".join(rng.choice("0123456789") for _ in national[2:])
            candidate = f"+{example.country_code}{national[:2]}{digits}"
            for length in (0, 1):
                text = candidate[: len(candidate) - length] if length else candidate
                parsed = phonenumbers.parse(text)
                if not phonenumbers.is_valid_number(parsed):
                    continue
                own = phonenumbers.region_code_for_number(parsed)
                expected = corrected_zone_names(number_timezones.time_zones_for_number(parsed), own)
                assert names(number_zones(text)) == set(expected), text
                checked += 1
    assert checked > 500


def test_zone_settings_take_the_stored_zone_then_the_field_then_the_region() -> None:
    settings = ZoneSettings(
        timezone_field="tz", region_field="oblast", region_zones={"omsk": "Asia/Omsk"}
    )

    assert names(settings.zones_for(RUSSIAN_MOBILE, "Europe/Moscow", {"tz": "+5"})) == {
        "Europe/Moscow"
    }
    assert settings.zones_for(RUSSIAN_MOBILE, None, {"tz": "+05:00"}) == (
        timezone(timedelta(hours=5)),
    )
    assert settings.zones_for(RUSSIAN_MOBILE, "bad", {"tz": "+05:00"}) == (
        timezone(timedelta(hours=5)),
    )
    assert names(settings.zones_for(RUSSIAN_MOBILE, None, {"oblast": "Omsk"})) == {"Asia/Omsk"}
    assert names(settings.zones_for(RUSSIAN_MOBILE, None, {})) == RUSSIAN_ZONES
