"""AuditLog on SQLite: one row per export of contact data."""

from __future__ import annotations

from datetime import datetime

from dialer.store.base import AuditEntry
from dialer.store.column_values import ts
from dialer.store.row_records import audit_entry
from dialer.store.sqlite.connection import SqliteRole


class SqliteAuditLog(SqliteRole):
    async def record_audit(
        self, at: datetime, actor: str, action: str, subject: str, detail: str, rows: int
    ) -> None:
        with self._conn.write() as db:
            db.execute(
                "INSERT INTO audit_log (at, actor, action, subject, detail, rows)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (ts(at), actor, action, subject, detail, rows),
            )

    async def audit_entries(self, limit: int = 100) -> list[AuditEntry]:
        rows = self._conn.db.execute(
            "SELECT at, actor, action, subject, detail, rows FROM audit_log"
            " ORDER BY id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [audit_entry(r) for r in rows]
