"""Phone numbers as they come from spreadsheets -> E.164, or a short reason why not.

The output of normalize_number is the only form of a number that reaches the store and,
from there, an AMI dial string. So the input is checked character by character BEFORE
phonenumbers sees it: phonenumbers is lenient (it drops letters, reads extensions after
',' or ';'), and a lenient parse of `123&PJSIP/999` or `123,1` must never turn into a
number we dial.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import (
    COUNTRY_CODE_TO_REGION_CODE,
    NumberParseException,
    PhoneMetadata,
    PhoneNumberFormat,
    PhoneNumberType,
    ValidationResult,
)
from phonenumbers import timezone as number_timezones

from dialer.contacts.number_rules import is_valid
from dialer.contacts.zones import corrected_zone_names

# Separators people type inside numbers; dropped before parsing. U+00A0 (no-break space)
# is what spreadsheets put in numbers formatted for reading.
_SEPARATORS = frozenset(" \u00a0-().")
_DIGITS = frozenset("0123456789")
_WELL_FORMED = re.compile(r"[ \u00a0().-]*\+?[0-9 \u00a0().-]*")
_NOT_KEPT = re.compile(r"[^0-9+]")
_PLUS_DIGITS = re.compile(r"\+[1-9][0-9]{2,16}")
_ALLOWED_HINT = "only digits, spaces, +, -, (, ) and . are allowed"
_COUNTRY_ZONES: dict[int, Sequence[str]] = {}

_PARSE_REASONS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}
_LENGTH_REASONS = {
    ValidationResult.INVALID_COUNTRY_CODE: "unknown country code",
    ValidationResult.TOO_SHORT: "too short",
    ValidationResult.TOO_LONG: "too long",
}


class InvalidNumber(ValueError):
    """The raw value is not a number we can dial; str(exc) is a short reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class NormalizedNumber:
    e164: str  # "+79123456789"
    region: str | None  # ISO 3166 code, e.g. "RU"; None for non-geographic numbers
    timezone: str | None  # IANA zone when the number pins down exactly one


def normalize_number(raw: str, default_region: str) -> NormalizedNumber:
    """Normalise one number written the way people write them, for dialling.

    `default_region` (e.g. "RU") says how to read numbers without a leading +:
    `8 (912) 345-67-89`, `7 912 3456789` and `+7 912 345 67 89` all give +79123456789.
    Raises InvalidNumber with a short, specific reason.
    """
    compact = _compact(raw)
    try:
        parsed = phonenumbers.parse(compact, default_region.upper())
    except NumberParseException as exc:
        raise InvalidNumber(_PARSE_REASONS.get(exc.error_type, "not a phone number")) from None
    kind = phonenumbers.number_type(parsed)  # UNKNOWN exactly when the number is invalid
    if kind == PhoneNumberType.UNKNOWN:
        raise InvalidNumber(_invalid_reason(parsed))
    region = phonenumbers.region_code_for_number(parsed)
    zones = corrected_zone_names(_time_zones(parsed, kind), region)
    return NormalizedNumber(
        e164=phonenumbers.format_number(parsed, PhoneNumberFormat.E164),
        region=region if region and region.isalpha() else None,
        timezone=zones[0] if len(zones) == 1 else None,
    )


def normalize_e164(raw: str, default_region: str) -> str:
    """The E.164 form alone, for lists that keep no time zone (do-not-call): accepts
    exactly what normalize_number accepts and gives the same E.164, without looking up
    the number's type or zones. Raises InvalidNumber like it.

    A number already written in E.164 (registers are) skips phonenumbers' parser and
    is validated by rules compiled once per country code (number_rules.py): a few
    microseconds instead of tens. See _plain_e164."""
    compact = _compact(raw)
    if _plain_e164(compact):
        return compact
    try:
        parsed = phonenumbers.parse(compact, default_region.upper())
    except NumberParseException as exc:
        raise InvalidNumber(_PARSE_REASONS.get(exc.error_type, "not a phone number")) from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(_invalid_reason(parsed))
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def _plain_e164(compact: str) -> bool:
    """True when phonenumbers would parse `compact` as exactly these digits and find the
    number valid; False when unsure (then the full parse decides).

    What phonenumbers.parse does with "+<digits>": the country code is the one prefix of
    1 to 3 digits that is a calling code (they are prefix-free); the rest is the national
    number, unchanged unless it starts with the region's national prefix (then it may be
    stripped: "+49 0606..." becomes +49606...) or with 0 (the Italian leading zero, kept
    apart); formatting it back in E.164 gives "+" and the same digits. Those two cases,
    and anything invalid, go the full way."""
    if not _PLUS_DIGITS.fullmatch(compact):
        return False
    for size in (1, 2, 3):
        code = int(compact[1 : 1 + size])
        if code in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return False
    national = compact[1 + size :]
    if len(national) < 2 or national[0] == "0":
        return False
    prefix = _national_prefix(code)
    if prefix is None or (prefix.pattern and prefix.match(national)):
        return False
    return is_valid(code, national)


@lru_cache(maxsize=512)
def _national_prefix(code: int) -> re.Pattern[str] | None:
    """The pattern parse() tries to strip as a national prefix (None: no metadata)."""
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(
        code, phonenumbers.region_code_for_country_code(code)
    )
    if metadata is None:
        return None
    return re.compile(metadata.national_prefix_for_parsing or "")


def _invalid_reason(parsed: phonenumbers.PhoneNumber) -> str:
    length = phonenumbers.is_possible_number_with_reason(parsed)
    if length in _LENGTH_REASONS:
        return _LENGTH_REASONS[length]
    code = parsed.country_code or 0  # parse() always sets it; the stubs allow None
    region = phonenumbers.region_code_for_country_code(code)
    where = f"region {region}" if region.isalpha() else f"country code +{code}"
    return f"not a valid number for {where}"


def _time_zones(parsed: phonenumbers.PhoneNumber, kind: int) -> Sequence[str]:
    """time_zones_for_number without classifying the number a second time (that is a
    fifth of the cost of a whole normalisation)."""
    code = parsed.country_code
    if code is None:  # parse() always sets it; the stubs allow None
        return ()
    if phonenumbers.is_number_type_geographical(kind, code):
        return number_timezones.time_zones_for_geographical_number(parsed)
    # Mobile and other non-geographic numbers get their country's zones: one lookup per
    # country code is enough.
    if code not in _COUNTRY_ZONES:
        _COUNTRY_ZONES[code] = number_timezones.time_zones_for_number(parsed)
    return _COUNTRY_ZONES[code]


def _compact(raw: str) -> str:
    """Digits with an optional leading +, or InvalidNumber naming the first bad character."""
    if _WELL_FORMED.fullmatch(raw):  # the common case, at regex speed
        compact = _NOT_KEPT.sub("", raw)
        if compact.lstrip("+"):
            return compact
    kept: list[str] = []
    for char in raw:
        if char in _DIGITS:
            kept.append(char)
        elif char == "+":
            if kept:  # separators before it are fine: "(+7) 912 ..."
                raise InvalidNumber("'+' is only allowed at the start")
            kept.append(char)
        elif char not in _SEPARATORS:
            raise InvalidNumber(f"contains {char!r}: {_ALLOWED_HINT}")
    if not raw.strip(" \u00a0"):
        raise InvalidNumber("empty")
    raise InvalidNumber("no digits")
