"""CampaignFiles and ApiTokens on SQLite: what the service keeps (migration 6)."""

from __future__ import annotations

from datetime import datetime

from dialer.store.base import StoreError
from dialer.store.column_values import ts
from dialer.store.row_records import file_record, token_record, wanted_state
from dialer.store.service_roles import (
    TOKEN_ROLES,
    WANTED_STATES,
    ApiToken,
    CampaignFile,
    WantedState,
)
from dialer.store.sqlite.connection import SqliteRole


class SqliteCampaignFiles(SqliteRole):
    async def add_campaign_file(
        self, name: str, content: str, source: str, now: datetime, added_by: str
    ) -> int:
        with self._conn.write() as db:
            row = db.execute(
                "SELECT coalesce(max(version), 0) FROM campaign_files WHERE name = ?", (name,)
            ).fetchone()
            version = int(row[0]) + 1
            db.execute(
                "INSERT INTO campaign_files (name, version, content, source, added_at, added_by)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (name, version, content, source, ts(now), added_by),
            )
        return version

    async def campaign_file(self, name: str) -> CampaignFile | None:
        row = self._conn.db.execute(
            "SELECT name, version, content, source, added_at, added_by FROM campaign_files"
            " WHERE name = ? ORDER BY version DESC LIMIT 1",
            (name,),
        ).fetchone()
        return None if row is None else file_record(row)

    async def campaign_file_names(self) -> list[str]:
        rows = self._conn.db.execute("SELECT DISTINCT name FROM campaign_files ORDER BY name")
        return [r[0] for r in rows]

    async def set_wanted_state(self, name: str, wanted: str, now: datetime, by: str) -> None:
        if wanted not in WANTED_STATES:
            raise StoreError(f"wanted state {wanted!r} is not one of {', '.join(WANTED_STATES)}")
        with self._conn.write() as db:
            db.execute(
                "INSERT INTO campaign_wanted (name, wanted, changed_at, changed_by)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
                " wanted = excluded.wanted, changed_at = excluded.changed_at,"
                " changed_by = excluded.changed_by",
                (name, wanted, ts(now), by),
            )

    async def wanted_states(self) -> dict[str, WantedState]:
        rows = self._conn.db.execute(
            "SELECT name, wanted, changed_at, changed_by FROM campaign_wanted"
        )
        return {r["name"]: wanted_state(r) for r in rows}


class SqliteApiTokens(SqliteRole):
    async def add_api_token(self, token_hash: str, role: str, name: str, now: datetime) -> int:
        if role not in TOKEN_ROLES:
            raise StoreError(f"role {role!r} is not one of {', '.join(TOKEN_ROLES)}")
        with self._conn.write() as db:
            cur = db.execute(
                "INSERT INTO api_tokens (token_hash, role, name, created_at) VALUES (?, ?, ?, ?)",
                (token_hash, role, name, ts(now)),
            )
            return int(cur.lastrowid or 0)

    async def api_token(self, token_hash: str) -> ApiToken | None:
        row = self._conn.db.execute(
            "SELECT id, role, name, created_at, revoked_at FROM api_tokens"
            " WHERE token_hash = ? AND revoked_at IS NULL",
            (token_hash,),
        ).fetchone()
        return None if row is None else token_record(row)

    async def api_tokens(self) -> list[ApiToken]:
        rows = self._conn.db.execute(
            "SELECT id, role, name, created_at, revoked_at FROM api_tokens ORDER BY id"
        )
        return [token_record(r) for r in rows]

    async def revoke_api_token(self, token_id: int, now: datetime) -> bool:
        with self._conn.write() as db:
            cur = db.execute(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (ts(now), token_id),
            )
            return cur.rowcount == 1
