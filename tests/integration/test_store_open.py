"""Opening the SQLite store: the file, WAL, schema migrations, open_store, and two
processes sharing one file."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
from pathlib import Path

import pytest

from dialer.store import default_db_path, open_store
from dialer.store.base import NewContact, StoreError
from dialer.store.migrations import SCHEMA_VERSION
from dialer.store.sqlite import SqliteStore
from tests.store_cases import T0, add_clients, two_campaigns


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
    await add_clients(store)
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


async def test_given_schema_1_database_when_opened_then_upgraded_keeping_data(
    tmp_path: Path,
) -> None:
    path = tmp_path / "d.db"
    store = await SqliteStore.open(path)
    await two_campaigns(store)
    await store.close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE do_not_call")
    db.execute("DROP INDEX contacts_number")
    db.execute("DROP TABLE campaign_runtime")
    db.execute("DROP TABLE campaign_holds")
    db.execute("DROP INDEX attempts_open_number")
    db.execute("DROP TABLE audit_log")
    db.execute("DROP INDEX attempts_number_started")
    db.execute("ALTER TABLE attempts DROP COLUMN changes")
    db.execute("DROP TABLE campaign_files")
    db.execute("DROP TABLE campaign_wanted")
    db.execute("DROP TABLE api_tokens")
    db.execute("DROP TABLE webhook_outbox")
    db.execute("ALTER TABLE attempts DROP COLUMN server")
    db.execute("DROP INDEX campaign_contacts_outcome")
    db.execute("DROP INDEX attempts_ended")
    db.execute("DELETE FROM schema_version WHERE version > 1")
    db.commit()
    db.close()
    store = await SqliteStore.open(path)
    assert SCHEMA_VERSION >= 2
    assert len(await store.contacts("a")) == 3
    assert await store.add_do_not_call(["+79120000000"], "test", T0) == 1
    await store.close()


async def test_open_store_accepts_path_and_sqlite_url_and_names_an_unreachable_server(
    tmp_path: Path,
):
    for target in (tmp_path / "a.db", f"sqlite:///{tmp_path}/b.db"):
        store = await open_store(target)
        await add_clients(store)  # type: ignore[arg-type]
        await store.close()
    assert (tmp_path / "b.db").exists()
    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(StoreError, match=f"cannot reach PostgreSQL at .*:{port}/dialer"):
        await open_store(f"postgresql://dialer:secret@127.0.0.1:{port}/dialer")
    with pytest.raises(StoreError, match="unsupported"):
        await open_store("mysql://x/y")


def test_default_db_path_follows_dialer_db_env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DIALER_DB", raising=False)
    assert default_db_path() == "dialer.db"
    monkeypatch.setenv("DIALER_DB", "/srv/dialer/contacts.db")
    assert default_db_path() == "/srv/dialer/contacts.db"


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
