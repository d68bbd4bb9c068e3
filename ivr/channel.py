"""The seam between the IVR interpreter and a live call.

The interpreter only ever talks to a `CallChannel`; the FastAGI session (ivr.agi_session)
implements it over a real Asterisk (or the simulated PBX), and tests implement it in
memory. Every method raises CallerHungUp once the caller has gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from ivr.recognition import Recognition


class CallerHungUp(Exception):
    """The caller hung up (AGI `HANGUP`, `511`, `result=-1` on a dead channel, EOF)."""


class ChannelError(Exception):
    """The PBX refused a command (`510`, `520` usage, unexpected reply)."""


@dataclass(frozen=True)
class PlayResult:
    digit: str | None = None  # a key pressed during playback, when keys may interrupt


@dataclass(frozen=True)
class RecordResult:
    path: Path  # the file Asterisk wrote (without extension handling: path as given + .wav)
    ended_by: str  # "silence", "timeout", "dtmf", "hangup", "no_speech"
    duration_ms: int | None = None


@dataclass(frozen=True)
class Heard:
    """A caller's answer heard over a media stream (StreamingChannel.listen)."""

    recognition: Recognition
    ended_by: str  # "speech" (they stopped), "no_speech", "max" (too long), "hangup"
    barged_in: bool = False  # they started over the prompt, which stopped


class CallChannel(Protocol):
    @property
    def variables(self) -> dict[str, str]:
        """Headers Asterisk sent at the start (agi_* without the prefix) and the query
        parameters of the AGI URL."""
        ...

    async def play(self, prompts: Sequence[str], interrupt_keys: str = "") -> PlayResult:
        """Play Asterisk sound names one after the other; stop at a key in interrupt_keys."""
        ...

    async def say_number(self, number: int, interrupt_keys: str = "") -> PlayResult: ...

    async def say_digits(self, digits: str, interrupt_keys: str = "") -> PlayResult: ...

    async def read_digits(self, prompt: str | None, timeout_ms: int, max_digits: int) -> str:
        """Play the prompt (may be None) and collect up to max_digits keys; '#' ends early.
        Returns "" on timeout with no key."""
        ...

    async def record(
        self,
        path: Path,
        max_ms: int,
        silence_s: int,
        beep: bool = False,
        start_ms: int | None = None,
    ) -> RecordResult:
        """Record the caller into `path` + ".wav" (8 kHz) until silence, timeout or '#'.
        With start_ms, silence ends the answer only once the caller has started speaking
        (waited for at most start_ms: ended_by "no_speech" if they never do)."""
        ...

    async def get_variable(self, name: str) -> str | None: ...

    async def set_variable(self, name: str, value: str) -> None: ...

    async def hangup(self) -> None: ...


@runtime_checkable
class StreamingChannel(Protocol):
    """A channel that hears answers as they are spoken (ivr.stream_channel): ask steps
    use `listen` instead of play + record + recognise a file."""

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
        """Play the prompt (stopped by the caller's speech when barge_in) and recognise
        the answer among `phrases`."""
        ...
