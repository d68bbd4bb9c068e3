"""The `ivr.tts:` section: where spoken texts are cached and which voices say them.

    ivr:
      tts:
        cache_dir: /var/lib/asterisk/sounds/dialer-tts
        voice: irina                       # omitted: espeak-<language>
        voices:
          irina:
            command: [piper, --model, /opt/piper/ru_RU-irina-medium.onnx,
                      --output_file, "{out}"]
          anna:
            command: [RHVoice-test, -p, anna, -o, "{out}"]

A voice is a command run without a shell: an argv list in which `{out}` is the file the
voice writes (WAV, or raw 16-bit mono PCM at `rate`) and `{text}`, when present, the text
as one argument; without `{text}` the text goes to the command's standard input (UTF-8).
`espeak-<language>` voices (espeak-ru, espeak-en...) are built in.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator

from dialer.durations import Duration
from ivr.script_fields import Name, StrictModel

DEFAULT_CACHE_DIR = Path("/var/lib/asterisk/sounds/dialer-tts")
ESPEAK_PREFIX = "espeak-"
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_KNOWN = {"text", "out"}

Argument = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class VoiceSettings(StrictModel):
    """A local text-to-speech command (Piper, RHVoice, another espeak-ng voice...)."""

    command: Annotated[list[Argument], Field(min_length=1)] = Field(
        description='argv, run without a shell: "{out}" is the file it writes, "{text}" the '
        "text as one argument (omitted: the text goes to its standard input)"
    )
    rate: int | None = Field(
        None,
        ge=8000,
        le=96000,
        description="the sample rate when the command writes raw 16-bit mono PCM (Piper's "
        "--output_raw); omitted: the file is WAV (or anything ffmpeg reads)",
    )
    timeout: Duration = Field(
        timedelta(seconds=30),
        gt=timedelta(0),
        le=timedelta(minutes=5),
        description="longest a text may take to render",
    )

    @field_validator("command")
    @classmethod
    def _placeholders(cls, value: list[str]) -> list[str]:
        for argument in value:
            for found in PLACEHOLDER.findall(argument):
                if found not in _KNOWN:
                    raise ValueError(
                        f"unknown placeholder {{{found}}} in {argument!r}: a command knows "
                        "{text} and {out}"
                    )
        if not any("{out}" in argument for argument in value):
            raise ValueError('the command must write its audio to "{out}"')
        if "{" in value[0]:
            raise ValueError("the program itself (the first item) cannot be a placeholder")
        return value


class TtsSettings(StrictModel):
    """Text-to-speech for `say: [{text: ...}]` items."""

    cache_dir: Path = Field(
        DEFAULT_CACHE_DIR,
        description="where rendered texts are kept (8 kHz WAV, named by a hash of text and "
        "voice): an absolute path Asterisk reads at the same place (same host or a shared "
        "volume); the dialer writes it",
    )
    voice: Name | None = Field(
        None, description="the voice of texts that name none; omitted: espeak-<language>"
    )
    keep_personal: Duration = Field(
        timedelta(days=1),
        gt=timedelta(0),
        description="texts with contact fields are personal data: their audio is deleted "
        "this long after it was last played (static texts are kept)",
    )
    voices: dict[Name, VoiceSettings] = Field(
        default_factory=dict,
        json_schema_extra={"additionalProperties": False},
        description="name -> a local TTS command; espeak-<language> voices are built in",
    )

    @field_validator("cache_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        if not value.is_absolute():
            raise ValueError(
                f"must be an absolute path (Asterisk plays the files from it), got {value}"
            )
        return value


def espeak_voice(language: str) -> VoiceSettings:
    """The built-in espeak-ng voice for a language code (text on standard input)."""
    return VoiceSettings(command=["espeak-ng", "-v", language, "--stdin", "-w", "{out}"])


def voice_named(settings: TtsSettings | None, name: str) -> VoiceSettings | None:
    """A voice by name: the script's own, else a built-in espeak-<language>; None if neither."""
    if settings is not None and name in settings.voices:
        return settings.voices[name]
    if name.startswith(ESPEAK_PREFIX) and re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]+)?", name[7:]):
        return espeak_voice(name[len(ESPEAK_PREFIX) :])
    return None


def default_voice(settings: TtsSettings | None, language: str) -> str:
    return (settings.voice if settings is not None else None) or f"{ESPEAK_PREFIX}{language}"
