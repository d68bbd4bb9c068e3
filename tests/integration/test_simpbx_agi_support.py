"""Helpers (no tests) for the FastAGI tests of the simulated PBX: a tiny FastAGI server
on a free loopback port that records what the PBX sends and lets a test script the
conversation, and the Originate with the IVR/AMD variables."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field

from tests.simpbx_helpers import CALLER_ID

Script = Callable[["AgiConnection"], Awaitable[None]]


@dataclass
class AgiConnection:
    """One FastAGI connection from the PBX, seen from the dialer's side."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    env_raw: bytes = b""
    env: dict[str, str] = field(default_factory=dict)
    closed_at: float | None = None  # monotonic time the server closed the socket
    transcript: list[tuple[str, str]] = field(default_factory=list)  # (command, reply)

    async def read_env(self) -> None:
        lines = []
        while True:
            line = await self.reader.readline()
            lines.append(line)
            if line in (b"\n", b""):
                break
        self.env_raw = b"".join(lines)
        for line in self.env_raw.decode().splitlines():
            key, sep, value = line.partition(": ")
            if sep:
                self.env[key] = value

    async def reply(self, timeout: float = 5.0) -> str:
        """One reply: a line, or a whole `520-` ... `520 ` block."""
        text = (await asyncio.wait_for(self.reader.readline(), timeout)).decode()
        if text.startswith("520-"):
            while True:
                line = (await asyncio.wait_for(self.reader.readline(), timeout)).decode()
                text += line
                if line.startswith("520 ") or not line:
                    break
        return text

    async def command(self, text: str, timeout: float = 5.0) -> str:
        self.writer.write(text.encode() + b"\n")
        await self.writer.drain()
        answer = await self.reply(timeout)
        self.transcript.append((text, answer))
        return answer

    async def silent_for(self, seconds: float) -> bool:
        """True if the PBX sent nothing (and did not close) for `seconds`."""
        try:
            await asyncio.wait_for(self.reader.read(1), seconds)
        except TimeoutError:
            return True
        return False  # a byte, or EOF: the PBX closed the socket

    def close(self) -> None:
        self.closed_at = time.monotonic()
        self.writer.close()


class FastAgiStub:
    """Accepts connections; runs `script` on each, then closes it (unless it did)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.connections: list[AgiConnection] = []
        self.connected = asyncio.Event()
        self.finished = asyncio.Event()
        self.errors: list[BaseException] = []
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = AgiConnection(reader, writer)
        self.connections.append(conn)
        self.connected.set()
        try:
            await conn.read_env()
            await self.script(conn)
        except BaseException as exc:  # reported by the test, not lost in the server
            self.errors.append(exc)
        finally:
            if conn.closed_at is None:
                conn.close()
            self.finished.set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with suppress(Exception):
                await self._server.wait_closed()

    async def wait_done(self, timeout: float = 5.0) -> AgiConnection:
        await asyncio.wait_for(self.finished.wait(), timeout)
        if self.errors:
            raise self.errors[0]
        return self.connections[0]


@asynccontextmanager
async def fastagi_stub(script: Script) -> AsyncIterator[FastAgiStub]:
    stub = FastAgiStub(script)
    await stub.start()
    try:
        yield stub
    finally:
        await stub.stop()


def ivr_originate(
    number: str,
    channel_id: str,
    *,
    agi: str = "",
    amd: bool = False,
    queue: str = "",
    extra: str = "",
    dial: str = "Local/{number}@dialer-test-callees",
) -> list[tuple[str, str]]:
    """The Originate the dialer sends for an IVR / AMD campaign (attempt 42)."""
    variables = (
        f"DIALER_ATTEMPT=42,DIALER_CAMPAIGN=spring,DIALER_MESSAGE=hello,"
        f"DIALER_QUEUE={queue},DIALER_QUEUE_TIMEOUT=30,DIALER_AGI={agi},"
        f"DIALER_AMD={'1' if amd else ''}"
    )
    if extra:
        variables += "," + extra
    return [
        ("Action", "Originate"),
        ("Channel", dial.format(number=number)),
        ("Context", "dialer-answered"),
        ("Exten", "s"),
        ("Priority", "1"),
        ("Timeout", "30000"),
        ("CallerID", CALLER_ID),
        ("Variable", variables),
        ("ChannelId", channel_id),
        ("Async", "true"),
    ]
