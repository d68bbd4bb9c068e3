"""Do-not-call list and fields set by a call, in a real SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dialer.outcomes import ContactStatus, Outcome
from dialer.store import open_store
from dialer.store.base import AttemptResult, NewContact, NextStep
from dialer.store.migrations import SCHEMA_VERSION

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NUMBERS = ["+79120000001", "+79120000002", "+79120000003"]


async def _two_campaigns(path: Path):  # type: ignore[no-untyped-def]
    store = await open_store(path)
    await store.import_contacts("a", [NewContact(number=n) for n in NUMBERS])
    first = await store.open_campaign("first", "a", NOW)
    second = await store.open_campaign("second", "a", NOW)
    return store, first, second


async def test_given_caller_opts_out_when_attempt_closes_then_number_is_retired_everywhere(
    tmp_path: Path,
) -> None:
    store, first, second = await _two_campaigns(tmp_path / "d.db")
    [lease] = await store.lease_due(first.id, NOW, 1)
    await store.start_attempt(lease, "att-1", NOW)
    closed = await store.finish_attempt(
        AttemptResult("att-1", Outcome.ANSWERED, NOW + timedelta(seconds=30)),
        NextStep(ContactStatus.DONE, final_outcome=Outcome.ANSWERED, opt_out=True),
    )
    assert closed
    assert [n for n, _, _ in await store.do_not_call()] == [lease.number]
    report = {r.number: r for r in await store.contact_report(second.id)}
    assert report[lease.number].status is ContactStatus.DONE
    assert report[lease.number].do_not_call
    leased = await store.lease_due(second.id, NOW, 10)
    assert lease.number not in {c.number for c in leased}
    await store.close()


async def test_given_number_on_list_when_new_campaign_opens_then_it_is_never_leased(
    tmp_path: Path,
) -> None:
    store = await open_store(tmp_path / "d.db")
    await store.import_contacts("a", [NewContact(number=n) for n in NUMBERS])
    assert await store.add_do_not_call([NUMBERS[1]], "regulator list", NOW) == 1
    assert await store.add_do_not_call([NUMBERS[1]], "again", NOW) == 0
    campaign = await store.open_campaign("c", "a", NOW)
    leased = await store.lease_due(campaign.id, NOW, 10)
    assert sorted(c.number for c in leased) == [NUMBERS[0], NUMBERS[2]]
    progress = await store.progress(campaign.id, NOW)
    assert progress.done == 1
    await store.close()


async def test_given_fields_set_by_a_call_when_closed_then_merged_into_the_contact(
    tmp_path: Path,
) -> None:
    store = await open_store(tmp_path / "d.db")
    await store.import_contacts("a", [NewContact(number=NUMBERS[0], fields={"city": "Тверь"})])
    campaign = await store.open_campaign("c", "a", NOW)
    [lease] = await store.lease_due(campaign.id, NOW, 1)
    await store.start_attempt(lease, "att-1", NOW)
    await store.finish_attempt(
        AttemptResult("att-1", Outcome.TRANSFERRED, NOW),
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
    await store.close()


async def test_given_schema_1_database_when_opened_then_upgraded_keeping_data(
    tmp_path: Path,
) -> None:
    path = tmp_path / "d.db"
    store, _, _ = await _two_campaigns(path)
    await store.close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE do_not_call")
    db.execute("DROP INDEX contacts_number")
    db.execute("DROP TABLE campaign_runtime")
    db.execute("DELETE FROM schema_version WHERE version > 1")
    db.commit()
    db.close()
    store = await open_store(path)
    assert SCHEMA_VERSION >= 2
    assert len(await store.contacts("a")) == 3
    assert await store.add_do_not_call([NUMBERS[0]], "test", NOW) == 1
    await store.close()


async def test_given_runtime_saved_when_store_reopened_then_ledger_and_status_come_back(
    tmp_path: Path,
) -> None:
    store, first, _ = await _two_campaigns(tmp_path / "d.db")
    assert await store.load_runtime(first.id) == ({}, {}, None)
    await store.save_runtime(first.id, {"version": 1, "w": [1, 2]}, {"mode": "predictive"}, NOW)
    await store.save_runtime(first.id, {"version": 1, "w": [3]}, {"mode": "predictive"}, NOW)
    await store.close()
    store = await open_store(tmp_path / "d.db")
    ledger, status, saved = await store.load_runtime(first.id)
    assert (ledger, status, saved) == ({"version": 1, "w": [3]}, {"mode": "predictive"}, NOW)
    await store.close()
