"""Number normalisation: what people type -> E.164, and the reasons it is refused."""

from __future__ import annotations

import pytest

from dialer.contacts.numbers import InvalidNumber, NormalizedNumber, normalize_number

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
