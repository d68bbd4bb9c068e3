"""Reports on PostgreSQL, the base as a whole: every contact's standing across campaigns
(the list filter reads it, `dialer contacts stats` counts it) and what one campaign
changed in the base."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg

from dialer.outcomes import Outcome
from dialer.store.base import BaseStats, CampaignChanges, ContactFacts, StoreError
from dialer.store.postgres.connection import PgRole
from dialer.store.postgres.rows import find_campaign, list_id
from dialer.store.row_summaries import base_stats_of, changes_from_notes, contact_facts

REACHED = [Outcome.ANSWERED.value, Outcome.TRANSFERRED.value]


class PgBaseViews(PgRole):
    """Part of Reports (see dialer.store.base for the contract)."""

    async def contact_facts_batches(
        self, list_name: str, batch_size: int = 5000
    ) -> AsyncIterator[list[ContactFacts]]:
        after = 0
        async with self._conn.read() as db:
            on_list = await list_id(db, list_name)
            called = await db.fetchval("SELECT 1 FROM campaigns WHERE list_id = $1", on_list)
        while True:
            async with self._conn.read() as db:
                rows = await db.fetch(
                    "SELECT c.id, c.fields::text, c.dead,"
                    " EXISTS (SELECT 1 FROM do_not_call d WHERE d.number = c.number) AS dnc,"
                    " c.fields ->> 'temperature' AS temperature"
                    " FROM contacts c WHERE c.list_id = $1 AND c.id > $2 ORDER BY c.id LIMIT $3",
                    on_list,
                    after,
                    batch_size,
                )
                if not rows:
                    return
                first, after = rows[0][0], rows[-1][0]
                standing = await _campaign_standing(db, first, after) if called else {}
            yield [contact_facts(row, standing.get(row[0])) for row in rows]
            await asyncio.sleep(0)

    async def base_stats(self, list_name: str | None = None) -> BaseStats:
        if list_name is None:
            async with self._conn.read() as db:
                names = [r[0] for r in await db.fetch("SELECT name FROM lists ORDER BY id")]
        else:
            names = [list_name]
        return await base_stats_of(self.contact_facts_batches(name) for name in names)

    async def campaign_changes(self, campaign_id: int) -> CampaignChanges:
        async with self._conn.read() as db:
            record = await find_campaign(db, "c.id = $1", campaign_id)
            if record is None:
                raise StoreError(f"no campaign with id {campaign_id}")
            called = await db.fetchval(
                "SELECT count(DISTINCT contact_id) FROM attempts"
                " WHERE campaign_id = $1 AND ended_at IS NOT NULL",
                campaign_id,
            )
            reached = await db.fetchval(
                "SELECT count(*) FROM campaign_contacts WHERE campaign_id = $1"
                " AND final_outcome = ANY($2::text[])",
                campaign_id,
                REACHED,
            )
            notes = await db.fetch(
                "SELECT contact_id, changes::text FROM attempts"
                " WHERE campaign_id = $1 AND changes <> '{}'::jsonb ORDER BY ended_at, seq",
                campaign_id,
            )
        return changes_from_notes(record, called, reached, notes)


async def _campaign_standing(
    db: asyncpg.Connection, first: int, last: int
) -> dict[int, asyncpg.Record]:
    """Per contact id in [first, last]: its rows in every campaign, summed (one index
    range scan per page)."""
    rows = await db.fetch(
        "SELECT contact_id, count(*) FILTER (WHERE status <> 'done') AS waiting,"
        " count(*) FILTER (WHERE final_outcome = ANY($1::text[])) AS reached,"
        " sum(attempts)::bigint AS attempts, max(last_attempt_at) AS last_at,"
        " (array_agg(last_outcome ORDER BY last_attempt_at DESC NULLS LAST))[1] AS last_outcome"
        " FROM campaign_contacts WHERE contact_id BETWEEN $2 AND $3 GROUP BY contact_id",
        REACHED,
        first,
        last,
    )
    return {row[0]: row for row in rows}
