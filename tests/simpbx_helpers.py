"""Test helpers for the simulated PBX: a raw AMI client over a real socket, and a reader
for the byte-exact trace files in tests/fixtures/asterisk-traces."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dialer.simpbx import SimConfig, SimTiming, SimulatedPbx
from tests.traces import TRACES_DIR, segments

Message = list[tuple[str, str]]


def parse_message(raw: bytes) -> Message:
    """Ordered (name, value) pairs of one AMI message; duplicates kept."""
    pairs: Message = []
    for line in raw.decode().split("\r\n"):
        if not line:
            continue
        name, _, value = line.partition(": ")
        pairs.append((name, value))
    return pairs


@dataclass
class Msg:
    """One received message with both its raw bytes and an ordered field list."""

    raw: bytes
    fields: Message = field(default_factory=list)

    def __post_init__(self) -> None:
        self.fields = parse_message(self.raw)

    def get(self, key: str, default: str = "") -> str:
        for name, value in self.fields:
            if name == key:
                return value
        return default

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.fields]

    @property
    def event(self) -> str:
        return self.get("Event")

    def __repr__(self) -> str:
        return f"Msg({dict(self.fields)!r})"


class AmiTestClient:
    """Speaks AMI over a socket the way the dialer would, and records every message."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.banner = b""
        self.messages: list[Msg] = []
        self.closed = asyncio.Event()
        self._arrived = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> AmiTestClient:
        reader, writer = await asyncio.open_connection(host, port)
        client = cls(reader, writer)
        await client.wait_for(lambda: bool(client.banner))
        return client

    async def _read(self) -> None:
        try:
            self.banner = await self.reader.readline()
            self._arrived.set()
            while True:
                raw = await self.reader.readuntil(b"\r\n\r\n")
                self.messages.append(Msg(raw))
                self._arrived.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.closed.set()
            self._arrived.set()

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 5.0) -> None:
        async def loop() -> None:
            while not predicate():
                if self.closed.is_set() and not predicate():
                    raise AssertionError("connection closed while waiting")
                self._arrived.clear()
                await self._arrived.wait()

        await asyncio.wait_for(loop(), timeout)

    def send(self, *fields: tuple[str, str]) -> None:
        text = "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n"
        self.writer.write(text.encode())

    async def action(self, action_id: str, *fields: tuple[str, str], timeout: float = 5.0) -> Msg:
        """Send an action and wait for the message that carries its Response."""
        self.send(*fields[:1], ("ActionID", action_id), *fields[1:])
        await self.wait_for(lambda: self.response(action_id) is not None, timeout)
        found = self.response(action_id)
        assert found is not None
        return found

    def response(self, action_id: str) -> Msg | None:
        for msg in self.messages:
            if msg.get("ActionID") == action_id and msg.get("Response"):
                return msg
        return None

    async def login(self, username: str = "dialer", secret: str = "dialer") -> Msg:
        login = [("Action", "Login"), ("Username", username), ("Secret", secret)]
        return await self.action("login-1", *login)

    def events(self, name: str | None = None, uniqueid: str | None = None) -> list[Msg]:
        return [
            m
            for m in self.messages
            if m.event
            and (name is None or m.event == name)
            and (uniqueid is None or uniqueid in (m.get("Uniqueid"), m.get("DestUniqueid")))
        ]

    async def wait_event(self, name: str, timeout: float = 5.0, **match: str) -> Msg:
        def find() -> Msg | None:
            for m in self.events(name):
                if all(m.get(k) == v for k, v in match.items()):
                    return m
            return None

        await self.wait_for(lambda: find() is not None, timeout)
        found = find()
        assert found is not None
        return found

    async def close(self) -> None:
        self.writer.close()
        self._task.cancel()
        with suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
        with suppress(asyncio.CancelledError):
            await self._task


def trace_messages(path: Path) -> Iterator[Msg]:
    """Every AMI message Asterisk sent in one trace file (banner excluded)."""
    for seg in segments(path):
        ami = seg.direction == "<" and seg.connection.startswith("ami")
        if ami and seg.payload.endswith(b"\r\n\r\n"):
            yield Msg(seg.payload)


def trace_files() -> list[Path]:
    """The AMI trace files (a test failure when there are none)."""
    files = sorted(TRACES_DIR.glob("*.txt"))
    if not files:
        pytest.fail(f"no recorded Asterisk traces in {TRACES_DIR} (scripts/record-traces)")
    return files


# Short enough for fast tests, ordered like the defaults (operator answers after the
# queue_abandon persona's patience runs out).
FAST = SimTiming(
    ring=0.02,
    message=0.03,
    early_hangup_after=0.01,
    operator_answer_delay=0.04,
    talk=0.03,
    abandon_patience=0.02,
    login_failure_delay=0.05,
)
CALLER_ID = '"Иван Петров" <+79123456789>'


@asynccontextmanager
async def running_pbx(**overrides: Any) -> AsyncIterator[SimulatedPbx]:
    settings: dict[str, Any] = {"timing": FAST, "seed": 7, **overrides}
    pbx = SimulatedPbx(SimConfig(**settings))
    await pbx.start()
    try:
        yield pbx
    finally:
        await pbx.stop()


@asynccontextmanager
async def ami_client(pbx: SimulatedPbx, login: bool = True) -> AsyncIterator[AmiTestClient]:
    client = await AmiTestClient.connect(pbx.port)
    try:
        if login:
            reply = await client.login()
            assert reply.get("Response") == "Success"
        yield client
    finally:
        await client.close()


def originate_fields(
    dial_string: str,
    channel_id: str,
    *,
    queue: str = "",
    queue_timeout: str = "30",
    timeout_ms: int = 30000,
    is_async: bool = True,
) -> list[tuple[str, str]]:
    """The Originate the dialer sends (DESIGN.md, call flow step 1)."""
    variables = (
        f"DIALER_ATTEMPT=42,DIALER_CAMPAIGN=spring,DIALER_MESSAGE=hello,"
        f"DIALER_QUEUE={queue},DIALER_QUEUE_TIMEOUT={queue_timeout}"
    )
    fields = [
        ("Action", "Originate"),
        ("Channel", dial_string),
        ("Context", "dialer-answered"),
        ("Exten", "s"),
        ("Priority", "1"),
        ("Timeout", str(timeout_ms)),
        ("CallerID", CALLER_ID),
        ("Variable", variables),
        ("ChannelId", channel_id),
    ]
    if is_async:
        fields.append(("Async", "true"))
    return fields


async def wait_call_over(client: AmiTestClient, channel_id: str, local: bool = True) -> None:
    """Until both the OriginateResponse and the Hangup(s) of the call have arrived."""
    await client.wait_event("OriginateResponse", Uniqueid=channel_id)
    await client.wait_event("Hangup", Uniqueid=channel_id)
    if local:
        await client.wait_event("Hangup", Uniqueid=f"{channel_id};2")
