"""Reports on SQLite, the base as a whole: every contact's standing across campaigns
(the list filter reads it, `dialer contacts stats` counts it) and what one campaign
changed in the base."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

from dialer.outcomes import Outcome
from dialer.store.base import BaseStats, CampaignChanges, ContactFacts, StoreError
from dialer.store.row_summaries import base_stats_of, changes_from_notes, contact_facts
from dialer.store.sqlite.connection import SqliteRole
from dialer.store.sqlite.rows import find_campaign, list_id

REACHED = (Outcome.ANSWERED.value, Outcome.TRANSFERRED.value)


class SqliteBaseViews(SqliteRole):
    """Part of Reports (see dialer.store.base for the contract)."""

    async def contact_facts_batches(
        self, list_name: str, batch_size: int = 5000
    ) -> AsyncIterator[list[ContactFacts]]:
        after = 0
        with self._conn.read() as db:
            on_list = list_id(db, list_name)
            # A list no campaign ever used (a freshly built one) has no standing to read.
            called = db.execute("SELECT 1 FROM campaigns WHERE list_id = ?", (on_list,)).fetchone()
        while True:
            with self._conn.read() as db:
                rows = db.execute(
                    "SELECT c.id, c.fields, c.dead,"
                    " EXISTS (SELECT 1 FROM do_not_call d WHERE d.number = c.number) AS dnc,"
                    " json_extract(c.fields, '$.temperature') AS temperature"
                    " FROM contacts c WHERE c.list_id = ? AND c.id > ? ORDER BY c.id LIMIT ?",
                    (on_list, after, batch_size),
                ).fetchall()
                if not rows:
                    return
                first, after = rows[0][0], rows[-1][0]
                standing = _campaign_standing(db, first, after) if called else {}
            yield [contact_facts(row, standing.get(row[0])) for row in rows]
            await asyncio.sleep(0)  # let calls in progress be served between pages

    async def base_stats(self, list_name: str | None = None) -> BaseStats:
        if list_name is None:
            names = [r[0] for r in self._conn.db.execute("SELECT name FROM lists ORDER BY id")]
        else:
            names = [list_name]
        return await base_stats_of(self.contact_facts_batches(name) for name in names)

    async def campaign_changes(self, campaign_id: int) -> CampaignChanges:
        with self._conn.read() as db:
            record = find_campaign(db, "c.id = ?", (campaign_id,))
            if record is None:
                raise StoreError(f"no campaign with id {campaign_id}")
            (called,) = db.execute(
                "SELECT count(DISTINCT contact_id) FROM attempts"
                " WHERE campaign_id = ? AND ended_at IS NOT NULL",
                (campaign_id,),
            ).fetchone()
            (reached,) = db.execute(
                "SELECT count(*) FROM campaign_contacts WHERE campaign_id = ?"
                " AND final_outcome IN (?, ?)",
                (campaign_id, *REACHED),
            ).fetchone()
            notes = db.execute(
                "SELECT contact_id, changes FROM attempts"
                " WHERE campaign_id = ? AND changes != '{}' ORDER BY ended_at, rowid",
                (campaign_id,),
            ).fetchall()
        return changes_from_notes(record, called, reached, notes)


def _campaign_standing(db: sqlite3.Connection, first: int, last: int) -> dict[int, sqlite3.Row]:
    """Per contact id in [first, last]: its rows in every campaign, summed. A range, not
    a list of ids: one index range scan per page (contacts of other lists in it are
    looked up and never asked for)."""
    rows = db.execute(
        "SELECT contact_id, sum(status != 'done') AS waiting,"
        " sum(final_outcome IN (?, ?)) AS reached, sum(attempts) AS attempts,"
        # the one max() makes last_outcome the value of the row holding it
        " max(last_attempt_at) AS last_at, last_outcome"
        " FROM campaign_contacts WHERE contact_id BETWEEN ? AND ? GROUP BY contact_id",
        (*REACHED, first, last),
    ).fetchall()
    return {row[0]: row for row in rows}
