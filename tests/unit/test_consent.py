"""Consent as the campaign's purpose needs it: a readable date not in the future, and a
scope naming the purpose when a scope is given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.held_back import Held, HeldReason
from dialer.policy.consent import consent_given_at, consent_verdict

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HELD = Held(HeldReason.NO_CONSENT)


@pytest.mark.parametrize(
    "fields",
    [
        {"consent_date": "2024-05-01"},
        {"consent_date": "01.05.2024", "consent_source": "web form"},
        {"consent_date": "2025-03-01T14:59:00+03:00"},  # 11:59 UTC: a minute ago
        {"consent_date": "2024-05-01", "consent_scope": "all"},
        {"consent_date": "2024-05-01", "consent_scope": "surveys, Advertising"},
        {"consent_date": "2024-05-01T00:00:00", "consent_scope": " "},
    ],
)
def test_consent_that_covers_the_purpose_lets_the_contact_be_called(fields: dict[str, str]) -> None:
    assert consent_verdict(fields, "advertising", NOW) is None


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"consent_source": "web form", "consent_scope": "all"},
        {"consent_date": ""},
        {"consent_date": "yesterday"},
        {"consent_date": "31.02.2024"},
        {"consent_date": "2025-03-02"},  # tomorrow: a data error, not consent
        {"consent_date": "2025-03-01T15:01:00+03:00"},  # a minute from now
        {"consent_date": "2024-05-01", "consent_scope": "surveys"},
        {"consent_date": "2024-05-01", "consent_scope": "advertisingx, ads"},
    ],
)
def test_missing_unreadable_future_or_narrower_consent_holds_the_contact(
    fields: dict[str, str],
) -> None:
    assert consent_verdict(fields, "advertising", NOW) == HELD


def test_a_date_alone_counts_from_the_start_of_its_day() -> None:
    assert consent_given_at("2025-03-01") == datetime(2025, 3, 1, tzinfo=UTC)
    assert consent_verdict({"consent_date": "2025-03-01"}, "x", NOW - timedelta(hours=11)) is None


@given(
    st.dictionaries(
        st.sampled_from(["consent_date", "consent_scope", "consent_source", "other"]),
        st.one_of(
            st.text(),
            st.datetimes().map(lambda d: d.isoformat()),
            st.dates().map(lambda d: d.strftime("%d.%m.%Y")),
            st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
        ),
    ),
    st.text(),
    st.datetimes(timezones=st.just(UTC)),
)
def test_random_field_values_never_raise(
    fields: dict[str, str], purpose: str, now: datetime
) -> None:
    verdict = consent_verdict(fields, purpose, now)
    assert verdict is None or verdict == HELD
