"""CampaignFiles, ApiTokens and AuditLog on PostgreSQL: what the service keeps, and who
took contact data out of the base."""

from __future__ import annotations

from datetime import datetime

from dialer.store.base import AuditEntry, StoreError
from dialer.store.column_values import ts
from dialer.store.postgres.connection import PgRole
from dialer.store.row_records import audit_entry, file_record, token_record, wanted_state
from dialer.store.service_roles import (
    TOKEN_ROLES,
    WANTED_STATES,
    ApiToken,
    CampaignFile,
    WantedState,
)


class PgCampaignFiles(PgRole):
    async def add_campaign_file(
        self, name: str, content: str, source: str, now: datetime, added_by: str
    ) -> int:
        async with self._conn.write() as db:
            # Two nodes registering one name at once: the second waits, then counts on.
            await db.execute(
                "SELECT pg_advisory_xact_lock(hashtext('campaign_files:' || $1))", name
            )
            version = 1 + int(
                await db.fetchval(
                    "SELECT coalesce(max(version), 0) FROM campaign_files WHERE name = $1", name
                )
            )
            await db.execute(
                "INSERT INTO campaign_files (name, version, content, source, added_at, added_by)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                name, version, content, source, ts(now), added_by,
            )  # fmt: skip
        return version

    async def campaign_file(self, name: str) -> CampaignFile | None:
        async with self._conn.read() as db:
            row = await db.fetchrow(
                "SELECT name, version, content, source, added_at, added_by FROM campaign_files"
                " WHERE name = $1 ORDER BY version DESC LIMIT 1",
                name,
            )
        return None if row is None else file_record(row)

    async def campaign_file_names(self) -> list[str]:
        async with self._conn.read() as db:
            rows = await db.fetch("SELECT DISTINCT name FROM campaign_files ORDER BY name")
        return [r[0] for r in rows]

    async def set_wanted_state(self, name: str, wanted: str, now: datetime, by: str) -> None:
        if wanted not in WANTED_STATES:
            raise StoreError(f"wanted state {wanted!r} is not one of {', '.join(WANTED_STATES)}")
        async with self._conn.write() as db:
            await db.execute(
                "INSERT INTO campaign_wanted (name, wanted, changed_at, changed_by)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET"
                " wanted = excluded.wanted, changed_at = excluded.changed_at,"
                " changed_by = excluded.changed_by",
                name, wanted, ts(now), by,
            )  # fmt: skip

    async def wanted_states(self) -> dict[str, WantedState]:
        async with self._conn.read() as db:
            rows = await db.fetch(
                "SELECT name, wanted, changed_at, changed_by FROM campaign_wanted"
            )
        return {r["name"]: wanted_state(r) for r in rows}


class PgApiTokens(PgRole):
    async def add_api_token(self, token_hash: str, role: str, name: str, now: datetime) -> int:
        if role not in TOKEN_ROLES:
            raise StoreError(f"role {role!r} is not one of {', '.join(TOKEN_ROLES)}")
        async with self._conn.write() as db:
            found = await db.fetchval(
                "INSERT INTO api_tokens (token_hash, role, name, created_at)"
                " VALUES ($1, $2, $3, $4) RETURNING id",
                token_hash, role, name, ts(now),
            )  # fmt: skip
        return int(found)

    async def api_token(self, token_hash: str) -> ApiToken | None:
        async with self._conn.read() as db:
            row = await db.fetchrow(
                "SELECT id, role, name, created_at, revoked_at FROM api_tokens"
                " WHERE token_hash = $1 AND revoked_at IS NULL",
                token_hash,
            )
        return None if row is None else token_record(row)

    async def api_tokens(self) -> list[ApiToken]:
        async with self._conn.read() as db:
            rows = await db.fetch(
                "SELECT id, role, name, created_at, revoked_at FROM api_tokens ORDER BY id"
            )
        return [token_record(r) for r in rows]

    async def revoke_api_token(self, token_id: int, now: datetime) -> bool:
        async with self._conn.write() as db:
            done = await db.execute(
                "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                ts(now),
                token_id,
            )
        return bool(done == "UPDATE 1")


class PgAuditLog(PgRole):
    async def record_audit(
        self, at: datetime, actor: str, action: str, subject: str, detail: str, rows: int
    ) -> None:
        async with self._conn.write() as db:
            await db.execute(
                "INSERT INTO audit_log (at, actor, action, subject, detail, rows)"
                " VALUES ($1, $2, $3, $4, $5, $6)",
                ts(at), actor, action, subject, detail, rows,
            )  # fmt: skip

    async def audit_entries(self, limit: int = 100) -> list[AuditEntry]:
        async with self._conn.read() as db:
            rows = await db.fetch(
                "SELECT at, actor, action, subject, detail, rows FROM audit_log"
                " ORDER BY id DESC LIMIT $1",
                limit,
            )
        return [audit_entry(r) for r in rows]
