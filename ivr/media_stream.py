"""One call's media stream over an AudioSocket connection: prompt audio out, paced at
20 ms a frame, and the caller's audio in, handed to whoever listens (a `Listener`: the
VAD and the utterance being recognised).

The reading task runs for the life of the connection; `gone` is set when Asterisk sends
its hangup message, an error, or closes the socket (the caller hung up, or the dialplan
ended the application). `play` checks before every frame whether the listener heard the
caller start talking (barge-in), so a prompt stops within one frame (20 ms) of the VAD's
decision.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ivr.audiosocket import FRAME_BYTES, FRAME_MS, AudioSocketError, Connection, Kind, read_message
from ivr.vad import Endpointer, Event

if TYPE_CHECKING:
    from ivr.stream_recognition import Utterance

log = logging.getLogger("ivr.media_stream")

PREROLL_FRAMES = 10  # 200 ms before the VAD's onset go to the recogniser too
# and 100 ms after each voiced frame; the rest of a pause is not decoded (CPU), the
# recogniser needs no more silence to finish a word.
TRAIL_FRAMES = 5
MAX_BUFFERED = 64 * 1024  # bytes not yet taken by Asterisk before play() waits for it

Clock = Callable[[], float]


class Listener:
    """The caller's turn: VAD events, and the frames of speech fed to the recogniser."""

    def __init__(self, endpointer: Endpointer, utterance: Utterance) -> None:
        self.endpointer = endpointer
        self.utterance = utterance
        self.started = asyncio.Event()
        self.ended = asyncio.Event()
        self.onset_at: float | None = None  # arrival of the first voiced frame of the turn
        self.last_voiced_at: float | None = None  # arrival of the turn's last voiced frame
        self._preroll: deque[tuple[bytes, float]] = deque(maxlen=PREROLL_FRAMES)

    def on_frame(self, frame: bytes, now: float) -> None:
        event = self.endpointer.feed(frame)
        if self.endpointer.started_at is None:
            self._preroll.append((frame, now))
            return
        if event is Event.STARTED:
            self._preroll.append((frame, now))
            run = self.endpointer.frames - self.endpointer.started_at
            self.onset_at = self._preroll[-run][1] if run <= len(self._preroll) else now
            for earlier, _ in self._preroll:
                self.utterance.feed(earlier)
            self._preroll.clear()
            self.started.set()
        elif not self.ended.is_set() and self.endpointer.silent_frames <= TRAIL_FRAMES:
            self.utterance.feed(frame)
        if self.endpointer.voiced and not self.ended.is_set():
            self.last_voiced_at = now
        if event is Event.ENDED:
            self.ended.set()


@dataclass(frozen=True)
class Played:
    frames: int  # frames sent
    interrupted: bool  # stopped because the caller started talking
    first_sent_at: float | None  # clock time of the first frame (None: nothing sent)
    last_sent_at: float | None


class MediaStream:
    """The AudioSocket connection of one call, while the dialplan runs AudioSocket()."""

    def __init__(self, connection: Connection, clock: Clock = time.monotonic) -> None:
        self.connection = connection
        self.clock = clock
        self.gone = asyncio.Event()
        self.digits: asyncio.Queue[str] = asyncio.Queue()
        self.listener: Listener | None = None
        self.frames_in = 0
        self.error: str | None = None
        self._reading = asyncio.create_task(self._read_loop())

    async def _read_loop(self) -> None:
        try:
            while (message := await read_message(self.connection.reader)) is not None:
                if message.kind == Kind.AUDIO:
                    self.frames_in += 1
                    if self.listener is not None:
                        self.listener.on_frame(message.payload, self.clock())
                elif message.kind == Kind.DTMF:
                    self.digits.put_nowait(message.payload.decode("ascii", "replace"))
                elif message.kind in (Kind.HANGUP, Kind.ERROR):
                    if message.kind == Kind.ERROR:
                        self.error = message.payload.hex() or "no code"
                    break
        except (AudioSocketError, ConnectionError) as exc:
            self.error = str(exc)
        finally:
            self.gone.set()

    async def play(self, pcm: Sequence[bytes], listener: Listener | None = None) -> Played:
        """Send the prompts' audio at 20 ms a frame; stop early when `listener` hears the
        caller start (barge-in) or the stream ends."""
        loop = asyncio.get_running_loop()
        writer = self.connection.writer
        start = loop.time()
        sent, first, last = 0, None, None
        for audio in pcm:
            for offset in range(0, len(audio), FRAME_BYTES):
                if self.gone.is_set() or (listener is not None and listener.started.is_set()):
                    return Played(
                        sent, listener is not None and listener.started.is_set(), first, last
                    )
                frame = audio[offset : offset + FRAME_BYTES]
                try:
                    self.connection.send_audio(frame.ljust(FRAME_BYTES, b"\0"))
                    if writer.transport.get_write_buffer_size() > MAX_BUFFERED:
                        await writer.drain()
                except ConnectionError:
                    self.gone.set()
                    continue
                last = self.clock()
                first = last if first is None else first
                sent += 1
                delay = start + sent * FRAME_MS / 1000 - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
        return Played(sent, False, first, last)

    async def end(self) -> None:
        """Stop the AudioSocket application (the dialplan goes on) and close."""
        if not self.gone.is_set():
            await self.connection.send_hangup()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self.gone.wait()
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading
        await self.connection.close()
