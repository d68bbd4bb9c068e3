"""The `ivr:` section of a campaign file: a small graph of named steps (pydantic models).

    ivr:
      start: greeting
      steps:
        greeting: {kind: play, prompts: [dialer/hello], next: offer}
        offer:
          kind: menu
          prompt: dialer/press-1-or-2
          keys: {"1": interested, "2": goodbye}
          on_timeout: goodbye
        interested: {kind: transfer, queue: dialer-operators, max_wait: 30s}
        goodbye: {kind: hangup, prompt: dialer/goodbye}

The steps themselves are in ivr.script_steps, their field types in ivr.script_fields;
rules that need the whole graph (references, reachability, loops, prompt files, phrases
per language) are in ivr.script_check, so the campaign loader can report them with
file:line:column too.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from dialer.durations import Duration, format_duration
from ivr.machine_speech import MachineSpeechSettings
from ivr.script_fields import Language, StepName, StrictModel
from ivr.script_steps import Step
from ivr.tts_settings import TtsSettings


class SpeechSettings(StrictModel):
    """Offline speech recognition (Vosk) for ask steps and spoken survey answers."""

    model_dir: Path = Field(description="directory of the Vosk model for the script's language")
    confidence: float = Field(
        0.5, ge=0.0, le=1.0, description="answers recognised with less confidence do not count"
    )
    record_dir: Path = Field(
        Path("/var/spool/asterisk/dialer-recordings"),
        description="where Asterisk writes the recorded answers and the dialer reads them: "
        "an absolute path, the same on both hosts (or a shared volume)",
    )
    keep_recordings: Literal["recognised"] | Duration | None = Field(
        None,
        description="how long recordings are kept: a duration (30d: deleted by the dialer "
        "once older), recognised (deleted as soon as recognised; the transcript stays), "
        "or omitted: kept",
    )
    max_record: Duration = Field(
        timedelta(seconds=10),
        gt=timedelta(0),
        le=timedelta(seconds=120),
        description="longest answer recorded",
    )
    silence: Duration = Field(
        timedelta(seconds=2),
        description="this much silence ends an answer once the caller has started "
        "speaking; whole seconds, at least 1s",
    )
    end_silence: Duration = Field(
        timedelta(milliseconds=300),
        ge=timedelta(milliseconds=100),
        le=timedelta(seconds=5),
        description="media stream only: this much silence after the caller's words ends "
        "their turn (voice activity detection; RECORD FILE uses silence instead)",
    )
    speech_start: Duration = Field(
        timedelta(seconds=5),
        ge=timedelta(milliseconds=500),
        le=timedelta(seconds=30),
        description="how long after the question the caller may take to start answering; "
        "then the try ends with no answer",
    )

    @field_validator("record_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # Asterisk would write a relative path under its own sounds directory while the
        # dialer looked in its working directory: the two would never meet.
        if not value.is_absolute():
            raise ValueError(
                f"must be an absolute path (Asterisk and the dialer both use it), got {value}"
            )
        return value

    @field_validator("silence")
    @classmethod
    def _whole_seconds(cls, value: timedelta) -> timedelta:
        # Asterisk's RECORD FILE takes silence as whole seconds (s=<n>).
        seconds = value.total_seconds()
        if seconds < 1 or seconds != int(seconds):
            raise ValueError(f"must be whole seconds, at least 1s, got {format_duration(value)}")
        return value


class IvrScript(StrictModel):
    """The IVR scenario run on every answered call: named steps, starting at start."""

    start: StepName = Field(description="the first step")
    steps: Annotated[dict[StepName, Step], Field(min_length=1)] = Field(
        json_schema_extra={"additionalProperties": False},
        description="step name -> step; each step has a kind: play, menu, ask, survey, "
        "set, transfer, optout or hangup",
    )
    language: Language = Field(
        "ru", description="language code of the prompts and of the phrases recognised"
    )
    speech: SpeechSettings | None = Field(
        None, description="speech recognition; needed by ask steps and spoken survey answers"
    )
    sounds_dir: Path | None = Field(
        None,
        description="directory holding the prompt files (relative: to the campaign file); "
        "when given, every prompt must exist there; omitted: prompts are not checked",
    )
    machine_speech: MachineSpeechSettings | None = Field(
        None,
        description="tell a person from an answering machine by the callee's first words "
        "(besides AMD()); needs speech",
    )
    tts: TtsSettings | None = Field(
        None,
        description="text-to-speech for say: [{text: ...}] items: cache directory and voices; "
        "omitted: espeak-ng in the script's language, cached in "
        "/var/lib/asterisk/sounds/dialer-tts",
    )
