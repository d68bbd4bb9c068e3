"""Texts spoken by a local text-to-speech voice, rendered once and cached as 8 kHz WAV.

    voices = TtsVoices(script.tts, script.language)
    name = voices.render("Здравствуйте, Анна!", None)  # blocking: "/cache/3fa4...", no ext
    name = await voices.speak(text, "irina")            # the same, off the event loop

A voice is a command (ivr.tts_settings) run without a shell: its arguments are a list,
the text travels on its standard input or as one whole argument, never through a shell,
so a contact named `$(rm -rf ~)` is only words. Its output (WAV, or raw PCM at the
voice's rate) is converted by ivr.prompts to what Asterisk plays without transcoding and
stored as `<cache_dir>/<sha256 of voice command, rate and text>[:16].wav`: the same text
in the same voice is rendered once, by whichever process or call gets there first
(written beside the target and renamed, so a concurrent writer or Asterisk never sees a
half-written file). The texts are contact data: they are never logged above DEBUG, and
errors name the voice, not the text. The audio of a text with contact fields is named
`p-<hash>.wav` and deleted `keep_personal` after it was last played (`sweep`); texts
without fields stay.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path

from dialer.durations import format_duration
from ivr.prompts import AudioDecodeError, decode_audio, pcm_segment, write_playable
from ivr.tts_settings import (
    DEFAULT_CACHE_DIR,
    PLACEHOLDER,
    TtsSettings,
    VoiceSettings,
    default_voice,
    voice_named,
)

log = logging.getLogger("ivr.tts")

# Part of the cache key: bump it when the conversion of a voice's output changes.
_RENDER_VERSION = "tts-pcm8k/1"
_HASH_CHARS = 16
_STDERR_SHOWN = 300
PERSONAL = "p-"  # file name prefix of texts with contact fields (swept after keep_personal)
SWEEP_EVERY_S = 3600.0


class TtsError(Exception):
    """A text could not be rendered: no such voice, the command failed or wrote nothing."""


def voice_argv(command: list[str], text: str, out: str) -> tuple[list[str], bytes | None]:
    """The argv to run and what goes to its standard input (None: nothing, the text is an
    argument). Each placeholder is replaced once, in a single pass: a text holding "{out}"
    stays that text."""
    values = {"text": text, "out": out}
    argv = [PLACEHOLDER.sub(lambda m: values[m.group(1)], argument) for argument in command]
    takes_text = any("{text}" in argument for argument in command)
    return argv, None if takes_text else text.encode("utf-8")


def cache_key(voice: VoiceSettings, text: str) -> str:
    blob = json.dumps([_RENDER_VERSION, voice.command, voice.rate, text], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:_HASH_CHARS]


class TtsVoices:
    """The script's voices and their cache; safe to share between calls and threads."""

    def __init__(self, settings: TtsSettings | None, language: str) -> None:
        self.settings = settings
        self.language = language
        self.cache_dir = settings.cache_dir if settings is not None else DEFAULT_CACHE_DIR
        self._rendering: dict[str, asyncio.Future[str]] = {}
        self.rendered = 0  # texts this process rendered (not found in the cache)
        self.keep_personal = (
            settings.keep_personal.total_seconds() if settings is not None else 86400.0
        )
        self._next_sweep = 0.0  # time.monotonic() of the next sweep of personal audio

    def voice(self, name: str | None) -> tuple[str, VoiceSettings]:
        chosen = name or default_voice(self.settings, self.language)
        found = voice_named(self.settings, chosen)
        if found is None:
            raise TtsError(f"no voice named {chosen!r}")
        return chosen, found

    def cached_name(self, text: str, voice: str | None, personal: bool = False) -> str:
        """What Asterisk plays for the text: the cache file's absolute path without .wav."""
        _, settings = self.voice(voice)
        prefix = PERSONAL if personal else ""
        return str(self.cache_dir.resolve() / f"{prefix}{cache_key(settings, text)}")

    def render(self, text: str, voice: str | None, personal: bool = False) -> str:
        """The text's audio in the cache (rendered now unless it is there already), as the
        name Asterisk plays. Blocking: run it in a thread from async code. A personal
        text (with contact fields) is kept keep_personal after its last use."""
        name, settings = self.voice(voice)
        played = self.cached_name(text, name, personal)
        target = Path(f"{played}.wav")
        if target.is_file():
            if personal:
                _touch(target)
            return played
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix=".render-", dir=self.cache_dir) as tmp:
                out = Path(tmp) / ("voice.raw" if settings.rate else "voice.wav")
                _run_voice(name, settings, text, out)
                segment = (
                    pcm_segment(out.read_bytes(), settings.rate)
                    if settings.rate
                    else decode_audio(out)
                )
                if len(segment) == 0:
                    raise TtsError(f"voice {name!r} wrote no audio")
                write_playable(segment, target)
        except AudioDecodeError as exc:
            raise TtsError(f"voice {name!r} wrote audio that cannot be read: {exc}") from exc
        except OSError as exc:
            raise TtsError(f"cannot write {self.cache_dir}: {exc.strerror or exc}") from exc
        self.rendered += 1
        log.debug("tts rendered %s with voice %s", target.name, name)
        return played

    def sweep(self, now: float | None = None) -> list[Path]:
        """Delete personal audio last used more than keep_personal ago; the files gone."""
        cutoff = (time.time() if now is None else now) - self.keep_personal
        gone: list[Path] = []
        try:
            listed = list(self.cache_dir.glob(f"{PERSONAL}*.wav"))
        except OSError:
            return gone
        for path in listed:
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    gone.append(path)
            except OSError:
                continue  # gone meanwhile (another node swept it)
        return gone

    async def speak(self, text: str, voice: str | None, personal: bool = False) -> str:
        """render() off the event loop; one rendering per text at a time in this process
        (calls asking for the same text wait for it; a caller that hangs up meanwhile
        cancels only its own wait). Personal audio older than keep_personal is swept at
        most once an hour, on the way."""
        if time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP_EVERY_S
            gone = await asyncio.to_thread(self.sweep)
            if gone:
                log.info("tts.personal_audio_deleted", extra={"count": len(gone)})
        played = self.cached_name(text, voice, personal)
        pending = self._rendering.get(played)
        if pending is None:
            target = Path(f"{played}.wav")
            if target.is_file():
                if personal:
                    await asyncio.to_thread(_touch, target)
                return played
            pending = asyncio.ensure_future(asyncio.to_thread(self.render, text, voice, personal))
            self._rendering[played] = pending
            pending.add_done_callback(lambda done: self._rendered(played, done))
        return await asyncio.shield(pending)

    def _rendered(self, played: str, done: asyncio.Future[str]) -> None:
        self._rendering.pop(played, None)
        if not done.cancelled():
            done.exception()  # retrieved: no warning when every caller had hung up


def _touch(path: Path) -> None:
    with contextlib.suppress(OSError):  # swept meanwhile: the next call renders it again
        os.utime(path)


def _run_voice(name: str, settings: VoiceSettings, text: str, out: Path) -> None:
    argv, stdin = voice_argv(settings.command, text, str(out))
    try:
        done = subprocess.run(  # an argv list, no shell: see the module doc
            argv,
            input=stdin if stdin is not None else b"",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=settings.timeout.total_seconds(),
            check=False,
        )
    except FileNotFoundError:
        hint = " (apt-get install espeak-ng)" if argv[0] == "espeak-ng" else ""
        raise TtsError(f"voice {name!r}: {argv[0]} is not installed{hint}") from None
    except PermissionError:
        raise TtsError(f"voice {name!r}: {argv[0]} cannot be run (permission denied)") from None
    except subprocess.TimeoutExpired:
        raise TtsError(
            f"voice {name!r} took longer than {format_duration(settings.timeout)}"
        ) from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = said[-1][:_STDERR_SHOWN] if said else "no message"
        raise TtsError(f"voice {name!r} failed (exit {done.returncode}): {why}")
    if not out.is_file() or out.stat().st_size == 0:
        raise TtsError(f"voice {name!r} wrote nothing to {{out}}")
