"""Which process drives a campaign, on SQLite: one hold per campaign, taken atomically
(compare-and-swap on the holder's token inside one write transaction), renewed by the
holder's heartbeat, released when it stops. Part of the CampaignLedger role."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from dialer.store.base import CampaignHold
from dialer.store.column_values import ts
from dialer.store.row_records import hold_record
from dialer.store.sqlite.connection import SqliteRole
from dialer.store.sqlite.rows import require_campaign

_HOLD_COLUMNS = "token, host, pid, since, seen_at, expires_at"


class SqliteCampaignHolds(SqliteRole):
    async def campaign_hold(self, campaign_id: int) -> CampaignHold | None:
        return _hold(self._conn.db, campaign_id)

    async def take_hold(
        self, campaign_id: int, hold: CampaignHold, replacing: str | None
    ) -> CampaignHold | None:
        with self._conn.write() as db:
            require_campaign(db, campaign_id)
            current = _hold(db, campaign_id)
            if current is not None and current.token != replacing:
                return current
            db.execute(
                f"INSERT INTO campaign_holds (campaign_id, {_HOLD_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id) DO UPDATE SET"
                " token = excluded.token, host = excluded.host, pid = excluded.pid,"
                " since = excluded.since, seen_at = excluded.seen_at,"
                " expires_at = excluded.expires_at",
                (
                    campaign_id,
                    hold.token,
                    hold.host,
                    hold.pid,
                    ts(hold.since),
                    ts(hold.seen_at),
                    ts(hold.expires_at),
                ),
            )
        return None

    async def renew_hold(
        self, campaign_id: int, token: str, seen_at: datetime, expires_at: datetime
    ) -> bool:
        with self._conn.write() as db:
            cur = db.execute(
                "UPDATE campaign_holds SET seen_at = ?, expires_at = ?"
                " WHERE campaign_id = ? AND token = ?",
                (ts(seen_at), ts(expires_at), campaign_id, token),
            )
            return cur.rowcount == 1

    async def release_hold(self, campaign_id: int, token: str) -> None:
        with self._conn.write() as db:
            db.execute(
                "DELETE FROM campaign_holds WHERE campaign_id = ? AND token = ?",
                (campaign_id, token),
            )


def _hold(db: sqlite3.Connection, campaign_id: int) -> CampaignHold | None:
    row = db.execute(
        f"SELECT {_HOLD_COLUMNS} FROM campaign_holds WHERE campaign_id = ?", (campaign_id,)
    ).fetchone()
    return None if row is None else hold_record(row)
