"""The campaign ledger role on SQLite: enrolment, leases, attempts closed exactly once,
what a closed attempt changes in the base, recovery after a restart, runtime state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from dialer.outcomes import ContactStatus, Outcome
from dialer.store.base import AttemptResult, LeasedContact, NewContact, NextStep, StoreError
from dialer.store.sqlite import SqliteStore
from tests.store_cases import (
    FINISHED,
    NUMBERS,
    RETRY_IN_1H,
    T0,
    add_clients,
    done,
    open_spring,
    open_test_store,
    two_campaigns,
)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with open_test_store(tmp_path / "dialer.db") as s:
        yield s


# --- campaigns --------------------------------------------------------------------------
async def test_open_campaign_enrols_live_contacts_due_now_and_is_idempotent(store: SqliteStore):
    await add_clients(store)
    campaign = await store.open_campaign("spring", "clients", T0)
    again = await store.open_campaign("spring", "clients", T0 + timedelta(hours=1))
    assert again == campaign
    assert campaign.state == "new" and campaign.created_at == T0
    progress = await store.progress(campaign.id, T0)
    assert (progress.total, progress.pending, progress.due_now) == (3, 3, 3)
    assert progress.next_due_at == T0


async def test_reopening_campaign_enrols_contacts_imported_since(store: SqliteStore):
    campaign_id = await open_spring(store, count=2)
    await store.import_contacts("clients", [NewContact(NUMBERS[5])])
    await store.open_campaign("spring", "clients", T0 + timedelta(hours=2))
    progress = await store.progress(campaign_id, T0)
    assert progress.total == 3 and progress.due_now == 2


async def test_open_campaign_errors_name_the_problem(store: SqliteStore):
    with pytest.raises(StoreError, match=r"unknown contact list 'nope' \(no list imported yet\)"):
        await store.open_campaign("spring", "nope", T0)
    await store.import_contacts("empty", [])
    with pytest.raises(StoreError, match="'empty' is empty"):
        await store.open_campaign("spring", "empty", T0)
    await add_clients(store, "clients")
    await add_clients(store, "others")
    await store.open_campaign("spring", "clients", T0)
    with pytest.raises(StoreError, match="already exists on contact list 'clients', not 'others'"):
        await store.open_campaign("spring", "others", T0)


async def test_campaigns_are_listed_and_their_state_changes(store: SqliteStore):
    campaign_id = await open_spring(store)
    await store.set_campaign_state(campaign_id, "running")
    assert [(c.name, c.list_name, c.state) for c in await store.campaigns()] == [
        ("spring", "clients", "running")
    ]
    assert await store.get_campaign("autumn") is None
    with pytest.raises(ValueError, match="unknown campaign state"):
        await store.set_campaign_state(campaign_id, "flying")
    with pytest.raises(StoreError):
        await store.set_campaign_state(999, "paused")


async def test_given_number_on_list_when_new_campaign_opens_then_it_is_never_leased(
    store: SqliteStore,
) -> None:
    await store.import_contacts("a", [NewContact(number=n) for n in NUMBERS[:3]])
    assert await store.add_do_not_call([NUMBERS[1]], "regulator list", T0) == 1
    assert await store.add_do_not_call([NUMBERS[1]], "again", T0) == 0
    campaign = await store.open_campaign("c", "a", T0)
    leased = await store.lease_due(campaign.id, T0, 10)
    assert sorted(c.number for c in leased) == [NUMBERS[0], NUMBERS[2]]
    progress = await store.progress(campaign.id, T0)
    assert progress.done == 1


# --- leasing and attempts ---------------------------------------------------------------
async def test_lease_takes_oldest_due_first_and_never_twice(store: SqliteStore):
    campaign_id = await open_spring(store, count=5)
    first = await store.lease_due(campaign_id, T0, 2)
    rest = await store.lease_due(campaign_id, T0, 10)
    assert [c.number for c in first] == NUMBERS[:2]
    assert [c.number for c in rest] == NUMBERS[2:5]
    assert await store.lease_due(campaign_id, T0, 10) == []
    assert first[0].name == "Client 0" and first[0].fields == {"i": "0"}
    assert (first[0].attempts_made, first[0].outcome_counts) == (0, {})
    assert (await store.progress(campaign_id, T0)).dialing == 5


async def test_lease_ignores_contacts_not_due_yet(store: SqliteStore):
    campaign_id = await open_spring(store, count=1)
    assert await store.lease_due(campaign_id, T0 - timedelta(seconds=1), 10) == []
    assert await store.lease_due(campaign_id, T0, 0) == []


async def test_lease_start_finish_retry_cycle(store: SqliteStore):
    campaign_id = await open_spring(store, count=1)
    [lease] = await store.lease_due(campaign_id, T0, 10)
    await store.start_attempt(lease, "a-1", T0)
    closed = await store.finish_attempt(
        done("a-1", Outcome.NO_ANSWER, T0 + timedelta(seconds=30), reason=3, cause=19),
        RETRY_IN_1H,
    )
    assert closed is True
    assert await store.lease_due(campaign_id, T0 + timedelta(minutes=59), 10) == []
    [again] = await store.lease_due(campaign_id, T0 + timedelta(hours=1), 10)
    assert again.attempts_made == 1
    assert again.outcome_counts == {Outcome.NO_ANSWER: 1}
    await store.start_attempt(again, "a-2", T0 + timedelta(hours=1))
    answered = T0 + timedelta(hours=1, seconds=5)
    assert await store.finish_attempt(
        done(
            "a-2",
            Outcome.ANSWERED,
            answered + timedelta(seconds=40),
            answered_at=answered,
            answers={"keys": "1", "temperature": "hot"},
            detail="pressed 1",
        ),
        FINISHED,
    )
    [report] = await store.contact_report(campaign_id)
    assert report.status is ContactStatus.DONE and report.attempts == 2
    assert report.last_outcome is Outcome.ANSWERED and report.final_outcome is Outcome.ANSWERED
    assert report.next_due_at is None and report.last_attempt_at == T0 + timedelta(hours=1)
    first, second = await store.attempts(campaign_id)
    assert (first.attempt_id, first.outcome, first.cause, first.reason) == (
        "a-1",
        Outcome.NO_ANSWER,
        19,
        3,
    )
    assert first.campaign_name == "spring" and first.number == NUMBERS[0]
    assert second.answered_at == answered and second.answers == {"keys": "1", "temperature": "hot"}
    assert second.detail == "pressed 1" and second.ended_at is not None
    assert second.ended_at.tzinfo is not None and second.ended_at.utcoffset() == timedelta(0)
    progress = await store.progress(campaign_id, T0)
    assert (progress.done, progress.pending, progress.dialing) == (1, 0, 0)
    assert progress.outcomes == {"no_answer": 1, "answered": 1}


async def test_finish_twice_returns_false_and_does_not_double_count(store: SqliteStore):
    campaign_id = await open_spring(store, count=1)
    [lease] = await store.lease_due(campaign_id, T0, 1)
    await store.start_attempt(lease, "a-1", T0)
    assert await store.finish_attempt(done("a-1", Outcome.BUSY, T0), RETRY_IN_1H)
    assert not await store.finish_attempt(done("a-1", Outcome.ANSWERED, T0), FINISHED)
    [report] = await store.contact_report(campaign_id)
    assert (report.attempts, report.status, report.last_outcome) == (
        1,
        ContactStatus.PENDING,
        Outcome.BUSY,
    )
    [attempt] = await store.attempts(campaign_id)
    assert attempt.outcome is Outcome.BUSY
    assert not await store.finish_attempt(done("never-started", Outcome.BUSY, T0), FINISHED)


async def test_start_attempt_never_records_a_second_dial(store: SqliteStore):
    campaign_id = await open_spring(store, count=2)
    lease, other = await store.lease_due(campaign_id, T0, 2)
    await store.start_attempt(lease, "a-1", T0)
    with pytest.raises(StoreError, match="already recorded"):
        await store.start_attempt(other, "a-1", T0)  # same attempt id
    with pytest.raises(StoreError, match="already has open attempt a-1"):
        await store.start_attempt(lease, "a-2", T0)  # same contact, still in flight
    await store.release_lease(campaign_id, other.contact_id, T0)
    with pytest.raises(StoreError, match="is not leased"):
        await store.start_attempt(other, "a-3", T0)
    assert [a.attempt_id for a in await store.attempts(campaign_id)] == ["a-1"]


async def test_start_attempt_refuses_a_contact_that_was_never_leased(store: SqliteStore):
    campaign_id = await open_spring(store, count=1)
    fake = LeasedContact(campaign_id, 999, "+79120000009", None, None, {}, 0, {})
    with pytest.raises(StoreError, match="is not leased"):
        await store.start_attempt(fake, "x", T0)


async def test_release_lease_makes_contact_due_again(store: SqliteStore):
    campaign_id = await open_spring(store, count=1)
    [lease] = await store.lease_due(campaign_id, T0, 1)
    await store.release_lease(campaign_id, lease.contact_id, T0 + timedelta(minutes=5))
    assert await store.lease_due(campaign_id, T0 + timedelta(minutes=4), 1) == []
    assert len(await store.lease_due(campaign_id, T0 + timedelta(minutes=5), 1)) == 1


async def test_finish_attempt_checks_the_next_step(store: SqliteStore):
    campaign_id = await open_spring(store, count=1)
    [lease] = await store.lease_due(campaign_id, T0, 1)
    await store.start_attempt(lease, "a-1", T0)
    with pytest.raises(ValueError, match="needs due_at"):
        await store.finish_attempt(done("a-1", Outcome.BUSY, T0), NextStep(ContactStatus.PENDING))
    with pytest.raises(ValueError, match="naive datetime"):
        await store.finish_attempt(done("a-1", Outcome.BUSY, datetime(2025, 1, 1)), FINISHED)
    assert await store.finish_attempt(done("a-1", Outcome.BUSY, T0), RETRY_IN_1H)  # still open


# --- what a closed attempt changes in the base ------------------------------------------
async def test_dead_number_is_never_leased_again_in_any_campaign(store: SqliteStore):
    campaign_id = await open_spring(store, count=2)
    other_id = (await store.open_campaign("autumn", "clients", T0)).id
    [lease] = await store.lease_due(campaign_id, T0, 1)
    await store.start_attempt(lease, "a-1", T0)
    await store.finish_attempt(
        done("a-1", Outcome.INVALID_NUMBER, T0, cause=1),
        NextStep(ContactStatus.DONE, final_outcome=Outcome.INVALID_NUMBER, mark_dead=True),
    )
    dead = [c for c in await store.contacts("clients") if c.dead]
    assert [c.number for c in dead] == [lease.number]
    leased = await store.lease_due(other_id, T0 + timedelta(days=1), 10)
    assert [c.number for c in leased] == [NUMBERS[1]]
    report = {r.number: r for r in await store.contact_report(other_id)}
    assert report[lease.number].status is ContactStatus.DONE
    assert report[lease.number].final_outcome is Outcome.INVALID_NUMBER
    assert report[lease.number].dead


async def test_new_campaign_on_a_list_of_dead_numbers_is_refused(store: SqliteStore):
    await store.import_contacts("one", [NewContact(NUMBERS[0])])
    first = await store.open_campaign("first", "one", T0)
    [lease] = await store.lease_due(first.id, T0, 1)
    await store.start_attempt(lease, "a-1", T0)
    await store.finish_attempt(
        done("a-1", Outcome.INVALID_NUMBER, T0), NextStep(ContactStatus.DONE, mark_dead=True)
    )
    assert await store.open_campaign("first", "one", T0) == first  # re-opening is fine
    with pytest.raises(StoreError, match="every number of contact list 'one' is dead"):
        await store.open_campaign("second", "one", T0)


async def test_given_caller_opts_out_when_attempt_closes_then_number_is_retired_everywhere(
    store: SqliteStore,
) -> None:
    first, second = await two_campaigns(store)
    [lease] = await store.lease_due(first.id, T0, 1)
    await store.start_attempt(lease, "att-1", T0)
    closed = await store.finish_attempt(
        AttemptResult("att-1", Outcome.ANSWERED, T0 + timedelta(seconds=30)),
        NextStep(ContactStatus.DONE, final_outcome=Outcome.ANSWERED, opt_out=True),
    )
    assert closed
    assert [n for n, _, _ in await store.do_not_call()] == [lease.number]
    report = {r.number: r for r in await store.contact_report(second.id)}
    assert report[lease.number].status is ContactStatus.DONE
    assert report[lease.number].do_not_call
    leased = await store.lease_due(second.id, T0, 10)
    assert lease.number not in {c.number for c in leased}


async def test_given_fields_set_by_a_call_when_closed_then_merged_into_the_contact(
    store: SqliteStore,
) -> None:
    await store.import_contacts("a", [NewContact(number=NUMBERS[0], fields={"city": "Тверь"})])
    campaign = await store.open_campaign("c", "a", T0)
    [lease] = await store.lease_due(campaign.id, T0, 1)
    await store.start_attempt(lease, "att-1", T0)
    await store.finish_attempt(
        AttemptResult("att-1", Outcome.TRANSFERRED, T0),
        NextStep(
            ContactStatus.DONE,
            final_outcome=Outcome.TRANSFERRED,
            set_fields={"temperature": "hot", "disposition": "interested"},
        ),
    )
    [contact] = await store.contacts("a")
    assert dict(contact.fields) == {
        "city": "Тверь",
        "temperature": "hot",
        "disposition": "interested",
    }


# --- restarts ---------------------------------------------------------------------------
async def test_recover_gives_back_leases_without_attempt_and_returns_open_attempts(
    store: SqliteStore,
):
    campaign_id = await open_spring(store, count=3)
    in_flight, forgotten, closed = await store.lease_due(campaign_id, T0, 3)
    await store.start_attempt(closed, "a-0", T0)
    await store.finish_attempt(
        done("a-0", Outcome.BUSY, T0), NextStep(ContactStatus.PENDING, due_at=T0)
    )
    [closed] = await store.lease_due(campaign_id, T0, 1)
    await store.start_attempt(closed, "a-1", T0 + timedelta(seconds=1))
    await store.start_attempt(in_flight, "a-2", T0 + timedelta(seconds=2), "pbx-b")
    del forgotten  # leased, then the process died before start_attempt

    reopened = await SqliteStore.open(store.path)  # as after a restart
    later = T0 + timedelta(minutes=10)
    open_attempts = await reopened.recover(campaign_id, later)
    assert [(a.attempt_id, a.attempts_made) for a in open_attempts] == [("a-1", 1), ("a-2", 0)]
    assert open_attempts[0].outcome_counts == {Outcome.BUSY: 1}
    assert open_attempts[0].started_at == T0 + timedelta(seconds=1)
    # Each is reconciled on the Asterisk server it went to (None: not recorded).
    assert [a.server for a in open_attempts] == [None, "pbx-b"]
    progress = await reopened.progress(campaign_id, later)
    assert (progress.pending, progress.due_now, progress.dialing) == (1, 1, 2)
    assert progress.next_due_at == later
    [again] = await reopened.lease_due(campaign_id, later, 10)
    assert again.number == NUMBERS[1]
    await reopened.close()


async def test_given_runtime_saved_when_store_reopened_then_ledger_and_status_come_back(
    store: SqliteStore,
) -> None:
    first, _ = await two_campaigns(store)
    assert await store.load_runtime(first.id) == ({}, {}, None)
    await store.save_runtime(first.id, {"version": 1, "w": [1, 2]}, {"mode": "predictive"}, T0)
    await store.save_runtime(first.id, {"version": 1, "w": [3]}, {"mode": "predictive"}, T0)
    async with open_test_store(Path(store.path)) as reopened:  # as after a restart
        ledger, status, saved = await reopened.load_runtime(first.id)
    assert (ledger, status, saved) == ({"version": 1, "w": [3]}, {"mode": "predictive"}, T0)


async def test_progress_of_unknown_campaign_is_a_store_error(store: SqliteStore):
    with pytest.raises(StoreError, match="no campaign with id 42"):
        await store.progress(42, T0)
