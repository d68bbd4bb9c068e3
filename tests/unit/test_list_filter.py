"""The list filter of `dialer lists build --where`: parsing, evaluation, hostile input."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.outcomes import BaseStatus
from dialer.policy.field_values import read_moment, read_number
from dialer.policy.list_filter import MAX_DEPTH, MAX_LENGTH, FilterError, parse_filter

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Contact:
    status: str = BaseStatus.NEW
    last_outcome: str | None = None
    last_contacted_at: datetime | None = None
    attempts: int = 0
    dead: bool = False
    do_not_call: bool = False
    fields: Mapping[str, str] = field(default_factory=dict)

    @property
    def temperature(self) -> str | None:
        return self.fields.get("temperature")


EDGE_VALUES = [
    "9999-12-31T23:59:59-05:00",
    "0001-01-01T00:00:00+01:00",
    "31.02.2026",
    "2026-13-01",
    "\u0661\u0662",  # Arabic-Indic digits
    "1 250,50",
    "-0",
    "nan",
    "inf",
    "1e308",
]


def matches(text: str, contact: Contact) -> bool:
    return parse_filter(text).matcher(NOW)(contact)


EVERY_KIND = [
    parse_filter(text).matcher(NOW)
    for text in (
        "field x < today - 90d",
        "field x > 1d",
        "field x >= -5",
        "field x = abc",
        "field x in (1, 2)",
        "field x is set",
        "temperature = warm",
    )
]
WARM_OLD = Contact(
    status=BaseStatus.DONE,
    fields={"temperature": "warm"},
    last_contacted_at=NOW - timedelta(days=31),
    attempts=2,
    last_outcome="answered",
)
WARM_RECENT = Contact(fields={"temperature": "Warm "}, last_contacted_at=NOW - timedelta(days=5))
HOT_OLD = Contact(fields={"temperature": "hot"}, last_contacted_at=NOW - timedelta(days=60))


def test_given_issue_example_warm_not_contacted_30_days_when_matching_then_only_old_warm() -> None:
    text = "temperature = warm and last_contacted > 30d"
    assert [matches(text, c) for c in (WARM_OLD, WARM_RECENT, HOT_OLD)] == [True, False, False]
    # The same with a date: contacted before 30 days ago.
    text = "temperature = warm and last_contacted < now - 30d"
    assert [matches(text, c) for c in (WARM_OLD, WARM_RECENT, HOT_OLD)] == [True, False, False]


@pytest.mark.parametrize(
    ("last_order", "expected"),
    [
        ("2026-08-01", True),  # 114 days before NOW
        ("2026-08-25", True),  # 90 days before today: midnight, and < is strict ... see below
        ("2026-08-26", False),
        ("2026-11-01", False),
        ("01.06.2026", True),  # DD.MM.YYYY
        ("2026-08-01T10:30:00+03:00", True),
        ("not a date", False),
        ("", False),
    ],
)
def test_given_issue_example_last_order_older_than_90_days_when_matching(
    last_order: str, expected: bool
) -> None:
    # today - 90d = 2026-08-25 00:00 UTC; a date alone is its midnight, so 2026-08-25 is
    # not *before* it... unless the comparison is <=.
    contact = Contact(fields={"last_order": last_order})
    if last_order == "2026-08-25":
        assert not matches("field last_order < today - 90d", contact)
        assert matches("field last_order <= today - 90d", contact) is expected
        return
    assert matches("field last_order < today - 90d", contact) is expected
    assert matches("field last_order > 90d", contact) is (expected and last_order != "")


def test_given_field_missing_when_any_comparison_then_no_match_but_not_inverts() -> None:
    nobody = Contact()
    for text in (
        "field city = Moscow",
        "field city != Moscow",
        "field city in (Moscow, Kazan)",
        "field city not in (Moscow, Kazan)",
        "field orders > 1",
        "temperature != hot",
        "last_contacted > 1d",
        "last_outcome != busy",
    ):
        assert not matches(text, nobody), text
        assert matches(f"not ({text})", nobody), text
    assert matches("field city is not set", nobody)
    assert not matches("field city is set", Contact(fields={"city": "  "}))


def test_given_text_number_and_date_literals_when_reading_a_field_then_typed_by_the_literal() -> (
    None
):
    contact = Contact(fields={"code": "007", "balance": "1 250,50", "city": " moscow "})
    assert matches('field code = "007"', contact)
    assert not matches('field code = "7"', contact)
    assert matches("field code = 7", contact)  # as a number 007 is 7
    assert matches("field balance > 1000 and field balance < 1250.6", contact)
    assert matches("field balance >= -5", contact)
    assert matches("field city = MOSCOW", contact)
    assert matches('field "city" in (kazan, Moscow)', contact)
    assert not matches("field city = 5", contact)  # not a number: no match


def test_given_status_flags_outcome_and_attempts_when_matching() -> None:
    contact = Contact(
        status=BaseStatus.DONE, last_outcome="no_answer", attempts=3, dead=False, do_not_call=True
    )
    assert matches("status = done and dnc and not dead", contact)
    assert matches("status in (done, reached) and attempts >= 3", contact)
    assert matches("last_outcome = no_answer or last_outcome = busy", contact)
    assert matches("dead = false and dnc != false", contact)
    assert not matches("(status = new or attempts < 3) and dnc", contact)
    assert matches("NOT dead AND (Status = done)", contact)


@pytest.mark.parametrize(
    ("text", "position", "expected"),
    [
        ("", 1, "a condition"),
        ("temperature =", 14, "a temperature"),
        ("temperature = warm and", 23, "a condition"),
        ("temperature = warm and last_contacted > 30", 41, "a date"),
        ("status = sleeping", 10, "a status (dnc, dead, pending, reached, done, new)"),
        ("last_outcome = nope", 16, "an outcome"),
        ("attempts > many", 12, "a number"),
        ("field city < Moscow", 14, "= or != to compare field city with text"),
        ("last_contacted = 30d", 18, "< <= > >= to compare the age"),
        ("(status = new", 14, "')'"),
        ("status = new)", 13, "'and', 'or' or the end"),
        ("field", 6, "a field name"),
        ("field x = 2024-02-30", 11, "a real date"),
        ("temperature ~ warm", 13, "a word, a value or an operator"),
        ('field x = "open', 11, "a word, a value or an operator"),
        ("field x in (1, a)", 13, "a list of texts or a list of numbers"),
        ("last_contacted > 40000d", 18, "a duration of at most 36500d"),
        ("dead = maybe", 8, "true or false"),
        ("field x is", 11, "'set'"),
        ("drop table contacts", 1, "a condition"),
        ("status = new; DROP TABLE contacts", 13, "a word, a value or an operator"),
    ],
)
def test_given_bad_filter_when_parsing_then_error_names_position_and_what_was_expected(
    text: str, position: int, expected: str
) -> None:
    with pytest.raises(FilterError) as caught:
        parse_filter(text)
    assert caught.value.position == position, str(caught.value)
    assert expected in str(caught.value)
    assert str(caught.value).startswith(f"position {position}: expected ")


def test_given_deep_nesting_or_very_long_filter_when_parsing_then_filter_error_not_recursion() -> (
    None
):
    with pytest.raises(FilterError, match=f"at most {MAX_DEPTH} nested"):
        parse_filter("(" * 500 + "dead" + ")" * 500)
    with pytest.raises(FilterError, match=f"at most {MAX_DEPTH} nested"):
        parse_filter("not " * 400 + "dead")
    assert parse_filter("(" * (MAX_DEPTH - 1) + "dead" + ")" * (MAX_DEPTH - 1))
    longest = " or ".join(["dnc"] * ((MAX_LENGTH + 4) // 7))  # the most conditions there are
    assert len(longest) <= MAX_LENGTH and parse_filter(longest).matcher(NOW)(WARM_OLD) is False
    last_true = " or ".join(["dnc"] * 280) + " or not dnc"
    assert parse_filter(last_true).matcher(NOW)(WARM_OLD) is True
    with pytest.raises(FilterError, match=f"at most {MAX_LENGTH} characters"):
        parse_filter("dead or " * 1000 + "dead")


_ALPHABET = st.sampled_from(
    [
        *"()=<>!,+-\"' .:T0123456789adfhmswxz_-\u00e9\u0416\t\n\\;",
        *("and ", "or ", "not ", "in ", "is ", "set", "field ", "status", "today", "now"),
        *("temperature", "last_contacted", "attempts", "dead", "dnc", "2026-01-31", "30d"),
    ]
)


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.text(max_size=60), st.lists(_ALPHABET, max_size=25).map("".join)))
def test_given_random_text_when_parsing_and_matching_then_only_filter_errors(text: str) -> None:
    try:
        flt = parse_filter(text)
    except FilterError as exc:
        assert 1 <= exc.position <= len(text) + 1
        return
    match = flt.matcher(NOW)
    for contact in (Contact(), WARM_OLD, HOT_OLD, Contact(fields={"x": "2026-01-31"})):
        assert match(contact) in (True, False)


@given(st.one_of(st.text(max_size=40), st.sampled_from(EDGE_VALUES)))
def test_given_any_field_value_when_read_as_number_or_date_then_value_or_none(text: str) -> None:
    assert read_number(text) is None or isinstance(read_number(text), float)
    moment = read_moment(text)
    assert moment is None or moment.tzinfo is not None
    contact = Contact(fields={"x": text, "temperature": text})
    for flt in EVERY_KIND:
        assert flt(contact) in (True, False)
