"""The do-not-call lists on SQLite: the global one and one per campaign, checked at lease
time and in one lookup before each Originate."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest

from dialer.outcomes import ContactStatus
from dialer.store.base import NewContact
from dialer.store.migrations import MIGRATIONS
from dialer.store.person_records import DoNotCallEntry
from dialer.store.sqlite import SqliteStore
from tests.store_cases import NUMBERS, T0, open_test_store, two_campaigns

pytestmark = pytest.mark.store_backends


async def test_global_and_campaign_lists_are_separate_and_checked_together(store: SqliteStore):
    later = T0 + timedelta(minutes=1)
    assert await store.add_do_not_call(NUMBERS[:2], "register", T0) == 2
    # The campaign need not exist yet: its list can be loaded before its first run.
    assert await store.add_do_not_call(NUMBERS[1:3], "cli", later, campaign="spring") == 2
    assert await store.add_do_not_call([NUMBERS[2]], "again", later, campaign="spring") == 0

    wanted = NUMBERS[:4]
    assert await store.do_not_call_among(wanted, None) == set(NUMBERS[:2])
    assert await store.do_not_call_among(wanted, "spring") == set(NUMBERS[:3])
    assert await store.do_not_call_among(wanted, "autumn") == set(NUMBERS[:2])
    assert await store.do_not_call_among([], "spring") == set()
    assert [n for n, _, _ in await store.do_not_call()] == NUMBERS[:2]  # the global list
    assert await store.do_not_call_entries([NUMBERS[1], NUMBERS[3]]) == [
        DoNotCallEntry(NUMBERS[1], None, T0, "register"),
        DoNotCallEntry(NUMBERS[1], "spring", later, "cli"),
    ]

    assert await store.remove_do_not_call([NUMBERS[1], NUMBERS[3]], campaign="spring") == 1
    assert await store.do_not_call_among(wanted, "spring") == {NUMBERS[0], NUMBERS[1], NUMBERS[2]}
    assert await store.remove_do_not_call([NUMBERS[1]]) == 1
    assert await store.do_not_call_among(wanted, "spring") == {NUMBERS[0], NUMBERS[2]}


async def test_store_refuses_numbers_that_are_not_e164_and_an_empty_campaign_name(
    store: SqliteStore,
):
    with pytest.raises(ValueError, match=r"E\.164"):
        await store.add_do_not_call(["89120000000"], "cli", T0)
    with pytest.raises(ValueError, match="campaign's name"):
        await store.add_do_not_call([NUMBERS[0]], "cli", T0, campaign=" ")
    assert await store.do_not_call() == []


async def test_export_batches_one_list_in_number_order(store: SqliteStore):
    numbers = [f"+7912{i:07d}" for i in range(2500)]
    await store.add_do_not_call(reversed(numbers), "register", T0)
    await store.add_do_not_call(numbers[:10], "cli", T0, campaign="spring")
    batches = [b async for b in store.do_not_call_batches(batch_size=1000)]
    assert [len(b) for b in batches] == [1000, 1000, 500]
    assert [e.number for b in batches for e in b] == numbers
    spring = [e async for b in store.do_not_call_batches("spring") for e in b]
    assert [(e.number, e.campaign, e.source) for e in spring] == [
        (n, "spring", "cli") for n in numbers[:10]
    ]


async def test_campaign_list_retires_the_number_only_in_that_campaign(store: SqliteStore):
    first, second = await two_campaigns(store)
    assert await store.add_do_not_call([NUMBERS[0]], "cli", T0, campaign="first") == 1
    assert {c.number for c in await store.lease_due(first.id, T0, 10)} == set(NUMBERS[1:3])
    assert {c.number for c in await store.lease_due(second.id, T0, 10)} == set(NUMBERS[:3])
    report = {r.number: r for r in await store.contact_report(first.id)}
    assert report[NUMBERS[0]].status is ContactStatus.DONE and report[NUMBERS[0]].do_not_call
    other = {r.number: r for r in await store.contact_report(second.id)}
    assert not other[NUMBERS[0]].do_not_call


async def test_campaign_list_loaded_before_the_campaign_exists_is_skipped_at_enrolment(
    store: SqliteStore,
):
    await store.import_contacts("a", [NewContact(number=n) for n in NUMBERS[:3]])
    await store.add_do_not_call([NUMBERS[2]], "cli", T0, campaign="later")
    other = await store.open_campaign("other", "a", T0)
    later = await store.open_campaign("later", "a", T0)
    assert len(await store.lease_due(other.id, T0, 10)) == 3
    assert {c.number for c in await store.lease_due(later.id, T0, 10)} == set(NUMBERS[:2])
    assert (await store.progress(later.id, T0)).done == 1


@pytest.mark.sqlite_only
async def test_lease_skips_numbers_listed_behind_its_back(store: SqliteStore, tmp_path: Path):
    """Another process (an older dialer, the sqlite3 shell) listed numbers without
    retiring them: lease_due itself still never hands them out."""
    first, second = await two_campaigns(store)
    db = sqlite3.connect(tmp_path / "dialer.db")
    with db:
        db.execute(
            "INSERT INTO do_not_call (number, scope, added_at, source) VALUES (?, '', ?, 'x')",
            (NUMBERS[0], time.time()),
        )
        db.execute(
            "INSERT INTO do_not_call (number, scope, added_at, source)"
            " VALUES (?, 'second', ?, 'x')",
            (NUMBERS[1], time.time()),
        )
    db.close()
    assert {c.number for c in await store.lease_due(first.id, T0, 10)} == set(NUMBERS[1:3])
    assert {c.number for c in await store.lease_due(second.id, T0, 10)} == {NUMBERS[2]}


async def test_given_schema_5_database_when_opened_then_its_list_becomes_the_global_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at REAL)")
    for version, script in enumerate(MIGRATIONS[:5], start=1):
        db.executescript(script)
        db.execute("INSERT INTO schema_version VALUES (?, 0)", (version,))
    db.execute("INSERT INTO do_not_call VALUES (?, ?, 'opt-out')", (NUMBERS[0], T0.timestamp()))
    db.commit()
    db.close()
    async with open_test_store(path) as store:
        assert await store.do_not_call() == [(NUMBERS[0], T0, "opt-out")]
        assert await store.do_not_call_among(NUMBERS[:2], "any") == {NUMBERS[0]}
        assert await store.add_do_not_call([NUMBERS[0]], "cli", T0, campaign="any") == 1


async def test_a_register_added_in_batches_is_found_again(store: SqliteStore):
    numbers = [f"+7900{i:07d}" for i in range(0, 200_000)]
    for start in range(0, len(numbers), 50_000):
        assert (
            await store.add_do_not_call(numbers[start : start + 50_000], "register", T0) == 50_000
        )
    probe = [*numbers[::997], "+79990000000"]
    assert await store.do_not_call_among(probe, None) == set(numbers[::997])
