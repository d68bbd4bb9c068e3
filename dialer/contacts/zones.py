"""The time zones a callee may be in: from what the contact says, the campaign's region
map, or the number itself.

    callee_zones("+79123456789")  # a Russian mobile: every Russian zone
    callee_zones("+16025551234")  # Arizona: (ZoneInfo("America/Phoenix"),)
    callee_zones(number, explicit="UTC+3")

This runs for every contact on the lease path and over a whole base in `dialer preview`,
so nothing here parses a number twice: zone names and number prefixes are cached.
"""

from __future__ import annotations

import importlib.resources
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, NumberParseException
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

_UNKNOWN_ZONE = "Etc/Unknown"
# UTC offsets as people write them: +03:00, -0530, +3, UTC+3, GMT-5, UTC. "GMT-5" means
# five hours behind UTC, as people mean it (the POSIX Etc/GMT-5 is the opposite; that
# name, written out, is read as the IANA zone it is).
_OFFSET = re.compile(
    r"(?:(?:UTC|GMT)\s*)?(?P<sign>[+\-−])\s*(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?",
    re.IGNORECASE,
)
_UTC_NAMES = frozenset({"utc", "gmt", "z"})
_LONGEST_OFFSET = timedelta(hours=14)  # Kiribati; nothing on Earth is further from UTC
# phonenumbers puts Kaliningrad (+7 4012 and Russian mobiles) in Europe/Bucharest, which
# keeps summer time; Kaliningrad does not, so in summer that is an hour wrong.
_ZONE_FIXES: dict[tuple[str, str], str] = {("RU", "Europe/Bucharest"): "Europe/Kaliningrad"}
# National digits after the country code that decide whether a number is geographic
# (mobile or not) and its region inside a shared country code (+1, +7). Numbering plans
# allocate types by their leading digits (RU mobiles 9xx, NANP area codes); the test
# checks this cache against phonenumbers on random numbers of multi-zone countries.
_KIND_DIGITS = 4


def zone_named(text: str | None) -> tzinfo | None:
    """An IANA zone name or a UTC offset -> tzinfo; None when it is neither."""
    if text is None:
        return None
    return _zone_named(text.strip())


@lru_cache(maxsize=4096)
def _zone_named(text: str) -> tzinfo | None:
    if not text or len(text) > 64:
        return None
    if text.casefold() in _UTC_NAMES:
        return UTC
    offset = _OFFSET.fullmatch(text)
    if offset:
        hours, minutes = int(offset["hours"]), int(offset["minutes"] or 0)
        delta = timedelta(hours=hours, minutes=minutes)
        if minutes >= 60 or delta > _LONGEST_OFFSET:
            return None
        return timezone(-delta if offset["sign"] in "-−" else delta)
    if text.startswith(("/", ".")) or ".." in text:
        return None  # ZoneInfo would refuse it anyway; never let a path near the files
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def callee_zones(
    number: str,
    explicit: str | None = None,
    region: str | None = None,
    region_zones: Mapping[str, str] | None = None,
    default: str | None = None,
) -> tuple[tzinfo, ...]:
    """The zones the callee may be in, the first source that knows winning: the explicit
    contact value (IANA name or UTC offset), the region mapped by region_zones, every zone
    the number may be in (phonenumbers), then default. Empty only when nothing is known.

    A value that is not a zone falls through to the next source; the caller counts those
    (zone_named(value) is None)."""
    if explicit and (zone := zone_named(explicit)) is not None:
        return (zone,)
    if region and region_zones:
        mapped = region_zones.get(region) or region_zones.get(region.strip().casefold())
        if mapped and (zone := zone_named(mapped)) is not None:
            return (zone,)
    zones = number_zones(number)
    if zones:
        return zones
    if default and (zone := zone_named(default)) is not None:
        return (zone,)
    return ()


def number_zones(number: str) -> tuple[tzinfo, ...]:
    """Every zone an E.164 number may be in; () when phonenumbers knows none."""
    digits = number[1:] if number.startswith("+") else number
    code = _country_code(digits[:3])
    if code is None:
        return ()
    head = digits[: len(code) + _KIND_DIGITS]
    known = _HEADS[head] if head in _HEADS else _learn(head, code, number)
    if known is not None:
        return known
    # A head whose zones depend on later digits (NANP area codes split by exchange).
    kind = _parse_kind(number)
    if kind is None:
        return ()
    return _zones(_longest_prefix_zones(digits), kind[1])


@lru_cache(maxsize=1024)
def _country_code(first_three: str) -> str | None:
    for length in (1, 2, 3):  # country codes are prefix-free
        if int(first_three[:length] or 0) in COUNTRY_CODE_TO_REGION_CODE:
            return first_three[:length]
    return None


# The zones of every number starting with a head (None: they depend on later digits),
# learnt from the first number seen: parsing is most of the cost of a lookup.
_HEADS: dict[str, tuple[tzinfo, ...] | None] = {}


def _learn(head: str, code: str, number: str) -> tuple[tzinfo, ...] | None:
    if len(_HEADS) > 200_000:  # a bound, not a working size: heads are few
        _HEADS.clear()
    country = TIMEZONE_DATA.get(code, ())
    if len(country) <= 1:  # most of the world: one zone per country code, no parse
        found: tuple[tzinfo, ...] | None = _zones(
            tuple(country), COUNTRY_CODE_TO_REGION_CODE[int(code)][0]
        )
    elif (kind := _parse_kind(number)) is None:
        found = ()
    elif not kind[0]:  # mobile and other non-geographic numbers: the whole country
        found = _zones(tuple(country), kind[1])
    elif head in _split_prefixes():
        found = None
    else:
        found = _zones(_longest_prefix_zones(head), kind[1])
    _HEADS[head] = found
    return found


@lru_cache(maxsize=1)
def _split_prefixes() -> frozenset[str]:
    """Prefixes under which phonenumbers gives some longer prefix its own zones."""
    return frozenset(key[:end] for key in TIMEZONE_DATA for end in range(1, len(key)))


def _parse_kind(number: str) -> tuple[bool, str] | None:
    try:
        parsed = phonenumbers.parse(number if number.startswith("+") else "+" + number)
    except NumberParseException:
        return None
    code = parsed.country_code or 0
    geographic = phonenumbers.is_number_type_geographical(phonenumbers.number_type(parsed), code)
    region = phonenumbers.region_code_for_number(parsed) or ""
    return geographic, region


def _longest_prefix_zones(digits: str) -> tuple[str, ...]:
    for length in range(min(len(digits), TIMEZONE_LONGEST_PREFIX), 0, -1):
        names = TIMEZONE_DATA.get(digits[:length])
        if names is not None:
            return tuple(names)
    return ()


@lru_cache(maxsize=1024)
def _zones(names: tuple[str, ...], region: str) -> tuple[tzinfo, ...]:
    return tuple(
        zone
        for name in corrected_zone_names(names, region)
        if (zone := zone_named(name)) is not None
    )


def corrected_zone_names(names: Sequence[str], region: str | None) -> tuple[str, ...]:
    """phonenumbers' zones for a number of region, with its known mistakes fixed and the
    zones of other countries sharing the country code (+7: Kazakhstan) left out."""
    return _corrected(tuple(names), region or "")


@lru_cache(maxsize=1024)
def _corrected(names: tuple[str, ...], region: str) -> tuple[str, ...]:
    fixed = [_ZONE_FIXES.get((region, name), name) for name in names]
    known = [name for name in dict.fromkeys(fixed) if name != _UNKNOWN_ZONE]
    own = _country_zone_names().get(region)
    if own:
        mine = [name for name in known if name in own]
        if mine:
            return tuple(mine)
    return tuple(known)


@lru_cache(maxsize=1)
def _country_zone_names() -> dict[str, frozenset[str]]:
    """ISO country -> its zones, from the tz database's zone.tab; {} when it cannot be
    found (then no zone is left out)."""
    text = _zone_table()
    table: dict[str, set[str]] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and not line.startswith("#"):
            table.setdefault(parts[0], set()).add(parts[2])
    return {country: frozenset(zones) for country, zones in table.items()}


def _zone_table() -> str:
    for directory in zoneinfo.TZPATH:
        try:
            return (Path(directory) / "zone.tab").read_text(encoding="utf-8")
        except OSError:
            continue
    try:  # the tzdata package, where the system has no tz database
        files = importlib.resources.files("tzdata") / "zoneinfo" / "zone.tab"
        return files.read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        return ""


@dataclass(frozen=True)
class ZoneSettings:
    """What a campaign says about finding a callee's zone (see callee_zones)."""

    timezone_field: str | None = None  # contact field with an IANA name or UTC offset
    region_field: str | None = None  # contact field with a region name...
    region_zones: Mapping[str, str] = field(default_factory=dict)  # ...mapped to a zone
    default_timezone: str | None = None  # when nothing else knows

    def zones_for(
        self, number: str, stored: str | None, fields: Mapping[str, str]
    ) -> tuple[tzinfo, ...]:
        """The contact's stored timezone first, then its timezone field, then the rest
        of callee_zones' order."""
        field_value = fields.get(self.timezone_field) if self.timezone_field else None
        explicit = stored if zone_named(stored) is not None else field_value
        region = fields.get(self.region_field) if self.region_field else None
        return callee_zones(number, explicit, region, self.region_zones, self.default_timezone)
