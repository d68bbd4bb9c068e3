"""Which process drives a campaign, on PostgreSQL: one hold per campaign, taken
atomically (the campaign's hold row locked, compare-and-swap on the holder's token),
renewed by the holder's heartbeat, released when it stops. Part of CampaignLedger."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from dialer.store.base import CampaignHold
from dialer.store.column_values import ts
from dialer.store.postgres.connection import PgRole
from dialer.store.postgres.rows import require_campaign
from dialer.store.row_records import hold_record

_HOLD_COLUMNS = "token, host, pid, since, seen_at, expires_at"


class PgCampaignHolds(PgRole):
    async def campaign_hold(self, campaign_id: int) -> CampaignHold | None:
        async with self._conn.read() as db:
            return await _hold(db, campaign_id, "")

    async def take_hold(
        self, campaign_id: int, hold: CampaignHold, replacing: str | None
    ) -> CampaignHold | None:
        async with self._conn.write() as db:
            await require_campaign(db, campaign_id)
            # The campaign's row locked: two takers of a campaign with no hold yet queue.
            await db.execute("SELECT 1 FROM campaigns WHERE id = $1 FOR UPDATE", campaign_id)
            current = await _hold(db, campaign_id, " FOR UPDATE")
            if current is not None and current.token != replacing:
                return current
            await db.execute(
                f"INSERT INTO campaign_holds (campaign_id, {_HOLD_COLUMNS})"
                " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (campaign_id) DO UPDATE SET"
                " token = excluded.token, host = excluded.host, pid = excluded.pid,"
                " since = excluded.since, seen_at = excluded.seen_at,"
                " expires_at = excluded.expires_at",
                campaign_id,
                hold.token,
                hold.host,
                hold.pid,
                ts(hold.since),
                ts(hold.seen_at),
                ts(hold.expires_at),
            )
        return None

    async def renew_hold(
        self, campaign_id: int, token: str, seen_at: datetime, expires_at: datetime
    ) -> bool:
        async with self._conn.write() as db:
            done = await db.execute(
                "UPDATE campaign_holds SET seen_at = $1, expires_at = $2"
                " WHERE campaign_id = $3 AND token = $4",
                ts(seen_at),
                ts(expires_at),
                campaign_id,
                token,
            )
        return bool(done == "UPDATE 1")

    async def release_hold(self, campaign_id: int, token: str) -> None:
        async with self._conn.write() as db:
            await db.execute(
                "DELETE FROM campaign_holds WHERE campaign_id = $1 AND token = $2",
                campaign_id,
                token,
            )


async def _hold(db: asyncpg.Connection, campaign_id: int, lock: str) -> CampaignHold | None:
    row = await db.fetchrow(
        f"SELECT {_HOLD_COLUMNS} FROM campaign_holds WHERE campaign_id = $1{lock}", campaign_id
    )
    return None if row is None else hold_record(row)
