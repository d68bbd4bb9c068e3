"""Prompt files of a script, made playable before the campaign starts.

A script names prompts the way Asterisk does (`dialer/offer`, no extension). When the
script has a `sounds_dir`, every prompt found there is played from that file by its
absolute path (Asterisk's STREAM FILE accepts one, without extension); wav/mp3/ogg files
are first converted to 8 kHz mono 16-bit WAV by ivr.prompts (cached by content hash), so
a broken file stops the start instead of silencing a live call. Prompts not found there
are Asterisk's own sounds and pass through unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from ivr.channel import CallChannel, PlayResult, RecordResult
from ivr.prompts import prepare_prompts
from ivr.script import IvrScript
from ivr.script_check import SOUND_EXTENSIONS

CONVERTED = ("wav", "mp3", "ogg")  # what pydub turns into Asterisk's 8 kHz WAV


def script_prompt_files(script: IvrScript) -> dict[str, Path]:
    """{prompt name: its source file} for every prompt of the script found in sounds_dir."""
    if script.sounds_dir is None:
        return {}
    roots = (script.sounds_dir, script.sounds_dir / script.language)
    files: dict[str, Path] = {}
    for step in script.steps.values():
        for _, sound in step.sounds():
            for root in roots:
                found = next(
                    (root / f"{sound}.{ext}" for ext in SOUND_EXTENSIONS
                     if (root / f"{sound}.{ext}").is_file()),
                    None,
                )  # fmt: skip
                if found is not None:
                    files[sound] = found
                    break
    return files


def prepare_script_prompts(script: IvrScript) -> dict[str, str]:
    """{prompt name: what to play}. Blocking (ffmpeg): run it in a thread. Raises
    ivr.prompts.PromptError for a missing or undecodable file."""
    files = script_prompt_files(script)
    if not files:
        return {}
    assert script.sounds_dir is not None
    to_convert = [f for f in files.values() if f.suffix[1:].lower() in CONVERTED]
    converted = prepare_prompts(to_convert, script.sounds_dir) if to_convert else {}
    playable: dict[str, str] = {}
    for name, source in files.items():
        if source in converted:
            playable[name] = str((script.sounds_dir / converted[source]).resolve())
        else:  # a format Asterisk plays as it is (gsm, ulaw...)
            playable[name] = str(source.resolve().with_suffix(""))
    return playable


class PromptFilesChannel:
    """A CallChannel that plays a script's prompt names from their prepared files."""

    def __init__(self, channel: CallChannel, playable: Mapping[str, str]) -> None:
        self._channel = channel
        self._playable = playable

    def _map(self, name: str) -> str:
        return self._playable.get(name, name)

    @property
    def variables(self) -> dict[str, str]:
        return self._channel.variables

    async def play(self, prompts: Sequence[str], interrupt_keys: str = "") -> PlayResult:
        return await self._channel.play([self._map(p) for p in prompts], interrupt_keys)

    async def say_number(self, number: int, interrupt_keys: str = "") -> PlayResult:
        return await self._channel.say_number(number, interrupt_keys)

    async def say_digits(self, digits: str, interrupt_keys: str = "") -> PlayResult:
        return await self._channel.say_digits(digits, interrupt_keys)

    async def read_digits(self, prompt: str | None, timeout_ms: int, max_digits: int) -> str:
        mapped = None if prompt is None else self._map(prompt)
        return await self._channel.read_digits(mapped, timeout_ms, max_digits)

    async def record(
        self,
        path: Path,
        max_ms: int,
        silence_s: int,
        beep: bool = False,
        start_ms: int | None = None,
    ) -> RecordResult:
        return await self._channel.record(path, max_ms, silence_s, beep, start_ms)

    async def get_variable(self, name: str) -> str | None:
        return await self._channel.get_variable(name)

    async def set_variable(self, name: str, value: str) -> None:
        await self._channel.set_variable(name, value)

    async def hangup(self) -> None:
        await self._channel.hangup()
