"""One run of a script on one call: the call it reached (CallContext) and the state the
step runners share (RunState): the channel, the recogniser, the clock and the result
collected so far."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ivr.channel import CallChannel, CallerHungUp
from ivr.recognition import SpeechRecognizer
from ivr.run_result import EndedBy, IvrResult
from ivr.script import IvrScript


@dataclass(frozen=True)
class CallContext:
    """The call and the contact it reached."""

    attempt_id: str
    number: str  # E.164
    campaign: str
    name: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)  # the contact's custom fields
    timezone: str | None = None  # IANA name; None: UTC


OptoutHook = Callable[[CallContext], Awaitable[None]]


class Voices(Protocol):
    """Text-to-speech for say texts (ivr.tts.TtsVoices): the name Asterisk plays."""

    async def speak(self, text: str, voice: str | None, personal: bool = False) -> str: ...


class ScriptError(Exception):
    """The script cannot go on (unknown step, no recogniser, too many steps)."""


class HungUpAnswering(CallerHungUp):
    """The caller hung up right after an answer (the recording ended by the hangup)."""

    def __init__(self, answer: str | None) -> None:
        super().__init__("caller hung up while answering")
        self.answer = answer  # the intent (or survey choice) those last words matched


@dataclass
class RunState:
    """One call's run of a script, as every step runner sees it."""

    script: IvrScript
    channel: CallChannel
    call: CallContext
    recognizer: SpeechRecognizer | None
    clock: Callable[[], datetime]
    on_optout: OptoutHook | None
    voices: Voices | None = None
    result: IvrResult = field(default_factory=IvrResult)
    ended: bool = False  # by a step (hangup, transfer, optout), not by running out of steps

    async def end(self, how: EndedBy) -> None:
        self.result.ended_by, self.ended = how, True
        if how is EndedBy.TRANSFER:
            return  # the dialplan goes on to Queue()
        # The script had ended anyway if the caller was just quicker.
        with contextlib.suppress(CallerHungUp):
            await self.channel.hangup()

    async def record_optout(self) -> None:
        """The number goes on the do-not-call list now, before anything else plays."""
        self.result.optout = True
        if self.on_optout is not None:
            await self.on_optout(self.call)
