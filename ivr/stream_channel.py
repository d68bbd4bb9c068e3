"""A CallChannel that speaks and listens over an AudioSocket media stream (barge-in,
streaming recognition) and keeps FastAGI for everything else (keys, variables, hangup).

The call still arrives over FastAGI. For a speech step the channel runs
`EXEC AudioSocket <uuid>,<media host:port>` (the AGI command returns only when the
stream ends) and awaits the connection with that UUID; prompts are then sent as audio
and the caller's audio is decoded while it arrives. Before any other AGI command (a
keypad menu, SET VARIABLE, HANGUP) the stream is ended with AudioSocket's hangup
message, which ends the application and so answers the EXEC; the next speech step
opens a new stream (a local connect: about a millisecond).

Timings measured per turn (`StreamStats`, all on the caller's audio as it arrives):
barge-in reaction (the first voiced frame of the caller -> the last prompt frame sent),
end of speech -> decision (the last voiced frame -> intent decided, the end-of-speech
silence included) and turn latency (the last voiced frame -> the first frame of what the
robot says next).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.agi_session import AgiSession
from ivr.audiosocket import AudioSocketServer
from ivr.channel import CallerHungUp, ChannelError, Heard, PlayResult, RecordResult
from ivr.media_stream import Listener, MediaStream, Played
from ivr.prompt_audio import PromptAudio, PromptAudioError
from ivr.recognition import NO_MATCH
from ivr.vad import Classifier, Endpointer, default_classifier

if TYPE_CHECKING:  # Vosk is loaded by whoever builds the StreamMedia, not by importers
    from ivr.stream_recognition import StreamingRecognizer

log = logging.getLogger("ivr.stream_channel")

CONNECT_TIMEOUT_S = 5.0


@dataclass
class StreamStats:
    """Per-turn timings in milliseconds, appended by every StreamChannel sharing it."""

    barge_in_ms: list[float] = field(default_factory=list)
    decide_ms: list[float] = field(default_factory=list)
    turn_ms: list[float] = field(default_factory=list)
    open_streams: int = 0  # calls with a media stream now
    peak_streams: int = 0

    def opened(self) -> None:
        self.open_streams += 1
        self.peak_streams = max(self.peak_streams, self.open_streams)


@dataclass
class StreamMedia:
    """What every stream channel of a campaign shares."""

    server: AudioSocketServer
    address: str  # host:port Asterisk connects to
    audio: PromptAudio
    recognizer: StreamingRecognizer
    end_silence_ms: int = 300
    vad: tuple[str, Classifier] = field(default_factory=default_classifier)
    stats: StreamStats = field(default_factory=StreamStats)


class StreamChannel:
    def __init__(self, agi: AgiSession, media: StreamMedia) -> None:
        self._agi = agi
        self._media = media
        self._stream: MediaStream | None = None
        self._exec: asyncio.Task[object] | None = None
        self._last_word_at: float | None = None  # for the turn latency of the next prompt

    # --- the stream's life -------------------------------------------------------------

    async def _open(self) -> MediaStream:
        if self._stream is not None and not self._stream.gone.is_set():
            return self._stream
        await self._close()
        server = self._media.server
        stream_id, connected = server.expect()
        self._exec = asyncio.create_task(
            self._agi.command(f"EXEC AudioSocket {stream_id},{self._media.address}")
        )
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                done, _ = await asyncio.wait(
                    (connected, self._exec), return_when=asyncio.FIRST_COMPLETED
                )
            if connected not in done:
                failed = self._exec.exception()
                if isinstance(failed, CallerHungUp):
                    raise failed
                raise ChannelError(_exec_failure(self._exec))
        except TimeoutError:
            raise ChannelError(
                f"Asterisk did not connect to the media server at {self._media.address} "
                f"within {CONNECT_TIMEOUT_S:.0f} s (is app_audiosocket loaded, and "
                "audiosocket.advertise reachable from Asterisk?)"
            ) from None
        finally:
            server.forget(stream_id)
        self._stream = MediaStream(connected.result())
        self._media.stats.opened()
        return self._stream

    async def _close(self) -> None:
        """End the stream (if any) and wait for the EXEC to answer: AGI is free again."""
        stream, self._stream = self._stream, None
        if stream is not None:
            self._media.stats.open_streams -= 1
            await stream.end()
        task, self._exec = self._exec, None
        if task is not None:
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    await task
            except (ChannelError, TimeoutError) as exc:
                log.warning("ivr.stream_exec_failed", extra={"why": str(exc)})
        if stream is not None and stream.gone.is_set() and self._agi.hung_up:
            raise CallerHungUp("caller hung up during the media stream")

    async def _agi_channel(self) -> AgiSession:
        await self._close()
        return self._agi

    # --- CallChannel -------------------------------------------------------------------

    @property
    def variables(self) -> dict[str, str]:
        return self._agi.variables

    async def play(self, prompts: Sequence[str], interrupt_keys: str = "") -> PlayResult:
        if interrupt_keys:  # keys can stop it: a keypad prompt, over AGI
            return await (await self._agi_channel()).play(prompts, interrupt_keys)
        stream = await self._open()
        await self._send(stream, await self._audio(prompts), None)
        return PlayResult()

    async def say_number(self, number: int, interrupt_keys: str = "") -> PlayResult:
        return await (await self._agi_channel()).say_number(number, interrupt_keys)

    async def say_digits(self, digits: str, interrupt_keys: str = "") -> PlayResult:
        return await (await self._agi_channel()).say_digits(digits, interrupt_keys)

    async def read_digits(self, prompt: str | None, timeout_ms: int, max_digits: int) -> str:
        return await (await self._agi_channel()).read_digits(prompt, timeout_ms, max_digits)

    async def record(
        self,
        path: Path,
        max_ms: int,
        silence_s: int,
        beep: bool = False,
        start_ms: int | None = None,
    ) -> RecordResult:
        agi = await self._agi_channel()
        return await agi.record(path, max_ms, silence_s, beep, start_ms)

    async def get_variable(self, name: str) -> str | None:
        return await (await self._agi_channel()).get_variable(name)

    async def set_variable(self, name: str, value: str) -> None:
        await (await self._agi_channel()).set_variable(name, value)

    async def hangup(self) -> None:
        with contextlib.suppress(CallerHungUp):
            await self._close()
        await self._agi.hangup()

    async def close(self) -> None:
        """End the stream when the script is over (the FastAGI session closes after)."""
        with contextlib.suppress(CallerHungUp):
            await self._close()

    # --- StreamingChannel --------------------------------------------------------------

    async def listen(
        self,
        prompt: str,
        phrases: Sequence[str],
        language: str,
        *,
        barge_in: bool,
        speech_start_ms: int,
        max_ms: int,
    ) -> Heard:
        """Play the prompt and hear the answer: the turn ends when the VAD hears the
        caller stop, when they never start (speech_start_ms after the prompt), after
        max_ms of talking, or when they hang up (what they said still counts)."""
        stream = await self._open()
        audio = await self._audio([prompt])
        media = self._media
        utterance = await media.recognizer.start(phrases, language)
        listener = Listener(Endpointer(media.vad[1], media.end_silence_ms), utterance)
        stream.listener = listener if barge_in else None
        try:
            played = await self._send(stream, audio, listener if barge_in else None)
            stream.listener = listener
            if not await _first(listener.started, stream.gone, speech_start_ms):
                await utterance.cancel()
                if stream.gone.is_set():
                    raise CallerHungUp("caller hung up before answering")
                return Heard(NO_MATCH, "no_speech")
            finished = await _first(listener.ended, stream.gone, max_ms)
        except BaseException:
            stream.listener = None
            await utterance.cancel()
            raise
        stream.listener = None
        heard = await utterance.finish()
        decided_at = stream.clock()
        ended_by = "hangup" if stream.gone.is_set() and not listener.ended.is_set() else (
            "speech" if finished else "max"
        )  # fmt: skip
        self._measure(played, listener, decided_at)
        return Heard(heard, ended_by, barged_in=played.interrupted)

    # --- helpers -----------------------------------------------------------------------

    async def _audio(self, prompts: Sequence[str]) -> list[bytes]:
        try:
            return [await self._media.audio.pcm(p) for p in prompts]
        except PromptAudioError as exc:
            raise ChannelError(str(exc)) from exc

    async def _send(
        self, stream: MediaStream, audio: list[bytes], listener: Listener | None
    ) -> Played:
        played = await stream.play(audio, listener)
        if self._last_word_at is not None and played.first_sent_at is not None:
            self._media.stats.turn_ms.append((played.first_sent_at - self._last_word_at) * 1000)
            self._last_word_at = None
        if stream.gone.is_set() and not played.interrupted:
            raise CallerHungUp("caller hung up during a prompt")
        return played

    def _measure(self, played: Played, listener: Listener, decided_at: float) -> None:
        stats = self._media.stats
        if played.interrupted and listener.onset_at is not None and played.last_sent_at:
            stats.barge_in_ms.append((played.last_sent_at - listener.onset_at) * 1000)
        if listener.last_voiced_at is not None:
            stats.decide_ms.append((decided_at - listener.last_voiced_at) * 1000)
            self._last_word_at = listener.last_voiced_at


async def _first(event: asyncio.Event, gone: asyncio.Event, timeout_ms: int) -> bool:
    """Wait for `event`, at most timeout_ms and not past `gone`; whether it is set."""
    waits = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(gone.wait())]
    try:
        await asyncio.wait(waits, timeout=timeout_ms / 1000, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
    return event.is_set()


def _exec_failure(task: asyncio.Task[object]) -> str:
    error = task.exception()
    if error is not None:
        return f"EXEC AudioSocket failed: {error}"
    return f"EXEC AudioSocket ended before connecting: {task.result()!r}"
