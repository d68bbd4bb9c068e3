"""Webhooks: campaign events POSTed to each campaign's receivers, from the store's outbox.

Two halves, joined only by the outbox (dialer.store.outbox_role):
- The engine queues an attempt's events (attempt.finished, lead.hot / lead.warm,
  contact.opted_out) in the store transaction that closes the attempt
  (dialer.engine.webhook_events): the attempt is closed if and only if they are queued.
- WebhookRouter reads the service's event bus and queues, for every receiver of the
  campaign that wants them, the events the bus carries: call.transferred (an operator
  took the call, as it happens) and campaign.finished. Those are lost only if the
  service dies before the router queued them, or if the router falls more than the
  bus's backlog behind (logged).
- WebhookDelivery POSTs what is due, signs each body (HMAC-SHA256 with the secret from
  the receiver's `secret_env`, never stored), marks 2xx answers delivered and pushes
  every other answer (or no answer) back with exponential back-off. A row stays until
  delivered, so a receiver that is down, or a service restart, loses nothing; a receiver
  may see an event twice (a crash between its 2xx and our mark) and dedupes it by the
  X-Dialer-Event-Id header.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

import httpx

from dialer.campaign.webhooks import WebhookEvent, WebhookSettings
from dialer.control.service.events import EventBus, ServiceEvent
from dialer.engine.webhook_events import outbox_rows
from dialer.store.outbox_role import PendingWebhook, WebhookOutbox

log = logging.getLogger("dialer.webhooks")

SIGNATURE_HEADER = "X-Dialer-Signature"  # "sha256=" + hex HMAC-SHA256 of the raw body
EVENT_ID_HEADER = "X-Dialer-Event-Id"
EVENT_HEADER = "X-Dialer-Event"

# The bus's kinds that a receiver may ask for, under their webhook name. An attempt's
# own events (attempt.finished, lead.hot/warm, contact.opted_out) are not routed from the
# bus: the engine queues them in the attempt's close (dialer.engine.webhook_events).
_FROM_BUS = {
    "call.connected": WebhookEvent.TRANSFERRED,
    "campaign.finished": WebhookEvent.CAMPAIGN_FINISHED,
}


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookRouter:
    """Bus -> outbox, for the campaigns that have webhooks."""

    def __init__(
        self,
        outbox: WebhookOutbox,
        bus: EventBus,
        hooks_of: Callable[[str], Sequence[WebhookSettings]],
    ) -> None:
        self._outbox = outbox
        self._hooks_of = hooks_of
        self._subscription = bus.subscribe()

    async def run(self) -> None:
        sub = self._subscription
        while True:
            event = await sub.next(timeout=1.0)
            if sub.dropped:
                log.error("webhooks.events_lost", extra={"count": sub.dropped})
                sub.dropped = 0
            if event is not None:
                try:
                    await self.route(event)
                except Exception:  # a store hiccup costs this event, not the ones after
                    log.exception("webhooks.route_failed", extra={"event": event.kind})
            elif sub.closed:
                return  # the bus closed and every event it held is routed

    async def route(self, event: ServiceEvent) -> int:
        kind = _FROM_BUS.get(event.kind)
        if kind is None or event.campaign is None:
            return 0
        data = dict(event.data)
        attempt = data.get("attempt")
        # An attempt's event has a stable id: queued twice, it is still sent once.
        event_id = f"{kind.value}:{attempt}" if attempt else None
        rows = outbox_rows(
            self._hooks_of(event.campaign), kind, event.campaign, event.at, data, event_id
        )
        return await self._outbox.add_webhook_events(rows, event.at) if rows else 0


class WebhookDelivery:
    """Outbox -> receivers, with retries and exponential back-off."""

    def __init__(
        self,
        outbox: WebhookOutbox,
        client: httpx.AsyncClient,
        environ: Mapping[str, str],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        first_retry: timedelta = timedelta(seconds=5),
        longest_retry: timedelta = timedelta(hours=1),
        batch: int = 50,
    ) -> None:
        self._outbox = outbox
        self._client = client
        self._environ = environ
        self._clock = clock
        self._first_retry = first_retry
        self._longest_retry = longest_retry
        self._batch = batch

    def backoff(self, failed_tries: int) -> timedelta:
        """Wait before the next try after `failed_tries` failures (1, 2, ...)."""
        wait = self._first_retry.total_seconds() * 2 ** min(failed_tries - 1, 30)
        return min(timedelta(seconds=wait), self._longest_retry)

    async def run(self, stop: asyncio.Event, poll: float = 1.0) -> None:
        while not stop.is_set():
            try:
                sent = await self.deliver_due()
            except Exception:  # the store busy or gone for a moment: the rows wait
                log.exception("webhooks.delivery_pass_failed")
                sent = 0
            if sent < self._batch:  # a full batch: more may be due at once
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll)

    async def deliver_due(self) -> int:
        """One pass over what is due now; returns how many were tried."""
        due = await self._outbox.due_webhook_events(self._clock(), self._batch)
        for item in due:
            await self._deliver(item)
        return len(due)

    async def _deliver(self, item: PendingWebhook) -> None:
        secret = self._environ.get(item.secret_env)
        error = ""
        if not secret:
            error = f"environment variable {item.secret_env} is not set"
        else:
            body = item.body.encode()
            headers = {
                "Content-Type": "application/json",
                EVENT_HEADER: item.kind,
                EVENT_ID_HEADER: item.event_id,
                SIGNATURE_HEADER: sign(secret, body),
            }
            try:
                answer = await self._client.post(item.url, content=body, headers=headers)
                if answer.is_success:
                    await self._outbox.webhook_delivered(item.id, self._clock())
                    return
                error = f"HTTP {answer.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
        retry_at = self._clock() + self.backoff(item.tries + 1)
        await self._outbox.webhook_failed(item.id, error, retry_at)
        log.warning(
            "webhooks.delivery_failed",
            extra={"event": item.kind, "tries": item.tries + 1, "error": error,
                   "retry_at": retry_at.isoformat()},
        )  # fmt: skip


async def run_webhooks(
    router: WebhookRouter,
    outbox: WebhookOutbox,
    environ: Mapping[str, str],
    stop: asyncio.Event,
    timeout: float = 10.0,
) -> None:
    """The service's webhook tasks: route until the bus closes, deliver until `stop`.
    What is still undelivered then stays in the outbox for the next start."""
    async with httpx.AsyncClient(timeout=timeout) as client:
        delivery = WebhookDelivery(outbox, client, environ)
        routing = asyncio.create_task(router.run(), name="webhooks.route")
        try:
            await delivery.run(stop)
        finally:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(routing, timeout)
