"""Reports on SQLite: where each contact of a campaign's list stands, for `dialer
preview` (what would be called at a given moment, and why not)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from dialer.store.due_view import DueView
from dialer.store.row_records import due_view
from dialer.store.sqlite.connection import SqliteRole
from dialer.store.sqlite.rows import list_id


class SqliteDueView(SqliteRole):
    async def due_view_batches(
        self, list_name: str, campaign_id: int | None, batch_size: int = 5000
    ) -> AsyncIterator[list[DueView]]:
        # Keyset pages, each its own short read, like the exports.
        after = 0
        while True:
            with self._conn.read() as db:
                found = list_id(db, list_name)
                rows = db.execute(
                    "SELECT c.id, c.number, c.timezone, c.fields, c.dead,"
                    " cc.status, cc.next_due_at, cc.final_outcome"
                    " FROM contacts c LEFT JOIN campaign_contacts cc"
                    " ON cc.contact_id = c.id AND cc.campaign_id = ?"
                    " WHERE c.list_id = ? AND c.id > ? ORDER BY c.id LIMIT ?",
                    (campaign_id if campaign_id is not None else -1, found, after, batch_size),
                ).fetchall()
            if not rows:
                return
            after = rows[-1]["id"]
            yield [due_view(r) for r in rows]
            await asyncio.sleep(0)
