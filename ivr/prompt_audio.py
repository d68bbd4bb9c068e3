"""Prompt names -> the 8 kHz 16-bit PCM the media stream sends, decoded once per process.

Over FastAGI Asterisk finds a prompt by its sound name; over the media stream the dialer
sends the audio itself, so it must find the file. A name is looked up in the campaign's
prepared prompts (ivr.prompt_files: name -> absolute path without extension) and then in
the configured sound directories (`media.sounds_dirs`, e.g. Asterisk's
/usr/share/asterisk/sounds/en), trying the formats Asterisk ships (wav, gsm, ulaw, alaw,
sln). Anything but 8 kHz mono 16-bit WAV goes through ivr.prompts (pydub/ffmpeg).
"""

from __future__ import annotations

import asyncio
import threading
import wave
from collections.abc import Mapping, Sequence
from pathlib import Path

from ivr import prompts

EXTENSIONS = ("wav", "sln", "gsm", "ulaw", "alaw", "mp3", "ogg")
_FFMPEG_FORMATS = {"ulaw": "mulaw", "alaw": "alaw", "sln": "s16le"}


class PromptAudioError(Exception):
    """A prompt cannot be found or decoded for the media stream."""


class PromptAudio:
    """Finds and decodes prompts; keeps each one's PCM for the life of the process."""

    def __init__(self, playable: Mapping[str, str], sounds_dirs: Sequence[Path]) -> None:
        self._playable = dict(playable)
        self._dirs = list(sounds_dirs)
        self._cache: dict[str, bytes] = {}
        self._lock = threading.Lock()

    async def pcm(self, name: str) -> bytes:
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        return await asyncio.to_thread(self.pcm_blocking, name)

    def pcm_blocking(self, name: str) -> bytes:
        with self._lock:
            cached = self._cache.get(name)
            if cached is None:
                cached = decode_pcm(self.find(name))
                self._cache[name] = cached
            return cached

    def find(self, name: str) -> Path:
        mapped = self._playable.get(name)
        bases = [Path(mapped)] if mapped else []
        bases += [root / name for root in self._dirs]
        for base in bases:
            if base.suffix[1:] in EXTENSIONS and base.is_file():
                return base
            for ext in EXTENSIONS:
                candidate = base.with_name(f"{base.name}.{ext}")
                if candidate.is_file():
                    return candidate
        where = ", ".join(str(d) for d in self._dirs) or "no media.sounds_dirs configured"
        raise PromptAudioError(f"prompt {name!r} not found for the media stream (in: {where})")


def decode_pcm(path: Path) -> bytes:
    """The file as raw 8 kHz mono 16-bit PCM."""
    try:
        with wave.open(str(path), "rb") as w:
            if prompts.is_asterisk_format(w):
                return w.readframes(w.getnframes())
    except (wave.Error, EOFError):
        pass  # not PCM WAV: ffmpeg below
    except OSError as exc:
        raise PromptAudioError(f"prompt {path} cannot be read: {exc}") from exc
    ext = path.suffix[1:].lower()
    try:
        if ext == "sln":
            return path.read_bytes()
        if ext in _FFMPEG_FORMATS:
            segment = prompts._pydub().from_file(
                str(path), format=_FFMPEG_FORMATS[ext], frame_rate=8000, channels=1,
                sample_width=2 if ext == "sln" else 1,
            )  # fmt: skip
        else:
            segment = prompts.decode_audio(path)
        return prompts.to_pcm_8k(segment)
    except (prompts.AudioDecodeError, OSError, Exception) as exc:
        raise PromptAudioError(f"prompt {path} cannot be decoded: {exc}") from exc
