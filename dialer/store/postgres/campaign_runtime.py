"""CampaignLedger on PostgreSQL, the runtime state a campaign keeps across restarts and
its progress (the holds come from campaign_holds.py)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from dialer.store.base import CampaignProgress
from dialer.store.column_values import dt, from_json, to_json, ts
from dialer.store.postgres.campaign_holds import PgCampaignHolds
from dialer.store.postgres.rows import require_campaign
from dialer.store.row_summaries import campaign_progress


class PgCampaignRuntime(PgCampaignHolds):
    async def save_runtime(
        self,
        campaign_id: int,
        ledger: Mapping[str, object],
        status: Mapping[str, object],
        now: datetime,
    ) -> None:
        async with self._conn.write() as db:
            await db.execute(
                "INSERT INTO campaign_runtime (campaign_id, ledger, status, updated_at)"
                " VALUES ($1, $2::jsonb, $3::jsonb, $4) ON CONFLICT (campaign_id) DO UPDATE SET"
                " ledger = excluded.ledger, status = excluded.status,"
                " updated_at = excluded.updated_at",
                campaign_id,
                to_json(ledger),
                to_json(status),
                ts(now),
            )

    async def load_runtime(
        self, campaign_id: int
    ) -> tuple[dict[str, object], dict[str, object], datetime | None]:
        async with self._conn.read() as db:
            row = await db.fetchrow(
                "SELECT ledger, status, updated_at FROM campaign_runtime WHERE campaign_id = $1",
                campaign_id,
            )
        if row is None:
            return {}, {}, None
        return from_json(row[0]), from_json(row[1]), dt(row[2])

    async def progress(self, campaign_id: int, now: datetime) -> CampaignProgress:
        by_status: dict[str, tuple[int, int, float | None]] = {}
        async with self._conn.read() as db:
            await require_campaign(db, campaign_id)
            for status, count, due, earliest in await db.fetch(
                "SELECT status, count(*), count(*) FILTER (WHERE next_due_at <= $1),"
                " min(next_due_at) FROM campaign_contacts WHERE campaign_id = $2"
                " GROUP BY status",
                ts(now),
                campaign_id,
            ):
                by_status[status] = (count, due, earliest)
            outcomes = {
                r[0]: r[1]
                for r in await db.fetch(
                    "SELECT outcome, count(*) FROM attempts"
                    " WHERE campaign_id = $1 AND outcome IS NOT NULL GROUP BY outcome",
                    campaign_id,
                )
            }
        return campaign_progress(by_status, outcomes)
