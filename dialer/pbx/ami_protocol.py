"""The asyncio protocol under one AMI connection: bytes in, messages to the client,
actions out in batches, and the futures the client waits on (banner, boot, loss)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from panoramisk.message import Message

from dialer.pbx.ami_base import AmiDisconnected
from dialer.pbx.ami_wire import AmiFramingError, AmiStreamParser

log = logging.getLogger("dialer.ami")

BOOT_EVENT = "FullyBooted"
SHUTDOWN_EVENT = "Shutdown"  # sent as Asterisk closes; refusals come first (below)
SHUTTING_DOWN_REPLY = "Asterisk is shutting down"  # Originate's reply once it began
# Bytes read from the socket at a time. asyncio reads up to 256 KiB at once, which a busy
# Asterisk fills with hundreds of events handled in one go: the event loop (and with it
# the service's HTTP API) would stall for tenths of a second. Reading less at a time
# lets other callbacks run between reads; the kernel buffers the rest.
READ_CHUNK = 64 * 1024


def with_client_events(wanted: frozenset[str] | None) -> frozenset[str] | None:
    """The client itself needs FullyBooted and Shutdown, whatever its user filters."""
    return None if wanted is None else wanted | {BOOT_EVENT, SHUTDOWN_EVENT}


class ConnectionOwner(Protocol):
    """What the protocol needs from the AmiClient that opened it."""

    @property
    def wanted_events(self) -> frozenset[str] | None: ...

    def _on_message(self, protocol: AmiProtocol, message: Message) -> None: ...

    def _on_connection_lost(self, protocol: AmiProtocol) -> None: ...


class PendingAction:
    __slots__ = ("future", "is_list", "items")

    def __init__(self, future: asyncio.Future[Any], is_list: bool) -> None:
        self.future = future
        self.is_list = is_list
        self.items: list[Message] = []


class AmiProtocol(asyncio.BufferedProtocol):
    def __init__(self, client: ConnectionOwner) -> None:
        self._client = client
        self.parser = AmiStreamParser(client.wanted_events)
        self.transport: asyncio.Transport | None = None
        # Actions written in one loop iteration go out in one send(): a burst of
        # Originates costs one syscall instead of one each.
        self._outgoing: list[bytes] = []
        loop = asyncio.get_running_loop()
        self.banner_seen: asyncio.Future[str] = loop.create_future()
        self.lost: asyncio.Future[None] = loop.create_future()
        self.booted: asyncio.Future[None] = loop.create_future()
        self.shutting_down = False  # this Asterisk said so: no new call on this session
        self.last_received = 0.0  # loop time of the last bytes read: is the peer alive?
        self._buffer = bytearray(READ_CHUNK)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return memoryview(self._buffer)

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(self._buffer[:nbytes]))

    def data_received(self, data: bytes) -> None:
        self.last_received = asyncio.get_running_loop().time()
        try:
            messages = self.parser.feed(data)
        except AmiFramingError as exc:
            # Not Asterisk, or a broken one: drop the link (the client reconnects with
            # back-off) rather than buffer without end.
            log.error("ami.framing_error", extra={"reason": str(exc)})
            self.abort()
            return
        if self.parser.banner is not None and not self.banner_seen.done():
            self.banner_seen.set_result(self.parser.banner)
        for message in messages:
            self._client._on_message(self, message)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)
            if not self.banner_seen.done():
                self.banner_seen.set_exception(AmiDisconnected("closed before the banner"))
                self.banner_seen.exception()
        self._client._on_connection_lost(self)

    def write(self, data: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise AmiDisconnected("AMI connection is not open")
        if not self._outgoing:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outgoing.append(data)

    def _flush(self) -> None:
        data, self._outgoing = b"".join(self._outgoing), []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()
