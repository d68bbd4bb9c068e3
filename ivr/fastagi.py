"""The FastAGI server: binds the IVR to each call the dialplan sends to `AGI(agi://...)`.

Our own small layer instead of panoramisk.fast_agi, whose 1.4 release freezes the event
loop on a client that disconnects mid-header, raises ValueError after a hangup, reads
`520-` usage replies only partly (poisoning the next command) and cannot take plain
functions as routes on Python 3.11 (tests/integration/test_fastagi_panoramisk.py).

One connection is one call: its task reads the environment block, builds an AgiSession
(a CallChannel) and runs the handler. Asterisk never closes a FastAGI socket itself and
runs the call's `h` extension and Hangup only once we do (asterisk-traces/README.md), so
the socket is closed as soon as the handler returns, and at the latest `hangup_grace`
seconds after the caller hung up (time for dead-channel-safe commands such as
SET VARIABLE).

A flood of connections that never send their environment block must not cost a real
call: a real Asterisk sends the block at once, so when too many connections are still
silent the oldest silent one is dropped to make room (not the newcomer, which may be the
call). Running sessions are bounded too, and the warnings about bad peers are
rate-limited (one line per interval, with the count of the ones left out).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ivr.agi_protocol import parse_environment
from ivr.agi_session import DEFAULT_HANGUP_CONFIRM, DEFAULT_HANGUP_GRACE, AgiSession
from ivr.channel import CallerHungUp

log = logging.getLogger("ivr.fastagi")

Handler = Callable[[AgiSession], Awaitable[None] | None]

MAX_ENV_LINES = 256  # Asterisk sends about 22 plus one per AGI() argument
MAX_SILENT = 64  # connections that have not sent their environment block yet
MAX_SESSIONS = 2000  # calls in a script at once; far above what one dialer node places
WARN_INTERVAL_S = 10.0


class RateLimitedWarning:
    """At most one warning line per `interval` per event, saying how many were left out."""

    def __init__(self, logger: logging.Logger, interval: float = WARN_INTERVAL_S) -> None:
        self._log = logger
        self._interval = interval
        self._last: dict[str, float] = {}
        self._left_out: dict[str, int] = {}

    def warning(self, event: str, **facts: object) -> None:
        now = time.monotonic()
        if now - self._last.get(event, float("-inf")) < self._interval:
            self._left_out[event] = self._left_out.get(event, 0) + 1
            return
        self._last[event] = now
        left_out = self._left_out.pop(event, 0)
        self._log.warning(event, extra={**facts, "similar_left_out": left_out})


class HeaderError(Exception):
    """The connection did not deliver a usable environment block."""


async def read_environment(reader: asyncio.StreamReader, timeout: float) -> dict[str, str]:
    """The `agi_*` headers up to the blank line, within `timeout` seconds in all."""
    lines: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            while True:
                raw = await reader.readline()
                if not raw.endswith(b"\n"):
                    raise HeaderError("closed before the end of the environment block")
                # Asterisk sends names as raw UTF-8; a stray byte must not kill the call.
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not line:
                    break
                lines.append(line)
                if len(lines) > MAX_ENV_LINES:
                    raise HeaderError("environment block too long")
    except TimeoutError:
        raise HeaderError(f"no complete environment block within {timeout}s") from None
    except (ValueError, ConnectionError) as exc:  # ValueError: a line over the limit
        raise HeaderError(f"unreadable environment block: {exc}") from None
    headers = parse_environment(lines)
    if "request" not in headers and "network_script" not in headers:
        raise HeaderError("no agi_request header")
    return headers


@dataclass(eq=False)
class _Connection:
    task: asyncio.Task[None]  # reads the environment block, then waits for the handler
    writer: asyncio.StreamWriter
    session: AgiSession | None = None
    handler_task: asyncio.Task[None] | None = None
    opened_at: float = field(default_factory=time.monotonic)
    dropped: bool = False  # closed to make room while still silent


class FastAgiServer:
    """Accepts Asterisk's FastAGI connections and runs `handler(session)` for each in a
    task of its own. A handler may be async or a plain function."""

    def __init__(
        self,
        handler: Handler,
        host: str = "127.0.0.1",
        port: int = 4573,
        header_timeout: float = 5.0,
        *,
        hangup_grace: float = DEFAULT_HANGUP_GRACE,
        hangup_confirm: float = DEFAULT_HANGUP_CONFIRM,
        stop_timeout: float = 5.0,
        on_turnaround: Callable[[float], None] | None = None,
        max_silent: int = MAX_SILENT,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self.sessions_served = 0  # connections whose handler has finished
        self.silent_dropped = 0  # connections dropped before their environment block
        self.sessions_refused = 0  # connections refused: max_sessions running
        self._max_silent = max_silent
        self._max_sessions = max_sessions
        self._warn = RateLimitedWarning(log)
        self._on_turnaround = on_turnaround  # see AgiSession: a latency metric hook
        self._handler = handler
        self._host = host
        self._port = port
        self._header_timeout = header_timeout
        self._hangup_grace = hangup_grace
        self._hangup_confirm = hangup_confirm
        self._stop_timeout = stop_timeout
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("FastAgiServer already started")
        self._server = await asyncio.start_server(self._serve, self._host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("fastagi.listening", extra={"host": self._host, "port": self._port})

    @property
    def port(self) -> int:
        """The bound port (the free port picked for port 0, once started)."""
        return self._port

    @property
    def sessions(self) -> int:
        """Connections open now (sessions running or waiting for their header)."""
        return len(self._connections)

    async def stop(self) -> None:
        """Stop listening and close every connection. Handlers get SessionClosed on their
        next command and `stop_timeout` seconds to finish before they are cancelled."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for conn in list(self._connections):
            if conn.session is not None:
                conn.session.close_now()
            else:
                conn.writer.close()  # still reading the environment block: EOF ends it
        handlers = {c.handler_task for c in self._connections if c.handler_task is not None}
        if handlers:
            _, pending = await asyncio.wait(handlers, timeout=self._stop_timeout)
            for task in pending:
                task.cancel()
        # Connection tasks end by themselves once their handler has: cancelling them
        # would make asyncio's stream callback (Python 3.11) log a spurious error.
        tasks = {c.task for c in self._connections}
        if tasks:
            await asyncio.wait(tasks)
        await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - start_server always runs us in a task
            raise RuntimeError("FastAGI connection outside a task")
        conn = _Connection(task, writer)
        self._make_room_for_one_more_silent()
        self._connections.add(conn)
        try:
            try:
                headers = await read_environment(reader, self._header_timeout)
            except HeaderError as exc:
                peer = _peer(writer)
                self._warn.warning("fastagi.bad_environment", peer=peer, reason=str(exc))
                writer.close()
                return
            running = sum(1 for c in self._connections if c.session is not None)
            if running >= self._max_sessions:
                self.sessions_refused += 1
                self._warn.warning("fastagi.too_many_sessions", limit=self._max_sessions)
                writer.close()  # the dialplan goes on after AGI() fails
                return
            conn.session = AgiSession(
                reader,
                writer,
                headers,
                hangup_grace=self._hangup_grace,
                hangup_confirm=self._hangup_confirm,
                on_turnaround=self._on_turnaround,
            )
            conn.handler_task = asyncio.create_task(
                self._run(conn.session), name=f"agi-handler-{conn.session.uniqueid}"
            )
            # wait() rather than await: a handler cancelled by stop() must not end this
            # task as cancelled too.
            await asyncio.wait({conn.handler_task})
            self.sessions_served += 1
        finally:
            self._connections.discard(conn)

    def _make_room_for_one_more_silent(self) -> None:
        silent = [c for c in self._connections if c.session is None and not c.dropped]
        if len(silent) < self._max_silent:
            return
        oldest = min(silent, key=lambda c: c.opened_at)
        oldest.dropped = True
        self.silent_dropped += 1
        self._warn.warning(
            "fastagi.silent_connection_dropped", peer=_peer(oldest.writer), limit=self._max_silent
        )
        oldest.writer.close()  # its read ends with EOF: its task closes it and leaves

    async def _run(self, session: AgiSession) -> None:
        context = {"agi_uniqueid": session.uniqueid, "script": session.script}
        log.info("fastagi.session_start", extra=context)
        session.start()
        try:
            result = self._handler(session)
            if inspect.isawaitable(result):
                await result
        except CallerHungUp:
            pass  # the normal end of many calls
        except Exception:
            log.exception("fastagi.handler_failed", extra=context)
        finally:
            await session.close()
            log.info(
                "fastagi.session_end",
                extra={**context, "hung_up": session.hung_up, "commands": session.commands_sent},
            )


def _peer(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
