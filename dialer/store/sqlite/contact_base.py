"""ContactBase on SQLite: lists and their contacts (the do-not-call lists are in
do_not_call.py, one person's data in person_data.py).

record_do_not_call and mark_dead are also used by the campaign ledger, inside the
transaction that closes an attempt (an opt-out, a number found dead).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable

from dialer.outcomes import Outcome
from dialer.store.base import ContactRecord, ImportStats, NewContact
from dialer.store.column_values import CONTACT_COLUMNS, to_json
from dialer.store.number_checks import dedupe_contacts
from dialer.store.row_records import contact_record
from dialer.store.sqlite.do_not_call import add_entries
from dialer.store.sqlite.list_copies import SqliteListCopies
from dialer.store.sqlite.rows import list_id


class SqliteContactBase(SqliteListCopies):
    """ContactBase on the shared connection (see dialer.store.base for the contract)."""

    async def import_contacts(self, list_name: str, contacts: Iterable[NewContact]) -> ImportStats:
        batch, duplicates = dedupe_contacts(contacts)
        now = time.time()
        # File order is kept: contact ids follow it, and so does the dialling order.
        rows = [(c.number, c.name, c.timezone, to_json(c.fields)) for c in batch]
        with self._conn.write() as db:
            target = _ensure_list(db, list_name, now)
            # One upsert per contact. New rows get rowid max+1 (INTEGER PRIMARY KEY without
            # AUTOINCREMENT) and a conflict consumes none, so inside this write transaction
            # the growth of max(id) is exactly the number of rows inserted.
            before = _max_contact_id(db)
            db.executemany(
                "INSERT INTO contacts (number, name, timezone, fields, created_at, updated_at,"
                " list_id) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6)"
                " ON CONFLICT (list_id, number) DO UPDATE SET"
                " name = coalesce(excluded.name, name),"
                " timezone = coalesce(excluded.timezone, timezone),"
                " fields = json_patch(fields, excluded.fields), updated_at = excluded.updated_at",
                [(*row, now, target) for row in rows],
            )
            inserted = _max_contact_id(db) - before
        merged = len(rows) - inserted
        return ImportStats(inserted=inserted, merged=merged + duplicates)

    async def list_names(self) -> list[str]:
        return [row[0] for row in self._conn.db.execute("SELECT name FROM lists ORDER BY name")]

    async def count_contacts(self, list_name: str) -> int:
        with self._conn.read() as db:
            found = list_id(db, list_name)
            count: int = db.execute(
                "SELECT count(*) FROM contacts WHERE list_id = ?", (found,)
            ).fetchone()[0]
        return count

    async def contacts(self, list_name: str) -> list[ContactRecord]:
        found: list[ContactRecord] = []
        async for batch in self.contact_batches(list_name, 10_000):
            found += batch
        return found

    async def contact_batches(
        self, list_name: str, batch_size: int = 2000
    ) -> AsyncIterator[list[ContactRecord]]:
        # Keyset pages, each its own short read: writers are never held up for the whole
        # export, and only one page is in memory.
        after = 0
        while True:
            with self._conn.read() as db:
                found = list_id(db, list_name)
                rows = db.execute(
                    f"SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.list_id = ? AND c.id > ?"
                    " ORDER BY c.id LIMIT ?",
                    (found, after, batch_size),
                ).fetchall()
            if not rows:
                return
            after = rows[-1]["id"]
            yield [contact_record(r, list_name) for r in rows]
            await asyncio.sleep(0)  # let calls in progress be served between pages


def record_do_not_call(db: sqlite3.Connection, numbers: list[str], source: str, now: float) -> int:
    """Add numbers to the global do-not-call list inside the caller's write transaction
    and retire them from every campaign; returns how many were new."""
    return add_entries(db, numbers, source, now, campaign=None)


def mark_dead(db: sqlite3.Connection, contact_id: int, now: float) -> None:
    """Flag the number dead in every list that holds it and retire it wherever it still
    waits, so that no campaign dials it again, nor waits forever for a contact lease_due
    will never return."""
    (number,) = db.execute("SELECT number FROM contacts WHERE id = ?", (contact_id,)).fetchone()
    db.execute("UPDATE contacts SET dead = 1, updated_at = ? WHERE number = ?", (now, number))
    db.execute(
        "UPDATE campaign_contacts SET status = 'done', next_due_at = NULL,"
        " final_outcome = coalesce(final_outcome, ?)"
        " WHERE status = 'pending' AND contact_id IN (SELECT id FROM contacts WHERE number = ?)",
        (Outcome.INVALID_NUMBER.value, number),
    )


def _ensure_list(db: sqlite3.Connection, name: str, now: float) -> int:
    if not name or not name.strip():
        raise ValueError("a contact list needs a name")
    db.execute(
        "INSERT INTO lists (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        (name, now),
    )
    return int(db.execute("SELECT id FROM lists WHERE name = ?", (name,)).fetchone()[0])


def _max_contact_id(db: sqlite3.Connection) -> int:
    return int(db.execute("SELECT coalesce(max(id), 0) FROM contacts").fetchone()[0])
