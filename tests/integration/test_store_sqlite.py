"""SqliteStore against real SQLite files: the semantics the engine relies on."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialer.outcomes import ContactStatus, Outcome
from dialer.store import default_db_path, open_store
from dialer.store.base import AttemptResult, LeasedContact, NewContact, NextStep, StoreError
from dialer.store.migrations import SCHEMA_VERSION
from dialer.store.sqlite import SqliteStore

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NUMBERS = [f"+7912000000{i}" for i in range(10)]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = await SqliteStore.open(tmp_path / "dialer.db")
    yield s
    await s.close()


async def _list(store: SqliteStore, name: str = "clients", count: int = 3) -> None:
    contacts = [
        NewContact(n, name=f"Client {i}", fields={"i": str(i)})
        for i, n in enumerate(NUMBERS[:count])
    ]
    await store.import_contacts(name, contacts)


async def _campaign(store: SqliteStore, count: int = 3) -> int:
    await _list(store, count=count)
    return (await store.open_campaign("spring", "clients", T0)).id


def _done(attempt_id: str, outcome: Outcome, at: datetime, **kw: object) -> AttemptResult:
    return AttemptResult(attempt_id=attempt_id, outcome=outcome, ended_at=at, **kw)  # type: ignore[arg-type]


RETRY_IN_1H = NextStep(ContactStatus.PENDING, due_at=T0 + timedelta(hours=1))
FINISHED = NextStep(ContactStatus.DONE, final_outcome=Outcome.ANSWERED)


# --- opening and migrations -------------------------------------------------------------
async def test_given_new_file_when_open_then_schema_created_at_current_version(tmp_path: Path):
    store = await SqliteStore.open(tmp_path / "sub" / "d.db")
    await store.close()
    db = sqlite3.connect(tmp_path / "sub" / "d.db")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"lists", "contacts", "campaigns", "campaign_contacts", "attempts"} <= tables
    assert db.execute("SELECT max(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_given_current_schema_when_reopened_then_nothing_reapplied_and_data_kept(
    tmp_path: Path,
):
    path = tmp_path / "d.db"
    store = await SqliteStore.open(path)
    await _list(store)
    await store.close()
    store = await SqliteStore.open(path)
    assert await store.count_contacts("clients") == 3
    await store.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM schema_version").fetchone()[0] == SCHEMA_VERSION


async def test_given_newer_schema_when_open_then_refused_with_clear_error(tmp_path: Path):
    path = tmp_path / "d.db"
    await (await SqliteStore.open(path)).close()
    db = sqlite3.connect(path)
    db.execute("INSERT INTO schema_version VALUES (?, 0)", (SCHEMA_VERSION + 1,))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"newer than this dialer.*upgrade"):
        await SqliteStore.open(path)


async def test_given_file_that_is_not_a_database_when_open_then_store_error(tmp_path: Path):
    path = tmp_path / "notes.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot use database"):
        await SqliteStore.open(path)


async def test_open_store_accepts_path_and_sqlite_url_and_refuses_postgres(tmp_path: Path):
    for target in (tmp_path / "a.db", f"sqlite:///{tmp_path}/b.db"):
        store = await open_store(target)
        await _list(store)  # type: ignore[arg-type]
        await store.close()
    assert (tmp_path / "b.db").exists()
    with pytest.raises(StoreError, match="PostgreSQL backend is not available yet"):
        await open_store("postgresql://dialer@localhost/dialer")
    with pytest.raises(StoreError, match="unsupported"):
        await open_store("mysql://x/y")


def test_default_db_path_follows_dialer_db_env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DIALER_DB", raising=False)
    assert default_db_path() == "dialer.db"
    monkeypatch.setenv("DIALER_DB", "/srv/dialer/contacts.db")
    assert default_db_path() == "/srv/dialer/contacts.db"


# --- lists ------------------------------------------------------------------------------
async def test_import_merges_existing_numbers_keeping_known_values(store: SqliteStore):
    first = await store.import_contacts(
        "clients", [NewContact(NUMBERS[0], "Иван", "Europe/Moscow", {"a": "1", "b": "2"})]
    )
    second = await store.import_contacts(
        "clients",
        [
            NewContact(NUMBERS[0], None, None, {"b": "3"}),
            NewContact(NUMBERS[1]),
            NewContact(NUMBERS[1], "Пётр"),
        ],
    )
    assert (first.inserted, first.merged) == (1, 0)
    assert (second.inserted, second.merged) == (1, 2)
    by_number = {c.number: c for c in await store.contacts("clients")}
    assert by_number[NUMBERS[0]].name == "Иван"
    assert by_number[NUMBERS[0]].timezone == "Europe/Moscow"
    assert by_number[NUMBERS[0]].fields == {"a": "1", "b": "3"}
    assert by_number[NUMBERS[1]].name == "Пётр"
    assert await store.list_names() == ["clients"]


async def test_import_refuses_a_number_that_is_not_e164(store: SqliteStore):
    with pytest.raises(ValueError, match=r"E\.164"):
        await store.import_contacts("clients", [NewContact("89120000000")])
    with pytest.raises(StoreError, match="unknown contact list"):
        await store.count_contacts("clients")  # the failed batch left nothing behind


# --- campaigns --------------------------------------------------------------------------
async def test_open_campaign_enrols_live_contacts_due_now_and_is_idempotent(store: SqliteStore):
    await _list(store)
    campaign = await store.open_campaign("spring", "clients", T0)
    again = await store.open_campaign("spring", "clients", T0 + timedelta(hours=1))
    assert again == campaign
    assert campaign.state == "new" and campaign.created_at == T0
    progress = await store.progress(campaign.id, T0)
    assert (progress.total, progress.pending, progress.due_now) == (3, 3, 3)
    assert progress.next_due_at == T0


async def test_reopening_campaign_enrols_contacts_imported_since(store: SqliteStore):
    campaign_id = await _campaign(store, count=2)
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
    await _list(store, "clients")
    await _list(store, "others")
    await store.open_campaign("spring", "clients", T0)
    with pytest.raises(StoreError, match="already exists on contact list 'clients', not 'others'"):
        await store.open_campaign("spring", "others", T0)


async def test_campaigns_are_listed_and_their_state_changes(store: SqliteStore):
    campaign_id = await _campaign(store)
    await store.set_campaign_state(campaign_id, "running")
    assert [(c.name, c.list_name, c.state) for c in await store.campaigns()] == [
        ("spring", "clients", "running")
    ]
    assert await store.get_campaign("autumn") is None
    with pytest.raises(ValueError, match="unknown campaign state"):
        await store.set_campaign_state(campaign_id, "flying")
    with pytest.raises(StoreError):
        await store.set_campaign_state(999, "paused")


# --- leasing and attempts ---------------------------------------------------------------
async def test_lease_takes_oldest_due_first_and_never_twice(store: SqliteStore):
    campaign_id = await _campaign(store, count=5)
    first = await store.lease_due(campaign_id, T0, 2)
    rest = await store.lease_due(campaign_id, T0, 10)
    assert [c.number for c in first] == NUMBERS[:2]
    assert [c.number for c in rest] == NUMBERS[2:5]
    assert await store.lease_due(campaign_id, T0, 10) == []
    assert first[0].name == "Client 0" and first[0].fields == {"i": "0"}
    assert (first[0].attempts_made, first[0].outcome_counts) == (0, {})
    assert (await store.progress(campaign_id, T0)).dialing == 5


async def test_lease_ignores_contacts_not_due_yet(store: SqliteStore):
    campaign_id = await _campaign(store, count=1)
    assert await store.lease_due(campaign_id, T0 - timedelta(seconds=1), 10) == []
    assert await store.lease_due(campaign_id, T0, 0) == []


async def test_lease_start_finish_retry_cycle(store: SqliteStore):
    campaign_id = await _campaign(store, count=1)
    [lease] = await store.lease_due(campaign_id, T0, 10)
    await store.start_attempt(lease, "a-1", T0)
    closed = await store.finish_attempt(
        _done("a-1", Outcome.NO_ANSWER, T0 + timedelta(seconds=30), reason=3, cause=19),
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
        _done(
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
    campaign_id = await _campaign(store, count=1)
    [lease] = await store.lease_due(campaign_id, T0, 1)
    await store.start_attempt(lease, "a-1", T0)
    assert await store.finish_attempt(_done("a-1", Outcome.BUSY, T0), RETRY_IN_1H)
    assert not await store.finish_attempt(_done("a-1", Outcome.ANSWERED, T0), FINISHED)
    [report] = await store.contact_report(campaign_id)
    assert (report.attempts, report.status, report.last_outcome) == (
        1,
        ContactStatus.PENDING,
        Outcome.BUSY,
    )
    [attempt] = await store.attempts(campaign_id)
    assert attempt.outcome is Outcome.BUSY
    assert not await store.finish_attempt(_done("never-started", Outcome.BUSY, T0), FINISHED)


async def test_start_attempt_never_records_a_second_dial(store: SqliteStore):
    campaign_id = await _campaign(store, count=2)
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


async def test_release_lease_makes_contact_due_again(store: SqliteStore):
    campaign_id = await _campaign(store, count=1)
    [lease] = await store.lease_due(campaign_id, T0, 1)
    await store.release_lease(campaign_id, lease.contact_id, T0 + timedelta(minutes=5))
    assert await store.lease_due(campaign_id, T0 + timedelta(minutes=4), 1) == []
    assert len(await store.lease_due(campaign_id, T0 + timedelta(minutes=5), 1)) == 1


async def test_dead_number_is_never_leased_again_in_any_campaign(store: SqliteStore):
    campaign_id = await _campaign(store, count=2)
    other_id = (await store.open_campaign("autumn", "clients", T0)).id
    [lease] = await store.lease_due(campaign_id, T0, 1)
    await store.start_attempt(lease, "a-1", T0)
    await store.finish_attempt(
        _done("a-1", Outcome.INVALID_NUMBER, T0, cause=1),
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
        _done("a-1", Outcome.INVALID_NUMBER, T0), NextStep(ContactStatus.DONE, mark_dead=True)
    )
    assert await store.open_campaign("first", "one", T0) == first  # re-opening is fine
    with pytest.raises(StoreError, match="every number of contact list 'one' is dead"):
        await store.open_campaign("second", "one", T0)


async def test_finish_attempt_checks_the_next_step(store: SqliteStore):
    campaign_id = await _campaign(store, count=1)
    [lease] = await store.lease_due(campaign_id, T0, 1)
    await store.start_attempt(lease, "a-1", T0)
    with pytest.raises(ValueError, match="needs due_at"):
        await store.finish_attempt(_done("a-1", Outcome.BUSY, T0), NextStep(ContactStatus.PENDING))
    with pytest.raises(ValueError, match="naive datetime"):
        await store.finish_attempt(_done("a-1", Outcome.BUSY, datetime(2025, 1, 1)), FINISHED)
    assert await store.finish_attempt(_done("a-1", Outcome.BUSY, T0), RETRY_IN_1H)  # still open


async def test_recover_gives_back_leases_without_attempt_and_returns_open_attempts(
    store: SqliteStore,
):
    campaign_id = await _campaign(store, count=3)
    in_flight, forgotten, closed = await store.lease_due(campaign_id, T0, 3)
    await store.start_attempt(closed, "a-0", T0)
    await store.finish_attempt(
        _done("a-0", Outcome.BUSY, T0), NextStep(ContactStatus.PENDING, due_at=T0)
    )
    [closed] = await store.lease_due(campaign_id, T0, 1)
    await store.start_attempt(closed, "a-1", T0 + timedelta(seconds=1))
    await store.start_attempt(in_flight, "a-2", T0 + timedelta(seconds=2))
    del forgotten  # leased, then the process died before start_attempt

    reopened = await SqliteStore.open(store.path)  # as after a restart
    later = T0 + timedelta(minutes=10)
    open_attempts = await reopened.recover(campaign_id, later)
    assert [(a.attempt_id, a.attempts_made) for a in open_attempts] == [("a-1", 1), ("a-2", 0)]
    assert open_attempts[0].outcome_counts == {Outcome.BUSY: 1}
    assert open_attempts[0].started_at == T0 + timedelta(seconds=1)
    progress = await reopened.progress(campaign_id, later)
    assert (progress.pending, progress.due_now, progress.dialing) == (1, 1, 2)
    assert progress.next_due_at == later
    [again] = await reopened.lease_due(campaign_id, later, 10)
    assert again.number == NUMBERS[1]
    await reopened.close()


async def test_progress_of_unknown_campaign_is_a_store_error(store: SqliteStore):
    with pytest.raises(StoreError, match="no campaign with id 42"):
        await store.progress(42, T0)


async def test_two_stores_on_one_file_never_lease_the_same_contact(tmp_path: Path):
    path = tmp_path / "shared.db"
    setup = await SqliteStore.open(path)
    await setup.import_contacts("big", [NewContact(f"+7912{i:07d}") for i in range(700)])
    campaign_id = (await setup.open_campaign("race", "big", T0)).id
    await setup.close()
    results: list[list[int]] = [[], []]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(slot: int) -> None:
        async def run() -> None:
            store = await SqliteStore.open(path)
            start.wait()
            while leased := await store.lease_due(campaign_id, T0, 7):
                results[slot].extend(c.contact_id for c in leased)
                await asyncio.sleep(0.001)  # dialling; without a pause one writer starves the other
            await store.close()

        try:
            asyncio.run(run())
        except BaseException as exc:  # reported below, in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    a, b = results
    assert len(a) + len(b) == 700
    assert not set(a) & set(b)
    assert a and b  # both really took part


async def test_start_attempt_refuses_a_contact_that_was_never_leased(store: SqliteStore):
    campaign_id = await _campaign(store, count=1)
    fake = LeasedContact(campaign_id, 999, "+79120000009", None, None, {}, 0, {})
    with pytest.raises(StoreError, match="is not leased"):
        await store.start_attempt(fake, "x", T0)
