"""A tiny AMI client on plain asyncio sockets, for tests against a real Asterisk.

Deliberately independent of the dialer's own AMI code: these tests check what the real
Asterisk sends, so they must not share the parser they are meant to validate.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

Message = dict[str, str]
Predicate = Callable[[Message], bool]


def parse_message(block: bytes) -> Message:
    """One AMI message (without its blank line) -> {header: value}; first value wins."""
    message: Message = {}
    for line in block.decode("utf-8", errors="replace").split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            key, sep, value = line.partition(":")
        if sep and key not in message:
            message[key] = value
    return message


@dataclass
class AmiClient:
    """Reads every message into `messages` (with arrival time in `received_at`)."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    banner: str
    messages: list[Message] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _task: asyncio.Task[None] | None = None
    closed: bool = False

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float = 5.0) -> AmiClient:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        banner = (await asyncio.wait_for(reader.readline(), timeout)).decode().strip()
        client = cls(reader=reader, writer=writer, banner=banner)
        client._task = asyncio.create_task(client._read_loop())
        return client

    async def _read_loop(self) -> None:
        try:
            while True:
                block = await self.reader.readuntil(b"\r\n\r\n")
                message = parse_message(block[:-4])
                async with self._changed:
                    self.messages.append(message)
                    self.received_at.append(time.monotonic())
                    self._changed.notify_all()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            async with self._changed:
                self.closed = True
                self._changed.notify_all()

    async def send(self, action: str, **headers: str) -> str:
        """Send an action; returns its ActionID (generated unless given)."""
        action_id = headers.pop("ActionID", None) or f"test-{next(self._ids)}"
        lines = [f"Action: {action}", f"ActionID: {action_id}"]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        return action_id

    async def wait_for(self, predicate: Predicate, timeout: float, start: int = 0) -> Message:
        """The first message (from index `start`) that matches; TimeoutError if none."""

        async def scan() -> Message:
            index = start
            async with self._changed:
                while True:
                    for message in self.messages[index:]:
                        if predicate(message):
                            return message
                    index = len(self.messages)
                    if self.closed:
                        raise ConnectionError("AMI connection closed")
                    await self._changed.wait()

        return await asyncio.wait_for(scan(), timeout)

    async def action(self, action: str, timeout: float = 10.0, **headers: str) -> Message:
        """Send an action and return its Response message."""
        start = len(self.messages)
        action_id = await self.send(action, **headers)
        return await self.wait_for(
            lambda m: "Response" in m and m.get("ActionID") == action_id, timeout, start
        )

    async def list_action(
        self, action: str, timeout: float = 10.0, **headers: str
    ) -> tuple[Message, list[Message]]:
        """An action answered by a list (EventList: start ... Complete): response, items."""
        start = len(self.messages)
        action_id = await self.send(action, **headers)
        mine: Predicate = lambda m: m.get("ActionID") == action_id  # noqa: E731
        response = await self.wait_for(lambda m: mine(m) and "Response" in m, timeout, start)
        if response.get("Response") != "Success":
            return response, []
        await self.wait_for(
            lambda m: mine(m) and m.get("EventList", "").lower() == "complete", timeout, start
        )
        items = [m for m in self.messages[start:] if mine(m) and "Event" in m]
        return response, [m for m in items if m.get("EventList", "").lower() != "complete"]

    async def login(self, username: str, secret: str, timeout: float = 5.0) -> Message:
        return await self.action("Login", timeout, Username=username, Secret=secret)

    async def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(ConnectionError, TimeoutError, OSError):
                await self.action("Logoff", timeout=2.0)
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@contextlib.asynccontextmanager
async def ami_session(host: str, port: int, username: str, secret: str) -> AsyncIterator[AmiClient]:
    """A logged-in AmiClient for the with-block; fails the test if Login is refused."""
    client = await AmiClient.connect(host, port)
    try:
        response = await client.login(username, secret)
        if response.get("Response") != "Success":
            raise AssertionError(f"AMI login as {username} refused: {response}")
        yield client
    finally:
        await client.close()
