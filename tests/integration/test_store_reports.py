"""The reports role on SQLite: read-only views of a campaign and its history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialer.outcomes import ContactStatus, Outcome
from dialer.store.base import NextStep, StoreError
from dialer.store.sqlite import SqliteStore
from tests.store_cases import T0, done, open_spring

pytestmark = pytest.mark.store_backends


async def test_reports_of_an_unknown_campaign_are_store_errors(store: SqliteStore):
    assert await store.get_campaign("nope") is None
    assert await store.campaigns() == []
    with pytest.raises(StoreError, match="no campaign with id 42"):
        await store.contact_report(42)
    with pytest.raises(StoreError, match="no campaign with id 42"):
        await store.attempts(42)


async def test_contact_report_shows_what_the_last_closed_attempt_collected(store: SqliteStore):
    campaign_id = await open_spring(store, count=1)
    [lease] = await store.lease_due(campaign_id, T0, 1)
    await store.start_attempt(lease, "a-1", T0)
    await store.finish_attempt(
        done("a-1", Outcome.ANSWERED, T0 + timedelta(seconds=20), answers={"keys": "1"}),
        NextStep(ContactStatus.PENDING, due_at=T0 + timedelta(minutes=1)),
    )
    [lease] = await store.lease_due(campaign_id, T0 + timedelta(minutes=1), 1)
    await store.start_attempt(lease, "a-2", T0 + timedelta(minutes=1))  # still open

    [report] = await store.contact_report(campaign_id)
    assert report.status is ContactStatus.DIALING and report.attempts == 1
    assert report.last_answers == {"keys": "1"} and not report.do_not_call
    assert report.fields == {"i": "0"} and report.name == "Client 0"
    first, second = await store.attempts(campaign_id)
    assert (first.attempt_id, first.outcome) == ("a-1", Outcome.ANSWERED)
    assert first.answers == {"keys": "1"}
    assert (second.attempt_id, second.outcome, second.ended_at) == ("a-2", None, None)
    assert [c.name for c in await store.campaigns()] == ["spring"]
    spring = await store.get_campaign("spring")
    assert spring is not None and spring.id == campaign_id and spring.list_name == "clients"
