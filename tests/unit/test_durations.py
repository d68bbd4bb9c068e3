"""Durations as written in campaign files: 90s, 10m, 2h, 1h30m, 500ms, 2d."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialer.durations import DURATION_HINT, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", timedelta(milliseconds=500)),
        ("90s", timedelta(seconds=90)),
        ("10m", timedelta(minutes=10)),
        ("2h", timedelta(hours=2)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("0s", timedelta(0)),
        (" 15s ", timedelta(seconds=15)),
        ("1m30s500ms", timedelta(minutes=1, seconds=30, milliseconds=500)),
    ],
)
def test_given_duration_with_units_then_parsed(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["10", "10 minutes", "-5s", "1:30", "", "1.5", "s", "5 sec", "10M", "PT30S", "1h-30m"]
)
def test_given_duration_without_a_known_unit_then_error_quotes_it(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(text)

    assert str(caught.value) == f"expected {DURATION_HINT}, got {text!r}"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(seconds=30), "30s"),
        (timedelta(seconds=90), "90s"),
        (timedelta(minutes=10), "10m"),
        (timedelta(minutes=90), "90m"),
        (timedelta(hours=72), "72h"),
        (timedelta(milliseconds=1500), "1500ms"),
        (timedelta(0), "0s"),
    ],
)
def test_given_timedelta_then_formatted_in_the_largest_whole_unit(
    value: timedelta, text: str
) -> None:
    assert format_duration(value) == text


@pytest.mark.parametrize("text", ["500ms", "15s", "90s", "10m", "1h30m", "2h", "72h", "1d"])
def test_given_formatted_duration_then_parsing_gives_it_back(text: str) -> None:
    value = parse_duration(text)

    assert parse_duration(format_duration(value)) == value
