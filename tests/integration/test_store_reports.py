"""The reports role on both backends: read-only views of a campaign and its history."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialer.control.report import ReportTotals
from dialer.outcomes import ContactStatus, Outcome
from dialer.store.base import CampaignFunnel, NextStep, StoreError
from dialer.store.sqlite import SqliteStore
from tests.store_cases import FINISHED, NUMBERS, T0, done, open_spring, open_test_store

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


# Each contact's calls in "spring", in order (outcome, answers); None: left open. The last
# closed one decides: its outcome whether the person was reached, its answers the lead.
CALLS: dict[int, list[tuple[Outcome, dict[str, object]] | None]] = {
    0: [(Outcome.ANSWERED, {"temperature": "hot"})],
    1: [(Outcome.ANSWERED, {"temperature": "warm", "keys": "1"})],
    2: [(Outcome.BUSY, {}), (Outcome.ANSWERED, {"temperature": "cold"})],
    3: [(Outcome.ANSWERED, {"temperature": "hot"}), (Outcome.NO_ANSWER, {})],  # lead gone
    4: [
        (Outcome.ANSWERED, {"temperature": "cold"}),
        (Outcome.TRANSFERRED, {"temperature": "warm"}),
    ],
    5: [],  # never called
    6: [(Outcome.ANSWERED, {"temperature": ""})],  # reached, no lead
    7: [(Outcome.ABANDONED, {})],  # reached (never got an operator), no lead
    8: [(Outcome.ANSWERED, {"temperature": "lukewarm"}), None],  # a call in progress
    9: [(Outcome.MACHINE, {"temperature": None})],
}


async def test_the_campaign_funnel_counts_what_the_report_totals_count(store: SqliteStore):
    campaign_id = await open_spring(store, count=10)
    other = await store.open_campaign("autumn", "clients", T0)  # its calls are not counted
    [lease] = await store.lease_due(other.id, T0, 1)
    await store.start_attempt(lease, "x-1", T0)
    await store.finish_attempt(
        done("x-1", Outcome.ANSWERED, T0, answers={"temperature": "hot"}), FINISHED
    )
    later = T0 + timedelta(days=30)
    for rnd in range(2):
        at = T0 + timedelta(hours=rnd)
        for lease in await store.lease_due(campaign_id, at, 10):
            calls = CALLS[NUMBERS.index(lease.number)]
            if rnd >= len(calls):
                await store.release_lease(campaign_id, lease.contact_id, later)
                continue
            attempt = f"{lease.number}-{rnd}"
            await store.start_attempt(lease, attempt, at)
            call = calls[rnd]
            if call is None:
                continue
            outcome, answers = call
            again = NextStep(ContactStatus.PENDING, due_at=at + timedelta(hours=1))
            step = again if rnd + 1 < len(calls) else NextStep(ContactStatus.DONE, None, outcome)
            result = done(attempt, outcome, at + timedelta(minutes=1), answers=answers)
            assert await store.finish_attempt(result, step)

    funnel = await store.campaign_funnel(campaign_id)
    totals = ReportTotals.of(await store.contact_report(campaign_id))
    assert (funnel.contacts, funnel.reached) == (totals.contacts, totals.reached) == (10, 7)
    assert funnel.temperatures == dict(totals.temperatures)
    assert funnel.temperatures == {"hot": 1, "warm": 2, "cold": 1, "lukewarm": 1}

    fresh = await store.open_campaign("winter", "clients", T0)  # nobody called yet
    assert await store.campaign_funnel(fresh.id) == CampaignFunnel(10, 0, {})
    with pytest.raises(StoreError, match="no campaign with id 42"):
        await store.campaign_funnel(42)


@pytest.mark.sqlite_only
async def test_an_in_memory_base_counts_its_funnel_on_its_only_connection() -> None:
    async with open_test_store(":memory:") as store:
        campaign_id = await open_spring(store, count=2)
        assert await store.campaign_funnel(campaign_id) == CampaignFunnel(2, 0, {})
