"""Reports on PostgreSQL: read-only views of the campaigns and their history."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from dialer.outcomes import Outcome
from dialer.store.base import AttemptRecord, CampaignFunnel, CampaignRecord, ContactReport
from dialer.store.column_values import CAMPAIGN_COLUMNS, CONTACT_COLUMNS, campaign_record
from dialer.store.postgres.base_views import PgBaseViews
from dialer.store.postgres.call_histories import PgCallHistories
from dialer.store.postgres.do_not_call import on_do_not_call
from dialer.store.postgres.due_view import PgDueView
from dialer.store.postgres.rows import find_campaign, require_campaign
from dialer.store.row_records import attempt_record, report_line

# The lead funnel in one statement (CampaignFunnel.of_counts reads its rows, only a few):
# contacts by last outcome (index campaign_contacts_outcome), and the temperature of each
# called contact's last closed attempt (the report's last_answers: latest ended_at, then
# latest seq), the first row per contact in the order of the index attempts_ended. The
# jsonb value goes out as its JSON text, as SQLite's -> gives it.
FUNNEL_QUERY = """
SELECT 'outcome' AS kind, last_outcome AS value, count(*) AS n
  FROM campaign_contacts WHERE campaign_id = $1 GROUP BY last_outcome
UNION ALL
SELECT 'temperature', temperature, count(*) FROM (
  SELECT DISTINCT ON (contact_id) (answers -> 'temperature')::text AS temperature
    FROM attempts WHERE campaign_id = $1 AND ended_at IS NOT NULL
    ORDER BY contact_id, ended_at DESC, seq DESC) called
  GROUP BY temperature
"""


class PgReports(PgCallHistories, PgDueView, PgBaseViews):
    """Reports on the shared pool (see dialer.store.base for the contract)."""

    async def get_campaign(self, name: str) -> CampaignRecord | None:
        async with self._conn.read() as db:
            return await find_campaign(db, "c.name = $1", name)

    async def campaigns(self) -> list[CampaignRecord]:
        async with self._conn.read() as db:
            rows = await db.fetch(
                f"SELECT {CAMPAIGN_COLUMNS} FROM campaigns c JOIN lists l ON l.id = c.list_id"
                " ORDER BY c.id"
            )
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
            async with self._conn.read() as db:
                await require_campaign(db, campaign_id)
                rows = await db.fetch(
                    f"SELECT {CONTACT_COLUMNS}, cc.status, cc.attempts, cc.last_outcome,"
                    " cc.last_cause, cc.final_outcome, cc.next_due_at, cc.last_attempt_at,"
                    f" {on_do_not_call('$1')} AS dnc,"
                    " (SELECT a.answers FROM attempts a WHERE a.campaign_id = cc.campaign_id"
                    "  AND a.contact_id = cc.contact_id AND a.ended_at IS NOT NULL"
                    "  ORDER BY a.ended_at DESC, a.seq DESC LIMIT 1) AS last_answers"
                    " FROM campaign_contacts cc JOIN contacts c ON c.id = cc.contact_id"
                    " WHERE cc.campaign_id = $1 AND cc.contact_id > $2"
                    " ORDER BY cc.contact_id LIMIT $3",
                    campaign_id,
                    after,
                    batch_size,
                )
            if not rows:
                return
            after = rows[-1]["id"]
            yield [report_line(r) for r in rows]
            await asyncio.sleep(0)

    async def campaign_funnel(self, campaign_id: int) -> CampaignFunnel:
        async with self._conn.read() as db:
            await require_campaign(db, campaign_id)
            rows = await db.fetch(FUNNEL_QUERY, campaign_id)
        return CampaignFunnel.of_counts((r["kind"], r["value"], r["n"]) for r in rows)

    async def attempt_outcomes(self, campaign_id: int) -> dict[Outcome, int]:
        async with self._conn.read() as db:
            await require_campaign(db, campaign_id)
            rows = await db.fetch(
                "SELECT outcome, count(*) AS n FROM attempts"
                " WHERE campaign_id = $1 AND outcome IS NOT NULL GROUP BY outcome",
                campaign_id,
            )
        return {Outcome(r["outcome"]): r["n"] for r in rows}

    async def attempt_details_count(
        self, campaign_id: int, outcome: Outcome, detail_prefix: str
    ) -> int:
        async with self._conn.read() as db:
            await require_campaign(db, campaign_id)
            count = await db.fetchval(
                "SELECT count(*) FROM attempts WHERE campaign_id = $1 AND outcome = $2"
                " AND left(detail, $3) = $4",
                campaign_id,
                outcome.value,
                len(detail_prefix),
                detail_prefix,
            )
        return int(count)

    async def attempts(self, campaign_id: int) -> list[AttemptRecord]:
        async with self._conn.read() as db:
            await require_campaign(db, campaign_id)
            rows = await db.fetch(
                "SELECT a.id, c.name AS campaign, a.contact_id, a.number, a.started_at,"
                " a.answered_at, a.ended_at, a.outcome, a.cause, a.reason, a.detail, a.answers"
                " FROM attempts a JOIN campaigns c ON c.id = a.campaign_id"
                " WHERE a.campaign_id = $1 ORDER BY a.started_at, a.seq",
                campaign_id,
            )
        return [attempt_record(r) for r in rows]
