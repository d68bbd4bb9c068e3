"""WebhookOutbox on PostgreSQL: the durable queue of webhook deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from dialer.store.column_values import ts
from dialer.store.outbox_role import (
    FailedDelivery,
    NewWebhookEvent,
    PendingWebhook,
    ReceiverState,
    WebhookBacklog,
)
from dialer.store.postgres.connection import PgRole
from dialer.store.row_records import failed_delivery, pending_webhook, receiver_state


async def queue_webhook_events(
    db: asyncpg.Connection, events: Sequence[NewWebhookEvent], now: datetime
) -> int:
    """Queue events inside the caller's transaction (an attempt's close queues its events
    in its own); an event id already queued for that URL is kept once."""
    added = 0
    for e in events:
        row = await db.fetchrow(
            "INSERT INTO webhook_outbox (event_id, campaign, kind, url, secret_env, body,"
            " created_at, next_try_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
            " ON CONFLICT (event_id, url) DO NOTHING RETURNING id",
            e.event_id, e.campaign, e.kind, e.url, e.secret_env, e.body, ts(now),
        )  # fmt: skip
        added += row is not None
    return added


class PgWebhookOutbox(PgRole):
    async def add_webhook_events(self, events: Sequence[NewWebhookEvent], now: datetime) -> int:
        async with self._conn.write() as db:
            return await queue_webhook_events(db, events, now)

    async def due_webhook_events(self, now: datetime, limit: int) -> list[PendingWebhook]:
        async with self._conn.read() as db:
            rows = await db.fetch(
                "SELECT id, event_id, campaign, kind, url, secret_env, body, tries, next_try_at"
                " FROM webhook_outbox WHERE delivered_at IS NULL AND next_try_at <= $1"
                " ORDER BY next_try_at, id LIMIT $2",
                ts(now),
                limit,
            )
        return [pending_webhook(r) for r in rows]

    async def webhook_delivered(self, outbox_id: int, now: datetime) -> None:
        async with self._conn.write() as db:
            await db.execute(
                "UPDATE webhook_outbox SET delivered_at = $1 WHERE id = $2", ts(now), outbox_id
            )

    async def webhook_failed(self, outbox_id: int, error: str, next_try_at: datetime) -> None:
        async with self._conn.write() as db:
            await db.execute(
                "UPDATE webhook_outbox SET tries = tries + 1, last_error = $1, next_try_at = $2"
                " WHERE id = $3 AND delivered_at IS NULL",
                error[:500],
                ts(next_try_at),
                outbox_id,
            )

    async def webhook_backlog(self) -> WebhookBacklog:
        async with self._conn.read() as db:
            row = await db.fetchrow(
                "SELECT count(*) FILTER (WHERE delivered_at IS NULL),"
                " count(*) FILTER (WHERE delivered_at IS NULL AND tries > 0),"
                " count(*) FILTER (WHERE delivered_at IS NOT NULL) FROM webhook_outbox"
            )
        return WebhookBacklog(int(row[0]), int(row[1]), int(row[2]))

    async def webhook_state(
        self, campaign: str, errors: int
    ) -> tuple[list[ReceiverState], list[FailedDelivery]]:
        async with self._conn.read() as db:
            receivers = await db.fetch(
                "SELECT url, count(*) FILTER (WHERE delivered_at IS NULL),"
                " count(*) FILTER (WHERE delivered_at IS NULL AND tries > 0),"
                " count(*) FILTER (WHERE delivered_at IS NOT NULL),"
                " min(next_try_at) FILTER (WHERE delivered_at IS NULL)"
                " FROM webhook_outbox WHERE campaign = $1 GROUP BY url ORDER BY url",
                campaign,
            )
            failures = await db.fetch(
                "SELECT event_id, kind, url, tries, last_error, next_try_at FROM webhook_outbox"
                " WHERE campaign = $1 AND delivered_at IS NULL AND tries > 0"
                " ORDER BY next_try_at DESC, id DESC LIMIT $2",
                campaign,
                errors,
            )
        return [receiver_state(r) for r in receivers], [failed_delivery(r) for r in failures]
