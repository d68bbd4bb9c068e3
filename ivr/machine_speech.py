"""Human or answering machine, from the first seconds of what the callee says.

    ivr:
      machine_speech:
        listen: 5s          # the callee's first words, recorded for at most this long
        max_words: 5        # more words than this before a pause: a machine
        max_speech: 3s      # longer speech than this: a machine
        beep: true          # a steady tone: a machine
        phrases: {ru: [оставьте сообщение]}   # replace the built-in greeting phrases
        act: false          # false: only report the verdict beside AMD's; true: act on it
        on_machine: voicemail   # act: the step a machine gets; omitted: hang up

A person answers "Алло?" or "Да, слушаю" and waits; a voicemail greeting speaks whole
sentences ("Здравствуйте, вы позвонили ..., оставьте сообщение после сигнала") and may
end with a beep. `decide` weighs what was heard (pure: the recording, recognition and
audio analysis are done by ivr.run_machine); the verdict is stored beside Asterisk's
AMD() verdict in the attempt, so a campaign can run with `act: false` first and compare.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from pydantic import Field, field_validator

from dialer.durations import Duration, format_duration
from ivr.intents import normalise
from ivr.script_fields import Phrases, StepName, StrictModel

# Phrases of operators' and phones' voicemail greetings; a match anywhere is a machine.
GREETING_PHRASES: dict[str, list[str]] = {
    "ru": [
        "оставьте сообщение", "оставьте ваше сообщение", "после сигнала", "после звукового сигнала",
        "автоответчик", "голосовой почты", "голосовая почта", "абонент не может ответить",
        "абонент недоступен", "аппарат абонента выключен", "вне зоны действия сети",
        "не может ответить на ваш звонок", "перезвоните позже",
    ],
    "en": [
        "leave a message", "leave your message", "after the tone", "after the beep",
        "voicemail", "voice mail", "not available", "can't take your call",
        "cannot take your call", "is unavailable", "please record your message",
    ],
}  # fmt: skip


class Verdict(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"
    UNSURE = "unsure"  # nothing said: a silent person and a silent machine sound alike


class MachineSpeechSettings(StrictModel):
    """Answering-machine detection by what the callee says first (besides AMD())."""

    listen: Duration = Field(
        timedelta(seconds=5),
        ge=timedelta(seconds=1),
        le=timedelta(seconds=30),
        description="the callee's first words are recorded for at most this long",
    )
    silence: Duration = Field(
        timedelta(seconds=1),
        description="this much silence after speech ends the listening; whole seconds",
    )
    max_words: int = Field(
        5, ge=1, le=100, description="more recognised words than this: a machine"
    )
    max_speech: Duration = Field(
        timedelta(seconds=3),
        gt=timedelta(0),
        description="more speech than this (beeps left out): a machine",
    )
    beep: bool = Field(True, description="a steady tone (a voicemail beep): a machine")
    phrases: Phrases | None = Field(
        None,
        description="greeting phrases per language that mean a machine; omitted: the "
        "built-in lists for ru and en",
    )
    act: bool = Field(
        False,
        description="false: only record the verdict beside AMD's (to tune first); "
        "true: a machine goes to on_machine",
    )
    on_machine: StepName | None = Field(
        None, description="act: the step a machine gets (e.g. a message); omitted: hang up"
    )

    @field_validator("silence")
    @classmethod
    def _whole_seconds(cls, value: timedelta) -> timedelta:
        seconds = value.total_seconds()
        if seconds < 1 or seconds != int(seconds):
            raise ValueError(f"must be whole seconds, at least 1s, got {format_duration(value)}")
        return value

    def greeting_phrases(self, language: str) -> list[str]:
        chosen = GREETING_PHRASES if self.phrases is None else self.phrases
        return list(chosen.get(language, []))


@dataclass(frozen=True)
class Heard:
    """What the first seconds held."""

    transcript: str  # recognised words, "" when nothing was recognised
    voiced_ms: int  # speech-like sound, beeps left out
    beep_hz: float | None  # a beep's frequency, None when there was none
    spoke: bool = True  # False: the callee said nothing at all before `listen` ran out


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str  # for the report: "beep at 1000 Hz", "12 words", "phrase 'после сигнала'"


def decide(heard: Heard, settings: MachineSpeechSettings, language: str) -> Decision:
    """The verdict and why, in the order of certainty: a beep, a greeting phrase, too many
    words, too long a speech; a short answer is a person."""
    if settings.beep and heard.beep_hz is not None:
        return Decision(Verdict.MACHINE, f"beep at {heard.beep_hz:.0f} Hz")
    text = normalise(heard.transcript)
    padded = f" {text} "
    for phrase in settings.greeting_phrases(language):
        if f" {normalise(phrase)} " in padded:
            return Decision(Verdict.MACHINE, f"phrase {phrase!r}")
    words = len(text.split())
    if words > settings.max_words:
        return Decision(Verdict.MACHINE, f"{words} words (more than {settings.max_words})")
    limit_ms = int(settings.max_speech.total_seconds() * 1000)
    if heard.voiced_ms > limit_ms:
        limit = format_duration(settings.max_speech)
        said = f"{heard.voiced_ms / 1000:.1f}s of speech (more than {limit})"
        return Decision(Verdict.MACHINE, said)
    if not heard.spoke or (words == 0 and heard.voiced_ms == 0):
        return Decision(Verdict.UNSURE, "nothing said")
    return Decision(Verdict.HUMAN, f"{words} words, {heard.voiced_ms / 1000:.1f}s of speech")
