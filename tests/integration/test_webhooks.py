"""Webhooks through a real local HTTP receiver (uvicorn on a socket) and a real SQLite
outbox: a receiver that is down, then fails, then recovers, and a delivery loop that is
restarted in the middle (store closed and reopened): every event arrives exactly once by
its id, and every signature verifies."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import socket
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from dialer.campaign.webhooks import WebhookEvent, WebhookSettings
from dialer.control.service.events import EventBus
from dialer.control.service.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    WebhookDelivery,
    WebhookRouter,
)
from dialer.store.sqlite import SqliteStore

SECRET = "s3cret-for-tests"
HOOK = WebhookSettings(
    url="http://127.0.0.1:1/hook",  # port set per test
    events=[WebhookEvent.TRANSFERRED, WebhookEvent.CAMPAIGN_FINISHED],
    secret_env="DIALER_TEST_HOOK_SECRET",
)


class Receiver:
    """A CRM's endpoint: answers 503 to its first `fail_first` requests, then 200."""

    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.requests = 0
        self.accepted: Counter[str] = Counter()  # event id -> 2xx answers given
        self.bodies: dict[str, dict[str, Any]] = {}
        self.bad_signatures = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests += 1
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(headers.get(SIGNATURE_HEADER.lower(), ""), expected):
            self.bad_signatures += 1
        status = 503 if self.requests <= self.fail_first else 200
        if status == 200:
            event_id = headers[EVENT_ID_HEADER.lower()]
            self.accepted[event_id] += 1
            self.bodies[event_id] = json.loads(body)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@contextlib.asynccontextmanager
async def serving(app: Receiver, sock: socket.socket) -> AsyncIterator[None]:
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await task


def _free_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


async def _route(store: SqliteStore, hook: WebhookSettings, attempts: int) -> None:
    """The service's bus as a campaign runs: operators take calls, then the campaign
    finishes (an attempt's own events are queued by its close: test_webhook_close.py)."""
    bus = EventBus()
    router = WebhookRouter(store, bus, lambda name: [hook] if name == "crm" else [])
    routing = asyncio.create_task(router.run())
    for n in range(attempts):
        bus.publish("call.originated", "crm", attempt=f"a{n}")  # not a webhook event
        bus.publish("call.connected", "crm", attempt=f"a{n}", operator=f"Agent {n}")
        bus.publish(
            "call.ended", "crm", attempt=f"a{n}", outcome="transferred"
        )  # queued by the close
    bus.publish("call.connected", "other", attempt="x1")  # no webhooks there
    bus.publish("campaign.finished", "crm", originated=attempts)
    bus.close()
    await asyncio.wait_for(routing, 10)


async def test_outbox_survives_a_down_receiver_failures_and_a_restart(tmp_path: Path) -> None:
    sock = _free_socket()
    port = sock.getsockname()[1]
    hook = HOOK.model_copy(update={"url": f"http://127.0.0.1:{port}/hook"})
    now = datetime.now(UTC) + timedelta(seconds=1)  # the bus stamped the events with now
    clock = lambda: now  # noqa: E731 - the test moves time past each back-off
    env = {"DIALER_TEST_HOOK_SECRET": SECRET}
    db = tmp_path / "dialer.db"

    store = await SqliteStore.open(db)
    await _route(store, hook, attempts=5)
    assert (await store.webhook_backlog()).pending == 6

    # The receiver is down (nothing listens yet): every try fails, nothing is lost.
    async with httpx.AsyncClient(timeout=5) as client:
        delivery = WebhookDelivery(store, client, env, clock=clock)
        assert await delivery.deliver_due() == 6
        assert await delivery.deliver_due() == 0  # backed off: not due again yet
    backlog = await store.webhook_backlog()
    assert (backlog.pending, backlog.failing, backlog.delivered) == (6, 6, 0)

    receiver = Receiver(fail_first=3)
    async with serving(receiver, sock):
        now += timedelta(hours=1)
        async with httpx.AsyncClient(timeout=5) as client:
            delivery = WebhookDelivery(store, client, env, clock=clock)
            assert await delivery.deliver_due() == 6  # 3 answered 503, 3 accepted
        assert sum(receiver.accepted.values()) == 3
        # The service restarts: a new store connection, a new loop, a new client.
        await store.close()
        store = await SqliteStore.open(db)
        now += timedelta(hours=1)
        stop = asyncio.Event()
        async with httpx.AsyncClient(timeout=5) as client:
            loop = asyncio.create_task(
                WebhookDelivery(store, client, env, clock=clock).run(stop, poll=0.05)
            )
            while (await store.webhook_backlog()).pending:
                await asyncio.sleep(0.05)
            stop.set()
            await asyncio.wait_for(loop, 10)

    expected = {f"call.transferred:a{n}" for n in range(5)}
    assert set(receiver.accepted) - expected == {
        next(i for i, b in receiver.bodies.items() if b["event"] == "campaign.finished")
    }
    assert all(count == 1 for count in receiver.accepted.values())
    assert len(receiver.accepted) == 6
    assert receiver.requests == 9  # 3 refused + 6 accepted: none sent again once accepted
    assert receiver.bad_signatures == 0
    assert receiver.bodies["call.transferred:a2"]["campaign"] == "crm"
    assert receiver.bodies["call.transferred:a2"]["operator"] == "Agent 2"
    backlog = await store.webhook_backlog()
    assert (backlog.pending, backlog.delivered) == (0, 6)
    await store.close()


async def test_a_missing_secret_is_retried_not_sent_unsigned(tmp_path: Path) -> None:
    sock = _free_socket()
    hook = HOOK.model_copy(update={"url": f"http://127.0.0.1:{sock.getsockname()[1]}/hook"})
    store = await SqliteStore.open(tmp_path / "dialer.db")
    await _route(store, hook, attempts=1)
    receiver = Receiver(fail_first=0)
    async with serving(receiver, sock), httpx.AsyncClient(timeout=5) as client:
        assert await WebhookDelivery(store, client, {}).deliver_due() == 2
    assert receiver.requests == 0
    assert (await store.webhook_backlog()).failing == 2
    await store.close()


@pytest.mark.parametrize(("tries", "wait"), [(1, 5), (2, 10), (3, 20), (20, 3600)])
def test_backoff_doubles_up_to_its_ceiling(tries: int, wait: int) -> None:
    delivery = WebhookDelivery(None, None, {})  # type: ignore[arg-type]
    assert delivery.backoff(tries) == timedelta(seconds=wait)
