"""Reports on SQLite: read-only views of the campaigns and their history."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator

from dialer.outcomes import Outcome
from dialer.store.base import AttemptRecord, CampaignFunnel, CampaignRecord, ContactReport
from dialer.store.column_values import CAMPAIGN_COLUMNS, CONTACT_COLUMNS, campaign_record
from dialer.store.row_records import attempt_record, report_line
from dialer.store.sqlite.base_views import SqliteBaseViews
from dialer.store.sqlite.call_histories import SqliteCallHistories
from dialer.store.sqlite.do_not_call import ON_DO_NOT_CALL
from dialer.store.sqlite.due_view import SqliteDueView
from dialer.store.sqlite.rows import find_campaign, require_campaign

# The lead funnel in one statement (CampaignFunnel.of_counts reads its rows): contacts by
# last outcome from the index campaign_contacts_outcome alone, and the temperature of
# each called contact's last closed attempt (the report's last_answers: latest ended_at,
# then latest rowid), found at the end of the index attempts_ended. Only contacts with a
# closed attempt are looked up; LIMIT -1 keeps SQLite from flattening that subquery into
# the GROUP BY, which would look each contact's last attempt up twice.
FUNNEL_QUERY = """
SELECT 'outcome' AS kind, last_outcome AS value, count(*) AS n
  FROM campaign_contacts WHERE campaign_id = ?1 GROUP BY last_outcome
UNION ALL
SELECT 'temperature', temperature, count(*) FROM (
  SELECT (SELECT a.answers -> '$.temperature' FROM attempts a
          WHERE a.campaign_id = ?1 AND a.contact_id = called.contact_id
          AND a.ended_at IS NOT NULL ORDER BY a.ended_at DESC, a.rowid DESC LIMIT 1)
         AS temperature
    FROM (SELECT DISTINCT contact_id FROM attempts
          WHERE campaign_id = ?1 AND ended_at IS NOT NULL) called
  LIMIT -1)
  GROUP BY temperature
"""


class SqliteReports(SqliteCallHistories, SqliteDueView, SqliteBaseViews):
    """Reports on the shared connection (see dialer.store.base for the contract); each
    number's calls across campaigns come from call_histories.py, where each contact of a
    list stands from due_view.py, the base as a whole from base_views.py."""

    async def get_campaign(self, name: str) -> CampaignRecord | None:
        return find_campaign(self._conn.db, "c.name = ?", (name,))

    async def campaigns(self) -> list[CampaignRecord]:
        rows = self._conn.db.execute(
            f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns c JOIN lists l ON l.id = c.list_id"
            " ORDER BY c.id"
        ).fetchall()
        return [campaign_record(r) for r in rows]

    async def contact_report(self, campaign_id: int) -> list[ContactReport]:
        found: list[ContactReport] = []
        async for batch in self.contact_report_batches(campaign_id, 10_000):
            found += batch
        return found

    async def contact_report_batches(
        self, campaign_id: int, batch_size: int = 2000
    ) -> AsyncIterator[list[ContactReport]]:
        after = 0
        while True:
            with self._conn.read() as db:
                require_campaign(db, campaign_id)
                rows = db.execute(
                    f"SELECT {CONTACT_COLUMNS}, cc.status, cc.attempts, cc.last_outcome,"
                    " cc.last_cause, cc.final_outcome, cc.next_due_at, cc.last_attempt_at,"
                    f" {ON_DO_NOT_CALL} AS dnc,"
                    " (SELECT a.answers FROM attempts a WHERE a.campaign_id = cc.campaign_id"
                    "  AND a.contact_id = cc.contact_id AND a.ended_at IS NOT NULL"
                    "  ORDER BY a.ended_at DESC, a.rowid DESC LIMIT 1) AS last_answers"
                    " FROM campaign_contacts cc JOIN contacts c ON c.id = cc.contact_id"
                    " WHERE cc.campaign_id = ? AND cc.contact_id > ?"
                    " ORDER BY cc.contact_id LIMIT ?",
                    (campaign_id, campaign_id, after, batch_size),
                ).fetchall()
            if not rows:
                return
            after = rows[-1]["id"]
            yield [report_line(r) for r in rows]
            await asyncio.sleep(0)  # let calls in progress be served between pages

    async def campaign_funnel(self, campaign_id: int) -> CampaignFunnel:
        def count(db: sqlite3.Connection) -> list[sqlite3.Row]:
            require_campaign(db, campaign_id)
            return db.execute(FUNNEL_QUERY, (campaign_id,)).fetchall()

        # An index entry per contact: ~0.2 s for 200,000, too long to hold the event loop.
        rows = await self._conn.read_apart(count)
        return CampaignFunnel.of_counts((r["kind"], r["value"], r["n"]) for r in rows)

    async def attempt_outcomes(self, campaign_id: int) -> dict[Outcome, int]:
        with self._conn.read() as db:
            require_campaign(db, campaign_id)
            rows = db.execute(
                "SELECT outcome, COUNT(*) AS n FROM attempts"
                " WHERE campaign_id = ? AND outcome IS NOT NULL GROUP BY outcome",
                (campaign_id,),
            ).fetchall()
        return {Outcome(r["outcome"]): r["n"] for r in rows}

    async def attempt_details_count(
        self, campaign_id: int, outcome: Outcome, detail_prefix: str
    ) -> int:
        with self._conn.read() as db:
            require_campaign(db, campaign_id)
            row = db.execute(
                "SELECT COUNT(*) AS n FROM attempts WHERE campaign_id = ? AND outcome = ?"
                " AND substr(detail, 1, ?) = ?",
                (campaign_id, outcome.value, len(detail_prefix), detail_prefix),
            ).fetchone()
        return int(row["n"])

    async def attempts(self, campaign_id: int) -> list[AttemptRecord]:
        with self._conn.read() as db:
            require_campaign(db, campaign_id)
            rows = db.execute(
                "SELECT a.id, c.name AS campaign, a.contact_id, a.number, a.started_at,"
                " a.answered_at,"
                " a.ended_at, a.outcome, a.cause, a.reason, a.detail, a.answers"
                " FROM attempts a JOIN campaigns c ON c.id = a.campaign_id"
                " WHERE a.campaign_id = ? ORDER BY a.started_at, a.rowid",
                (campaign_id,),
            ).fetchall()
        return [attempt_record(r) for r in rows]
