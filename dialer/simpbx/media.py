"""The callee as an IVR hears it: prompts that take time, keys from the persona's
`press:` answers, recordings from its `say:` audio, hang-ups in the middle.

Durations come from SimTiming (prompt, keypress, record, silence_cap); every wait ends
early when the caller hangs up, which is what makes a command answer `result=-1`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from . import events as ev
from .channels import Channel
from .config import CallRecord
from .personas import IvrPersona, parse_persona
from .ports import Switch
from .stream import CalleeStream

log = logging.getLogger("dialer.simpbx")

DIGIT_ANY = "0123456789*#ABCD"  # AST_DIGIT_ANY
SAMPLE_RATE = 8000  # endpos counts 8 kHz samples, like Asterisk's slin/ulaw streams


def samples(seconds: float) -> int:
    return round(seconds * SAMPLE_RATE)


class LineCall(Protocol):
    """The answered call (calls.Call) as the callee line uses it."""

    @property
    def core(self) -> Switch: ...

    @property
    def a(self) -> Channel: ...

    @property
    def persona(self) -> str: ...

    @property
    def record(self) -> CallRecord: ...

    def after(
        self, delay: float, callback: Callable[..., None], *args: object
    ) -> asyncio.TimerHandle: ...

    def callee_hangup(self, cause: int = 16) -> None: ...


@dataclass(frozen=True)
class Played:
    key: str | None = None  # the key that stopped the prompt
    elapsed: float = 0.0
    hungup: bool = False

    @property
    def code(self) -> int:
        """`result=` of a prompt: the key's ASCII code, 0 when none was pressed."""
        return ord(self.key) if self.key else 0


@dataclass(frozen=True)
class Recorded:
    hungup: bool = False
    elapsed: float = 0.0
    frames: int | None = None  # None: the file could not be written
    leftover_ms: int = 0  # `result=` of RECORD FILE (what ast_waitfor had left)


class Keypad:
    """The persona's `press:` answers: entry i is typed during keypad read i.

    A prompt with escape digits or WAIT FOR DIGIT takes one key; GET DATA goes on with
    the rest of the same entry (so `press:10#` gives GET DATA `10`), never the next one.
    """

    def __init__(self, entries: tuple[str, ...]) -> None:
        self._entries = [list(entry) for entry in entries if entry]
        self.at_entry_start = True

    def next_key(self, continuing: bool = False) -> str | None:
        if not self._entries or (continuing and self.at_entry_start):
            return None
        return self._entries[0][0]

    def take(self) -> str:
        entry = self._entries[0]
        key = entry.pop(0)
        self.at_entry_start = not entry
        if not entry:
            self._entries.pop(0)
        return key


class CalleeLine:
    def __init__(self, call: LineCall, gone: asyncio.Event) -> None:
        self.call = call
        self.gone = gone
        self.timing = call.core.timing
        self.speech_dir = call.core.config.speech_dir
        ivr = parse_persona(call.persona) or IvrPersona()
        self.keypad = Keypad(ivr.keys)
        self.speech = list(ivr.speech)
        self._hangup_mid_prompt = ivr.hangup_mid_prompt
        self._hangup_after_speech = ivr.hangup_after_speech
        self._loop = call.core.loop

    async def sleep(self, seconds: float | None) -> bool:
        """Let time pass on the line (None: until the hangup); False once hung up."""
        if self.gone.is_set():
            return False
        if seconds is None:
            await self.gone.wait()
            return False
        try:
            await asyncio.wait_for(self.gone.wait(), max(seconds, 0.0))
        except TimeoutError:
            return True
        return False

    def silence(self, timeout_ms: int) -> float | None:
        """How long a wait for a key that never comes lasts (None: forever)."""
        cap = self.timing.silence_cap
        if timeout_ms < 0:
            return cap
        seconds = timeout_ms / 1000
        return seconds if cap is None else min(seconds, cap)

    def press(self) -> str:
        key = self.keypad.take()
        self.call.record.dtmf += key
        a = self.call.a  # keys show on `;1` only, as Received (originate-answered-dtmf)
        self.call.core.emit("DTMFBegin", ev.dtmf, a, key, False)
        self.call.core.emit("DTMFEnd", ev.dtmf, a, key, True)
        return key

    async def play(self, escape: str, length: float | None = None, prompt: bool = True) -> Played:
        """One prompt; the persona presses its next key during it if the key may
        interrupt it (escape digits), else listens to the end."""
        length = self.timing.prompt if length is None else length
        if self._hangup_mid_prompt and prompt:
            self._hangup_mid_prompt = False
            self.call.after(length / 2, self.call.callee_hangup, 16)
        start = self._loop.time()
        key = self.keypad.next_key()
        if key is not None and key in escape:
            at = min(self.timing.keypress, length)
            if not await self.sleep(at):
                return Played(elapsed=self._loop.time() - start, hungup=True)
            return Played(self.press(), at)
        if not await self.sleep(length):
            return Played(elapsed=self._loop.time() - start, hungup=True)
        return Played(elapsed=length)

    async def audiosocket(self, data: str) -> str:
        """EXEC AudioSocket: the callee on a media stream (stream.py)."""
        hangup_after = None
        if self._hangup_mid_prompt:
            self._hangup_mid_prompt = False
            hangup_after = self.timing.prompt / 2
        callee = CalleeStream(
            self.speech,
            self.speech_dir,
            self.gone,
            self.call.record.stream,
            hangup_after,
            lambda: self.call.callee_hangup(16),
        )
        return await callee.run(data)

    async def wait_key(self, timeout_ms: int, continuing: bool = False) -> str | None:
        """The next key, "" after the timeout, None when the caller hung up."""
        if self.keypad.next_key(continuing) is not None:
            if not await self.sleep(self.timing.keypress):
                return None
            return self.press()
        if not await self.sleep(self.silence(timeout_ms)):
            return None
        return ""

    async def record(
        self, base: str, fmt: str, max_ms: int, silence_s: int, offset: int = 0
    ) -> Recorded:
        """RECORD FILE: the persona's next `say:` file, or silence, into base.fmt. With a
        sample offset the file is continued there (the same answer goes on: silence)."""
        path = Path(f"{base}.{fmt}")
        if fmt != "wav":
            log.warning("simulated PBX records wav only, not %r (%s)", fmt, path)
            return Recorded()
        if offset > 0:
            return await self._continue(path, max_ms, silence_s, offset)
        try:  # ast_writefile() creates the file before recording starts
            path.open("wb").close()
        except OSError as exc:
            log.warning("simulated PBX cannot write %s: %s", path, exc)
            return Recorded()
        by_silence = silence_s > 0 and (max_ms < 0 or self.timing.record * 1000 < max_ms)
        if by_silence:
            duration: float | None = self.timing.record
        else:  # no silence detection: only the timeout (or a hangup) ends it
            duration = self.silence(max_ms)
        start = self._loop.time()
        if not await self.sleep(duration):
            # Asterisk keeps what it recorded before the hangup (a caller's message).
            elapsed = self._loop.time() - start
            with contextlib.suppress(OSError):
                write_silence(path, elapsed)
                self.call.record.recordings.append(path)
            return Recorded(hungup=True, elapsed=elapsed)
        assert duration is not None
        name = self.speech.pop(0) if self.speech else None
        try:
            frames = self._copy_speech(name, path) if name else None
            if frames is None:  # silent: 1 s is left after trimming the detected silence
                frames = write_silence(path, min(duration, 1.0) if by_silence else duration)
        except OSError as exc:
            log.warning("simulated PBX cannot write %s: %s", path, exc)
            return Recorded()
        self.call.record.recordings.append(path)
        leftover = max(int(max_ms - duration * 1000), 0) if by_silence and max_ms > 0 else 0
        return Recorded(elapsed=duration, frames=frames, leftover_ms=leftover)

    async def _continue(self, path: Path, max_ms: int, silence_s: int, offset: int) -> Recorded:
        """RECORD FILE with a sample offset: Asterisk opens the file without truncating
        it, seeks to the offset and writes from there."""
        by_silence = silence_s > 0 and (max_ms < 0 or self.timing.record * 1000 < max_ms)
        duration = self.timing.record if by_silence else self.silence(max_ms)
        if self._hangup_after_speech and not self.speech and duration:
            # "yes" *click*: gone before the silence that would have ended the answer.
            self.call.after(duration / 2, self.call.callee_hangup, 16)
        start = self._loop.time()
        if not await self.sleep(duration):
            return Recorded(hungup=True, elapsed=self._loop.time() - start)
        assert duration is not None
        try:
            frames = extend_with_silence(path, offset, min(duration, 1.0))
        except (OSError, wave.Error) as exc:
            log.warning("simulated PBX cannot write %s: %s", path, exc)
            return Recorded()
        leftover = max(int(max_ms - duration * 1000), 0) if by_silence and max_ms > 0 else 0
        return Recorded(elapsed=duration, frames=frames, leftover_ms=leftover)

    def _copy_speech(self, name: str, path: Path) -> int | None:
        if self.speech_dir is None:
            return None
        source = self.speech_dir / f"{name}.wav"
        shutil.copyfile(source, path)
        with wave.open(str(source), "rb") as audio:
            return int(audio.getnframes() * SAMPLE_RATE / audio.getframerate())


def extend_with_silence(path: Path, offset: int, seconds: float) -> int:
    """The file's first `offset` samples, then `seconds` of silence; its sample count."""
    kept = b""
    if path.exists():
        with wave.open(str(path), "rb") as audio:
            kept = audio.readframes(offset)
    frames = samples(seconds)
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(SAMPLE_RATE)
        audio.writeframes(kept + b"\x00\x00" * frames)
    return len(kept) // 2 + frames


def write_silence(path: Path, seconds: float) -> int:
    """8 kHz 16-bit mono silence, what Asterisk's wav format holds."""
    frames = samples(seconds)
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(SAMPLE_RATE)
        audio.writeframes(b"\x00\x00" * frames)
    return frames
