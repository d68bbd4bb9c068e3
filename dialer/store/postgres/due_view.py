"""Reports on PostgreSQL: where each contact of a campaign's list stands, for `dialer
preview` (what would be called at a given moment, and why not)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from dialer.store.due_view import DueView
from dialer.store.postgres.connection import PgRole
from dialer.store.postgres.rows import list_id
from dialer.store.row_records import due_view


class PgDueView(PgRole):
    async def due_view_batches(
        self, list_name: str, campaign_id: int | None, batch_size: int = 5000
    ) -> AsyncIterator[list[DueView]]:
        after = 0
        while True:
            async with self._conn.read() as db:
                found = await list_id(db, list_name)
                rows = await db.fetch(
                    "SELECT c.id, c.number, c.timezone, c.fields, c.dead,"
                    " cc.status, cc.next_due_at, cc.final_outcome"
                    " FROM contacts c LEFT JOIN campaign_contacts cc"
                    " ON cc.contact_id = c.id AND cc.campaign_id = $1"
                    " WHERE c.list_id = $2 AND c.id > $3 ORDER BY c.id LIMIT $4",
                    campaign_id if campaign_id is not None else -1,
                    found,
                    after,
                    batch_size,
                )
            if not rows:
                return
            after = rows[-1]["id"]
            yield [due_view(r) for r in rows]
            await asyncio.sleep(0)
