"""The AudioSocket protocol of Asterisk (app_audiosocket, res_audiosocket) and the TCP
server the dialplan's `AudioSocket(<uuid>,<host>:<port>)` connects to.

Every message is a 3-byte header (kind, then the payload length as a big-endian
16-bit number) and the payload:

    0x00  hangup: the far end is done (closing the socket means the same)
    0x01  the stream's UUID (16 bytes), always the first message from Asterisk
    0x03  a DTMF digit (1 ASCII byte), Asterisk 20.5+/22
    0x10  audio: signed linear 16-bit 8 kHz mono, 320 bytes per 20 ms frame
    0xff  an error (1 optional byte: Asterisk's error code)

Asterisk writes each audio message it receives to the channel at once (no jitter
buffer, no queue of its own): whoever sends must pace frames at 20 ms, and a prompt
stops as soon as we stop sending. Our hangup message makes the application return 0
and the dialplan go on (the FastAGI `EXEC AudioSocket` returns, see ivr.stream_channel).

The server hands each connection to whoever waits for its UUID (`expect`): the stream
channel registers a fresh UUID, asks Asterisk to connect with it, and awaits the
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import uuid
from dataclasses import dataclass
from enum import IntEnum

log = logging.getLogger("ivr.audiosocket")

FRAME_MS = 20
FRAME_BYTES = 320  # 20 ms of 8 kHz 16-bit mono
MAX_PAYLOAD = 0xFFFF
CONNECT_TIMEOUT_S = 5.0  # Asterisk connects within milliseconds; a stray peer must not stay


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO = 0x10
    ERROR = 0xFF


class AudioSocketError(Exception):
    """The peer broke the protocol (bad UUID, unknown kind, a truncated message)."""


@dataclass(frozen=True)
class Message:
    kind: int
    payload: bytes


def encode(kind: Kind, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"AudioSocket payload of {len(payload)} bytes (at most {MAX_PAYLOAD})")
    return struct.pack(">BH", kind, len(payload)) + payload


def encode_uuid(stream_id: str) -> bytes:
    return encode(Kind.UUID, uuid.UUID(stream_id).bytes)


async def read_message(reader: asyncio.StreamReader) -> Message | None:
    """The next message, None at the end of the stream (the socket was closed)."""
    try:
        header = await reader.readexactly(3)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise AudioSocketError("connection closed inside a message header") from exc
        return None
    kind, length = struct.unpack(">BH", header)
    try:
        payload = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError as exc:
        raise AudioSocketError(f"connection closed inside a {length}-byte payload") from exc
    return Message(kind, payload)


@dataclass
class Connection:
    """One AudioSocket stream, after its UUID message."""

    stream_id: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def send_audio(self, frame: bytes) -> None:
        self.writer.write(encode(Kind.AUDIO, frame))

    async def send_hangup(self) -> None:
        """Ask Asterisk to end the AudioSocket application (the dialplan goes on)."""
        with contextlib.suppress(ConnectionError):
            self.writer.write(encode(Kind.HANGUP))
            await self.writer.drain()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


class AudioSocketServer:
    """Accepts AudioSocket connections and hands each to the task expecting its UUID."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host, self._port = host, port
        self._server: asyncio.Server | None = None
        self._waiting: dict[str, asyncio.Future[Connection]] = {}
        self.refused = 0  # connections with no UUID, a bad one, or one nobody expects

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self._port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for waiter in self._waiting.values():
            waiter.cancel()

    def expect(self) -> tuple[str, asyncio.Future[Connection]]:
        """A new stream UUID and the future its connection will complete."""
        stream_id = str(uuid.uuid4())
        future: asyncio.Future[Connection] = asyncio.get_running_loop().create_future()
        self._waiting[stream_id] = future
        return stream_id, future

    def forget(self, stream_id: str) -> None:
        waiter = self._waiting.pop(stream_id, None)
        if waiter is not None and not waiter.done():
            waiter.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                first = await read_message(reader)
            if first is None or first.kind != Kind.UUID or len(first.payload) != 16:
                raise AudioSocketError("the first message is not a 16-byte UUID")
            stream_id = str(uuid.UUID(bytes=first.payload))
        except (AudioSocketError, TimeoutError, ConnectionError) as exc:
            self._refuse(writer, f"bad start: {exc}")
            return
        waiter = self._waiting.pop(stream_id, None)
        if waiter is None or waiter.done():
            self._refuse(writer, "nobody expects this stream")
            return
        waiter.set_result(Connection(stream_id, reader, writer))

    def _refuse(self, writer: asyncio.StreamWriter, why: str) -> None:
        self.refused += 1
        log.warning("ivr.audiosocket_refused", extra={"why": why})
        writer.close()
