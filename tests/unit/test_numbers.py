"""Number normalisation: what people type -> E.164, and the reasons it is refused."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberType

from dialer.contacts.number_rules import is_valid
from dialer.contacts.numbers import (
    InvalidNumber,
    NormalizedNumber,
    normalize_e164,
    normalize_number,
)

VALID = [
    # raw, region, e164
    ("8-912-345-67-89", "RU", "+79123456789"),
    ("8 (912) 345-67-89", "RU", "+79123456789"),
    ("89123456789", "RU", "+79123456789"),
    ("+7 912 345 67 89", "RU", "+79123456789"),
    ("+7(912)3456789", "RU", "+79123456789"),
    ("7 912 3456789", "RU", "+79123456789"),
    ("79123456789", "RU", "+79123456789"),
    ("9123456789", "RU", "+79123456789"),
    ("(+7) 495 123.45.67", "RU", "+74951234567"),
    ("  +7 495 123-45-67  ", "RU", "+74951234567"),
    ("+7\u00a0912\u00a0345\u00a067\u00a089", "RU", "+79123456789"),  # no-break spaces
    ("8 800 555 35 35", "RU", "+78005553535"),
    ("(650) 253-0000", "US", "+16502530000"),
    ("+1 650 253 0000", "RU", "+16502530000"),  # a leading + wins over the region
    ("650.253.0000", "us", "+16502530000"),
]


@pytest.mark.parametrize(("raw", "region", "e164"), VALID)
def test_given_common_formats_when_normalized_then_e164(raw: str, region: str, e164: str):
    assert normalize_number(raw, region).e164 == e164


INVALID = [
    # raw, region, reason (regex)
    ("", "RU", "^empty$"),
    ("   ", "RU", "^empty$"),
    ("+", "RU", "^no digits$"),
    ("--", "RU", "^no digits$"),
    ("12", "RU", "^too short$"),
    ("+7 912 345 67 8", "RU", "^too short$"),
    ("8912345678901234", "RU", "^too long$"),
    ("+7 000 000 00 00", "RU", "^not a valid number for region RU$"),
    ("+1 555 0100", "RU", "too short|not a valid number for region US"),
    ("+999 1234567", "RU", "^unknown country code$"),
    ("8+9123456789", "RU", r"^'\+' is only allowed at the start$"),
    ("abc", "RU", "^contains 'a': only digits"),
    ("8912345678x", "RU", "^contains 'x'"),
    ("8912345678 доб. 12", "RU", "^contains 'д'"),
    # Injection attempts: nothing but digits and + may ever reach a dial string.
    ("123&PJSIP/999", "RU", "^contains '&'"),
    ("89123456789&PJSIP/999", "RU", "^contains '&'"),
    ("123,1", "RU", "^contains ','"),
    ("89123456789;ext=1", "RU", "^contains ';'"),
    ("+7912\n3456789", "RU", r"^contains '\\n'"),
    ("+7912\t3456789", "RU", r"^contains '\\t'"),
    ("89123456789\r", "RU", r"^contains '\\r'"),
    ("8912@host", "RU", "^contains '@'"),
    ("+7 912 345 67 89/1", "RU", "^contains '/'"),
    ("٨٩١٢٣٤٥٦٧٨٩", "RU", "^contains '٨'"),  # Arabic-Indic digits are not ours to dial
]


@pytest.mark.parametrize(("raw", "region", "reason"), INVALID)
def test_given_bad_input_when_normalized_then_specific_reason(raw: str, region: str, reason: str):
    with pytest.raises(InvalidNumber, match=reason) as caught:
        normalize_number(raw, region)
    assert caught.value.reason == str(caught.value)


def test_reason_for_characters_names_what_is_allowed():
    with pytest.raises(InvalidNumber) as caught:
        normalize_number("123&PJSIP/999", "RU")
    assert caught.value.reason == (
        "contains '&': only digits, spaces, +, -, (, ) and . are allowed"
    )


def test_given_moscow_landline_then_single_time_zone_and_region():
    assert normalize_number("+7 495 123-45-67", "RU") == NormalizedNumber(
        e164="+74951234567", region="RU", timezone="Europe/Moscow"
    )


def test_given_russian_mobile_then_no_time_zone_because_it_spans_many():
    number = normalize_number("8 912 345 67 89", "RU")
    assert number.region == "RU" and number.timezone is None


def test_given_us_number_then_its_time_zone():
    assert normalize_number("(650) 253-0000", "US").timezone == "America/Los_Angeles"


def test_given_kazakh_number_with_shared_country_code_then_region_kz():
    assert normalize_number("+7 7172 123456", "RU").region == "KZ"


def test_given_non_geographic_number_then_no_region():
    number = normalize_number("+800 1234 5678", "RU")
    assert (number.e164, number.region, number.timezone) == ("+80012345678", None, None)


# --- normalize_e164: the do-not-call form, with a short way for E.164 input --------------
def _e164_or_reason(function: Any, raw: str, region: str) -> str:
    try:
        result = function(raw, region)
    except InvalidNumber as exc:
        return f"invalid: {exc.reason}"
    return str(getattr(result, "e164", result))


_EXAMPLES = [
    phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
    for region in sorted(phonenumbers.SUPPORTED_REGIONS)
    for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE)
    if (example := phonenumbers.example_number_for_type(region, kind)) is not None
]


@settings(max_examples=3000, deadline=None)
@given(
    st.one_of(
        st.from_regex(r"\+[1-9][0-9]{2,16}", fullmatch=True),
        # A valid number of some country, its tail changed, maybe a national prefix or
        # a leading zero put after the country code ("+49 0606...", "+39 06...").
        st.tuples(
            st.sampled_from(_EXAMPLES),
            st.integers(0, 9999),
            st.sampled_from(["", "0", "8", "1", "00"]),
            st.integers(1, 3),
        ).map(lambda t: f"{t[0][: 1 + t[3]]}{t[2]}{t[0][1 + t[3] : -4]}{t[1]:04d}"),
    ),
    st.sampled_from(["RU", "US", "DE", "IT", "GB"]),
)
def test_e164_form_is_the_one_a_contact_import_gives(raw: str, region: str) -> None:
    assert _e164_or_reason(normalize_e164, raw, region) == _e164_or_reason(
        normalize_number, raw, region
    )


def test_e164_form_of_numbers_people_write_and_the_trunk_prefix_case() -> None:
    assert normalize_e164("8 (912) 345-67-89", "RU") == "+79123456789"
    assert normalize_e164("+79123456789", "US") == "+79123456789"
    # "+49 0..." is read as the national prefix written after the country code.
    assert normalize_e164("+4903566847", "RU") == normalize_number("+4903566847", "RU").e164
    with pytest.raises(InvalidNumber, match="too short"):
        normalize_e164("+7912", "RU")


@settings(max_examples=3000, deadline=None)
@given(
    st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
    st.one_of(
        st.from_regex(r"[1-9][0-9]{1,13}", fullmatch=True),
        # National parts that are valid somewhere (leading zeros are not this path's).
        st.sampled_from(_EXAMPLES).map(lambda e: e[2:].lstrip("0")).filter(lambda n: len(n) > 1),
    ),
)
def test_compiled_rules_agree_with_phonenumbers_is_valid_number(code: int, national: str) -> None:
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    assert is_valid(code, national) == phonenumbers.is_valid_number(number)


def test_compiled_rules_on_numbers_of_every_region() -> None:
    for e164 in _EXAMPLES:
        parsed = phonenumbers.parse(e164)
        national = e164[1 + len(str(parsed.country_code)) :]
        if not national.startswith("0"):
            assert is_valid(parsed.country_code or 0, national), e164
