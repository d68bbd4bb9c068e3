"""The simulated callee on an AudioSocket media stream (`EXEC AudioSocket uuid,host:port`
from the FastAGI script), as app_audiosocket of Asterisk 22 runs it.

The simulator connects to the dialer's media server, sends the UUID message, then the
callee's audio as 320-byte slin frames every 20 ms, and reads the robot's audio. The
callee answers each prompt: when the robot starts a prompt (its first frame after at
least QUIET_S without any), the persona's next `say:` file starts (its own leading
silence says when the words begin: 0.4 s of it means talking over a longer prompt);
without one left, or for a silent persona, it sends silence. `hangup_mid_prompt` hangs
up `prompt / 2` seconds into the stream. The EXEC answers `200 result=0` when the
robot ends the stream (hangup message or close) and `result=-1` when the callee hung up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("dialer.simpbx")

FRAME = 320  # 20 ms of 8 kHz 16-bit mono
HANGUP, UUID, AUDIO = 0x00, 0x01, 0x10
QUIET_S = 0.2  # a gap in the robot's audio this long ends a prompt


@dataclass
class StreamLog:
    """What the callee heard on its streams (kept in the CallRecord for tests)."""

    frames_heard: int = 0  # robot frames received
    prompts_heard: int = 0  # prompts started (first frame after a gap)
    said: list[str] = field(default_factory=list)  # say: files sent


def read_pcm(path: Path) -> bytes:
    with wave.open(str(path), "rb") as audio:
        return audio.readframes(audio.getnframes())


class CalleeStream:
    def __init__(
        self,
        speech: list[str],
        speech_dir: Path | None,
        gone: asyncio.Event,
        record: StreamLog,
        hangup_after: float | None,
        hang_up: Callable[[], None],
    ) -> None:
        self._speech = speech  # the persona's say: files left (shared with RECORD FILE)
        self._dir = speech_dir
        self._gone = gone
        self._log = record
        self._hangup_after = hangup_after
        self._hang_up = hang_up
        self._talk = b""  # callee audio still to send
        self._last_heard = -1e9

    async def run(self, data: str) -> str:
        """The EXEC's reply line; `data` is AudioSocket's `uuid,host:port`."""
        stream_id, _, address = data.partition(",")
        host, _, port = address.strip().rpartition(":")
        try:
            payload = uuid.UUID(stream_id.strip()).bytes
            reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
        except (ValueError, OSError) as exc:
            log.warning("simulated AudioSocket cannot connect to %r: %s", address, exc)
            return "200 result=-1\n"
        writer.write(struct.pack(">BH", UUID, 16) + payload)
        sender = asyncio.create_task(self._send(writer))
        receiver = asyncio.create_task(self._receive(reader))
        gone = asyncio.create_task(self._gone.wait())
        try:
            await asyncio.wait((sender, receiver, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, receiver, gone):
                task.cancel()
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
        return "200 result=-1\n" if self._gone.is_set() else "200 result=0\n"

    async def _receive(self, reader: asyncio.StreamReader) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                kind, length = struct.unpack(">BH", await reader.readexactly(3))
                payload = await reader.readexactly(length) if length else b""
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if kind == HANGUP:
                return
            if kind != AUDIO:
                continue
            now = loop.time()
            if now - self._last_heard >= QUIET_S:  # a new prompt: answer it
                self._log.prompts_heard += 1
                self._start_talking()
            self._last_heard = now
            self._log.frames_heard += 1
            del payload

    def _start_talking(self) -> None:
        if not self._speech or self._dir is None:
            return
        name = self._speech.pop(0)
        try:
            self._talk = read_pcm(self._dir / f"{name}.wav")
        except (OSError, wave.Error, EOFError) as exc:
            log.warning("simulated callee cannot read %s.wav: %s", name, exc)
            return
        self._log.said.append(name)

    async def _send(self, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        start, sent = loop.time(), 0
        silence = bytes(FRAME)
        while True:
            if self._hangup_after is not None and sent * 0.02 >= self._hangup_after:
                self._hang_up()  # the channel goes: Asterisk closes the socket
                return
            frame, self._talk = self._talk[:FRAME], self._talk[FRAME:]
            writer.write(struct.pack(">BH", AUDIO, FRAME) + (frame.ljust(FRAME, b"\0") or silence))
            sent += 1
            delay = start + sent * 0.02 - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif sent % 50 == 0:
                await asyncio.sleep(0)
