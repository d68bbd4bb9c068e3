"""WebhookOutbox on SQLite: the durable queue of webhook deliveries (migration 10)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from dialer.store.column_values import ts
from dialer.store.outbox_role import (
    FailedDelivery,
    NewWebhookEvent,
    PendingWebhook,
    ReceiverState,
    WebhookBacklog,
)
from dialer.store.row_records import failed_delivery, pending_webhook, receiver_state
from dialer.store.sqlite.connection import SqliteRole


def queue_webhook_events(
    db: sqlite3.Connection, events: Sequence[NewWebhookEvent], now: datetime
) -> int:
    """Queue events inside the caller's transaction (an attempt's close queues its events
    in its own); an event id already queued for that URL is kept once."""
    added = 0
    for e in events:
        cur = db.execute(
            "INSERT INTO webhook_outbox (event_id, campaign, kind, url, secret_env, body,"
            " created_at, next_try_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (event_id, url) DO NOTHING",
            (e.event_id, e.campaign, e.kind, e.url, e.secret_env, e.body, ts(now), ts(now)),
        )
        added += cur.rowcount
    return added


class SqliteWebhookOutbox(SqliteRole):
    async def add_webhook_events(self, events: Sequence[NewWebhookEvent], now: datetime) -> int:
        with self._conn.write() as db:
            return queue_webhook_events(db, events, now)

    async def due_webhook_events(self, now: datetime, limit: int) -> list[PendingWebhook]:
        rows = self._conn.db.execute(
            "SELECT id, event_id, campaign, kind, url, secret_env, body, tries, next_try_at"
            " FROM webhook_outbox WHERE delivered_at IS NULL AND next_try_at <= ?"
            " ORDER BY next_try_at, id LIMIT ?",
            (ts(now), limit),
        )
        return [pending_webhook(r) for r in rows]

    async def webhook_delivered(self, outbox_id: int, now: datetime) -> None:
        with self._conn.write() as db:
            db.execute(
                "UPDATE webhook_outbox SET delivered_at = ? WHERE id = ?", (ts(now), outbox_id)
            )

    async def webhook_failed(self, outbox_id: int, error: str, next_try_at: datetime) -> None:
        with self._conn.write() as db:
            db.execute(
                "UPDATE webhook_outbox SET tries = tries + 1, last_error = ?, next_try_at = ?"
                " WHERE id = ? AND delivered_at IS NULL",
                (error[:500], ts(next_try_at), outbox_id),
            )

    async def webhook_backlog(self) -> WebhookBacklog:
        row = self._conn.db.execute(
            "SELECT coalesce(sum(delivered_at IS NULL), 0),"
            " coalesce(sum(delivered_at IS NULL AND tries > 0), 0),"
            " coalesce(sum(delivered_at IS NOT NULL), 0) FROM webhook_outbox"
        ).fetchone()
        return WebhookBacklog(int(row[0]), int(row[1]), int(row[2]))

    async def webhook_state(
        self, campaign: str, errors: int
    ) -> tuple[list[ReceiverState], list[FailedDelivery]]:
        db = self._conn.db
        receivers = [
            receiver_state(r)
            for r in db.execute(
                "SELECT url, coalesce(sum(delivered_at IS NULL), 0),"
                " coalesce(sum(delivered_at IS NULL AND tries > 0), 0),"
                " coalesce(sum(delivered_at IS NOT NULL), 0),"
                " min(CASE WHEN delivered_at IS NULL THEN next_try_at END)"
                " FROM webhook_outbox WHERE campaign = ? GROUP BY url ORDER BY url",
                (campaign,),
            )
        ]
        failures = [
            failed_delivery(r)
            for r in db.execute(
                "SELECT event_id, kind, url, tries, last_error, next_try_at FROM webhook_outbox"
                " WHERE campaign = ? AND delivered_at IS NULL AND tries > 0"
                " ORDER BY next_try_at DESC, id DESC LIMIT ?",
                (campaign, errors),
            )
        ]
        return receivers, failures
