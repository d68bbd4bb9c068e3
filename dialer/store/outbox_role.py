"""The webhook outbox: events waiting to be POSTed to a receiver, kept in the store so
that a receiver that is down or a service restart loses none.

One row per (event, receiver URL). A row stays until the receiver answers 2xx; each
failure pushes its next try back (exponential back-off, the caller's policy). The
secret that signs a delivery is never stored: only the name of the environment
variable that holds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class NewWebhookEvent:
    event_id: str  # the receiver's key for deduplication (sent as a header)
    campaign: str
    kind: str  # e.g. "lead.hot", "attempt.finished"
    url: str
    secret_env: str  # name of the environment variable holding the signing secret
    body: str  # the JSON to POST, as sent


@dataclass(frozen=True)
class PendingWebhook:
    id: int
    event_id: str
    campaign: str
    kind: str
    url: str
    secret_env: str
    body: str
    tries: int  # failed deliveries so far
    next_try_at: datetime


@dataclass(frozen=True)
class WebhookBacklog:
    pending: int  # not yet delivered
    failing: int  # of those, failed at least once
    delivered: int


@dataclass(frozen=True)
class ReceiverState:
    """One receiver URL of a campaign: its deliveries so far."""

    url: str
    pending: int  # not yet delivered
    failing: int  # of those, failed at least once
    delivered: int
    next_try_at: datetime | None  # the earliest undelivered row's next try


@dataclass(frozen=True)
class FailedDelivery:
    """An undelivered event whose last try failed."""

    event_id: str
    kind: str
    url: str
    tries: int
    last_error: str
    next_try_at: datetime


class WebhookOutbox(Protocol):
    async def add_webhook_events(self, events: Sequence[NewWebhookEvent], now: datetime) -> int:
        """Queue events (an event id already queued for that URL is kept once);
        returns how many were new."""
        ...

    async def due_webhook_events(self, now: datetime, limit: int) -> list[PendingWebhook]:
        """Undelivered events whose next try is due, oldest first."""
        ...

    async def webhook_delivered(self, outbox_id: int, now: datetime) -> None: ...

    async def webhook_failed(self, outbox_id: int, error: str, next_try_at: datetime) -> None:
        """One more failed try; not retried before next_try_at."""
        ...

    async def webhook_backlog(self) -> WebhookBacklog: ...

    async def webhook_state(
        self, campaign: str, errors: int
    ) -> tuple[list[ReceiverState], list[FailedDelivery]]:
        """A campaign's receivers, and its `errors` latest failing deliveries."""
        ...
