"""`dialer serve`: the service process. Opens the store, binds the HTTP port (loopback by
default), resumes the campaigns wanted running, serves the API until SIGTERM (or
Ctrl-C), then drains: no new calls, calls in progress finish (bounded by the drain
timeout), the wanted states stay for the next start; exit 0."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Generator
from datetime import timedelta

import uvicorn

from dialer.control.app import Node
from dialer.control.service.cluster import ClusterSteering
from dialer.control.service.events import EventBus
from dialer.control.service.http_api import build_app
from dialer.control.service.supervisor import Supervisor
from dialer.control.service.webhooks import WebhookRouter, run_webhooks
from dialer.coord import Coordinator, RedisUnreachable
from dialer.store import ContactStore

log = logging.getLogger("dialer.service")

DEFAULT_LISTEN = "127.0.0.1:8080"
HTTP_GRACE_S = 3  # open HTTP requests (an event stream) get this long once draining ends


class ListenError(ValueError):
    """--listen is not HOST:PORT, or that address cannot be bound."""


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ListenError(f"--listen {text!r}: expected HOST:PORT, e.g. {DEFAULT_LISTEN}")
    return host, int(port)


def bind(host: str, port: int) -> socket.socket:
    """The HTTP socket, bound before anything else starts: a port in use is an error
    at once, not after the campaigns have logged in to Asterisk."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _HttpServer(uvicorn.Server):
    """uvicorn, minus its own signal handling: SIGTERM drains the campaigns first."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve(
    store: ContactStore,
    sock: socket.socket,
    drain_timeout: timedelta,
    coordinator: Coordinator | None = None,
) -> int:
    """`coordinator`: a node of a cluster (--redis); RedisUnreachable if Redis does not
    answer at start."""
    if coordinator is not None:
        try:
            await coordinator.start()
        except RedisUnreachable:
            await coordinator.close()
            raise
    bus = EventBus()
    node = Node(store, coordinator=coordinator)
    supervisor = Supervisor(store, node, bus, drain_timeout=drain_timeout)
    cluster = ClusterSteering(supervisor, coordinator) if coordinator is not None else None
    supervisor.remote = cluster
    cluster_stop, cluster_task = asyncio.Event(), None
    # Subscribed before any campaign starts, so that no event goes unrouted.
    router = WebhookRouter(store, bus, supervisor.webhooks_of)
    webhooks_stop = asyncio.Event()
    webhooks = asyncio.create_task(run_webhooks(router, store, os.environ, webhooks_stop))
    config = uvicorn.Config(
        build_app(supervisor),
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=HTTP_GRACE_S,
    )
    server = _HttpServer(config)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # Our own lines say when the service listens and stops; uvicorn's would repeat them.
        logging.getLogger(name).setLevel(logging.WARNING)
    stop = asyncio.Event()
    _stop_on_signals(stop)
    http = asyncio.create_task(server.serve(sockets=[sock]), name="http")
    host, port = sock.getsockname()[:2]
    # The one line a supervisor script (or a test) waits for.
    print(f"dialer service listening on http://{host}:{port}", flush=True)
    log.info("service.listening", extra={"address": f"{host}:{port}"})
    http_failed = False
    try:
        # A node of a cluster starts what no live node drives, now and whenever a node dies.
        resumed = [] if cluster is not None else await supervisor.resume_wanted()
        if cluster is not None:
            cluster_task = asyncio.create_task(cluster.run(cluster_stop), name="cluster")
        if resumed:
            log.info("service.resumed", extra={"campaigns": ",".join(resumed)})
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({stopped, http}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        http_failed = http.done()
        if http_failed:  # the HTTP server died: no way to steer the campaigns, stop them
            log.error("service.http_failed", extra={"error": repr(http.exception())})
        print("stopping: no new calls; waiting for calls in progress", file=sys.stderr)
        await supervisor.drain()
    finally:
        bus.close()
        webhooks_stop.set()  # undelivered events wait in the outbox for the next start
        server.should_exit = True
        with contextlib.suppress(Exception):
            await http
        with contextlib.suppress(Exception):
            await webhooks
        cluster_stop.set()
        if cluster_task is not None:
            with contextlib.suppress(Exception):
                await cluster_task
        await node.close()
        if coordinator is not None:
            await coordinator.close()
    return 1 if http_failed else 0


def _stop_on_signals(stop: asyncio.Event) -> None:
    """First SIGTERM or Ctrl-C: drain and exit. A second: leave at once."""
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            os._exit(130)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
