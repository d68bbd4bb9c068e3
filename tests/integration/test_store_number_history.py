"""Each number's calls across campaigns (number_histories), and what a closed attempt
teaches the base about the number itself (dead everywhere, a failure streak, do-not-call
by disposition), on a real SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from dialer.call_history import PastCall
from dialer.outcomes import ContactStatus, Outcome
from dialer.store.base import NewContact, NextStep
from dialer.store.sqlite import SqliteStore
from dialer.store.sqlite.call_histories import HISTORIES_QUERY
from tests.store_cases import NUMBERS, T0, done, two_campaigns

RETRY = NextStep(ContactStatus.PENDING, due_at=T0 + timedelta(seconds=1))


pytestmark = pytest.mark.store_backends


async def _call(
    store: SqliteStore,
    campaign_id: int,
    number: str,
    attempt_id: str,
    minute: int,
    outcome: Outcome | None,
    step: NextStep = RETRY,
) -> None:
    """One attempt to `number` started at T0 + minute (left open when outcome is None)."""
    at = T0 + timedelta(minutes=minute)
    leased = await store.lease_due(campaign_id, at, 10)
    [lease] = [lease for lease in leased if lease.number == number]
    for other in leased:
        if other is not lease:
            await store.release_lease(campaign_id, other.contact_id, at)
    await store.start_attempt(lease, attempt_id, at)
    if outcome is not None:
        await store.finish_attempt(done(attempt_id, outcome, at + timedelta(seconds=30)), step)


async def test_histories_span_every_campaign_with_what_each_call_was(store: SqliteStore):
    first, second = await two_campaigns(store)
    a, b, c = NUMBERS[:3]
    await _call(store, first.id, a, "1", 0, Outcome.ABANDONED)
    await _call(store, second.id, a, "2", 10, Outcome.MACHINE)
    await _call(store, first.id, b, "3", 20, Outcome.TRANSFERRED)
    await _call(store, second.id, a, "4", 30, None)  # still in the call

    histories = await store.number_histories([a, b, c, "+79990000000", a], T0)

    assert set(histories) == {a, b, c, "+79990000000"}
    assert histories[c] == [] and histories["+79990000000"] == []
    assert histories[a] == [
        PastCall(
            T0, Outcome.ABANDONED, True, True, False, "first", T0 + timedelta(seconds=30), "1"
        ),
        PastCall(
            T0 + timedelta(minutes=10),
            Outcome.MACHINE,
            False,
            False,
            True,
            "second",
            T0 + timedelta(minutes=10, seconds=30),
            "2",
        ),
        PastCall(T0 + timedelta(minutes=30), None, False, False, False, "second", None, "4"),
    ]
    assert histories[b] == [
        PastCall.of(
            T0 + timedelta(minutes=20),
            Outcome.TRANSFERRED,
            "first",
            T0 + timedelta(minutes=20, seconds=30),
            attempt_id="3",
        )
    ]
    assert histories[b][0].connected
    # `since` is inclusive, and older calls are left out.
    later = await store.number_histories([a], T0 + timedelta(minutes=10))
    assert [p.outcome for p in later[a]] == [Outcome.MACHINE, None]
    assert await store.number_histories([], T0) == {}


@pytest.mark.sqlite_only  # reads SQLite's query plan
async def test_histories_are_one_indexed_search_for_thousands_of_numbers(store: SqliteStore):
    await two_campaigns(store)
    numbers = [f"+7913{i:07d}" for i in range(5000)]
    histories = await store.number_histories(numbers, T0)
    assert len(histories) == 5000  # no bound-parameter limit on the batch
    db = sqlite3.connect(store.path)
    plan = " ".join(
        str(row[3]) for row in db.execute(f"EXPLAIN QUERY PLAN {HISTORIES_QUERY}", ("[]", 0.0))
    )
    db.close()
    assert "INDEX attempts_number_started (number=? AND started_at>?)" in plan
    assert "SCAN a" not in plan


async def test_an_invalid_number_is_dead_in_every_list_and_leaves_every_campaign(
    store: SqliteStore,
):
    first, _ = await two_campaigns(store)
    a = NUMBERS[0]
    await store.import_contacts("other", [NewContact(number=a), NewContact(number=NUMBERS[5])])
    elsewhere = await store.open_campaign("elsewhere", "other", T0)

    await _call(
        store,
        first.id,
        a,
        "1",
        0,
        Outcome.INVALID_NUMBER,
        NextStep(ContactStatus.DONE, final_outcome=Outcome.INVALID_NUMBER, mark_dead=True),
    )

    assert [c.dead for c in await store.contacts("other")] == [True, False]
    later = T0 + timedelta(days=1)
    assert [lease.number for lease in await store.lease_due(elsewhere.id, later, 10)] == [
        NUMBERS[5]
    ]
    [line] = [r for r in await store.contact_report(elsewhere.id) if r.number == a]
    assert (line.status, line.final_outcome, line.dead) == (
        ContactStatus.DONE,
        Outcome.INVALID_NUMBER,
        True,
    )


async def test_a_streak_of_failures_across_campaigns_makes_the_number_dead(store: SqliteStore):
    first, second = await two_campaigns(store)
    a, b = NUMBERS[:2]
    streak = NextStep(ContactStatus.PENDING, due_at=T0, dead_after_failures=3)
    await _call(store, first.id, a, "1", 0, Outcome.FAILED, streak)
    await _call(store, second.id, a, "2", 10, Outcome.FAILED, streak)
    # b rang in between its failures: its streak starts again.
    await _call(store, first.id, b, "3", 0, Outcome.FAILED, streak)
    await _call(store, first.id, b, "4", 10, Outcome.NO_ANSWER, streak)
    await _call(store, second.id, b, "5", 20, Outcome.FAILED, streak)
    await _call(store, second.id, b, "6", 30, Outcome.FAILED, streak)
    assert not any(c.dead for c in await store.contacts("a"))

    await _call(store, first.id, a, "7", 20, Outcome.FAILED, streak)

    dead = {c.number: c.dead for c in await store.contacts("a")}
    assert dead == {a: True, b: False, NUMBERS[2]: False}
    by_campaign = {
        campaign.name: next(r for r in await store.contact_report(campaign.id) if r.number == a)
        for campaign in (first, second)
    }
    assert by_campaign["first"].status is ContactStatus.DONE
    assert by_campaign["first"].final_outcome is Outcome.FAILED
    assert by_campaign["second"].status is ContactStatus.DONE
    # Without the check, the same streak changes nothing.
    await _call(store, second.id, b, "8", 40, Outcome.FAILED, RETRY)
    assert not next(c for c in await store.contacts("a") if c.number == b).dead


async def test_a_do_not_call_disposition_says_why_in_the_list(store: SqliteStore):
    first, _ = await two_campaigns(store)
    step = NextStep(
        ContactStatus.DONE,
        final_outcome=Outcome.ANSWERED,
        opt_out=True,
        do_not_call_reason="disposition aggressive",
        set_fields={"disposition": "aggressive"},
    )
    await _call(store, first.id, NUMBERS[0], "1", 0, Outcome.ANSWERED, step)
    [(number, _, source)] = await store.do_not_call()
    assert (number, source) == (NUMBERS[0], "disposition aggressive (attempt 1)")
