"""ContactBase on PostgreSQL: lists, their contacts, and a list built from another (the
do-not-call lists are in do_not_call.py, one person's data in person_data.py).

mark_dead is also used by the campaign ledger, inside the transaction that closes an
attempt (a number found dead).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from datetime import datetime

import asyncpg

from dialer.outcomes import Outcome
from dialer.store.base import ContactRecord, ImportStats, NewContact, StoreError
from dialer.store.column_values import CONTACT_COLUMNS, to_json, ts
from dialer.store.number_checks import dedupe_contacts
from dialer.store.postgres.connection import PgRole
from dialer.store.postgres.rows import list_id
from dialer.store.row_records import contact_record


class PgContactBase(PgRole):
    """ContactBase on the shared pool (see dialer.store.base for the contract)."""

    async def import_contacts(self, list_name: str, contacts: Iterable[NewContact]) -> ImportStats:
        batch, duplicates = dedupe_contacts(contacts)
        now = time.time()
        async with self._conn.write() as db:
            target = await _ensure_list(db, list_name, now)
            # One statement for the batch, in file order (contact ids follow it, and so
            # does the dialling order); xmax = 0 tells a new row from a merged one.
            flags = await db.fetch(
                "INSERT INTO contacts (number, name, timezone, fields, created_at, updated_at,"
                " list_id) SELECT u.number, u.name, u.timezone, u.fields::jsonb, $5, $5, $6"
                " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])"
                "   WITH ORDINALITY AS u(number, name, timezone, fields, n) ORDER BY u.n"
                " ON CONFLICT (list_id, number) DO UPDATE SET"
                " name = coalesce(excluded.name, contacts.name),"
                " timezone = coalesce(excluded.timezone, contacts.timezone),"
                " fields = contacts.fields || excluded.fields, updated_at = excluded.updated_at"
                " RETURNING (xmax = 0)",
                [c.number for c in batch],
                [c.name for c in batch],
                [c.timezone for c in batch],
                [to_json(c.fields) for c in batch],
                now,
                target,
            )
        inserted = sum(1 for row in flags if row[0])
        return ImportStats(inserted=inserted, merged=len(batch) - inserted + duplicates)

    async def list_names(self) -> list[str]:
        async with self._conn.read() as db:
            return [r[0] for r in await db.fetch("SELECT name FROM lists ORDER BY name")]

    async def count_contacts(self, list_name: str) -> int:
        async with self._conn.read() as db:
            found = await list_id(db, list_name)
            return int(await db.fetchval("SELECT count(*) FROM contacts WHERE list_id = $1", found))

    async def contacts(self, list_name: str) -> list[ContactRecord]:
        found: list[ContactRecord] = []
        async for batch in self.contact_batches(list_name, 10_000):
            found += batch
        return found

    async def contact_batches(
        self, list_name: str, batch_size: int = 2000
    ) -> AsyncIterator[list[ContactRecord]]:
        # Keyset pages, each its own short read: only one page is in memory.
        after = 0
        while True:
            async with self._conn.read() as db:
                found = await list_id(db, list_name)
                rows = await db.fetch(
                    f"SELECT {CONTACT_COLUMNS} FROM contacts c WHERE c.list_id = $1"
                    " AND c.id > $2 ORDER BY c.id LIMIT $3",
                    found,
                    after,
                    batch_size,
                )
            if not rows:
                return
            after = rows[-1]["id"]
            yield [contact_record(r, list_name) for r in rows]
            await asyncio.sleep(0)

    async def copy_contacts(
        self, from_list: str, contact_ids: Iterable[int], new_list: str, now: datetime
    ) -> int:
        if not new_list or not new_list.strip():
            raise ValueError("a contact list needs a name")
        at = ts(now)
        async with self._conn.write() as db:
            source = await list_id(db, from_list)
            if await db.fetchval("SELECT 1 FROM lists WHERE name = $1", new_list):
                raise StoreError(f"contact list {new_list!r} already exists: choose another name")
            target = await db.fetchval(
                "INSERT INTO lists (name, created_at) VALUES ($1, $2) RETURNING id", new_list, at
            )
            # In the source's id order, so the new list is dialled in the same order. The
            # list_id test keeps ids of other lists out, whatever the caller passed.
            await db.execute(
                "INSERT INTO contacts (list_id, number, name, timezone, fields, dead,"
                " created_at, updated_at)"
                " SELECT $1, number, name, timezone, fields, dead, $2, $2 FROM contacts"
                " WHERE id = ANY($3::bigint[]) AND list_id = $4 ORDER BY id"
                " ON CONFLICT (list_id, number) DO NOTHING",
                target,
                at,
                sorted(set(contact_ids)),
                source,
            )
            copied = await db.fetchval("SELECT count(*) FROM contacts WHERE list_id = $1", target)
        return int(copied)


async def mark_dead(db: asyncpg.Connection, contact_id: int, now: float) -> None:
    """Flag the number dead in every list that holds it and retire it wherever it still
    waits, so that no campaign dials it again, nor waits forever for it."""
    number = await db.fetchval("SELECT number FROM contacts WHERE id = $1", contact_id)
    await db.execute(
        "UPDATE contacts SET dead = true, updated_at = $1 WHERE number = $2", now, number
    )
    await db.execute(
        "UPDATE campaign_contacts SET status = 'done', next_due_at = NULL,"
        " final_outcome = coalesce(final_outcome, $1)"
        " WHERE status = 'pending' AND contact_id IN (SELECT id FROM contacts WHERE number = $2)",
        Outcome.INVALID_NUMBER.value,
        number,
    )


async def _ensure_list(db: asyncpg.Connection, name: str, now: float) -> int:
    if not name or not name.strip():
        raise ValueError("a contact list needs a name")
    await db.execute(
        "INSERT INTO lists (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        name,
        now,
    )
    return int(await db.fetchval("SELECT id FROM lists WHERE name = $1", name))
