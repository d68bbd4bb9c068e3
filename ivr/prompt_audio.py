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
from ivr.tts import PERSONAL

EXTENSIONS = ("wav", "sln", "gsm", "ulaw", "alaw", "mp3", "ogg")


def _ulaw(byte: int) -> int:
    u = ~byte & 0xFF
    magnitude = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return (0x84 - magnitude) if u & 0x80 else (magnitude - 0x84)


def _alaw(byte: int) -> int:
    a = byte ^ 0x55
    exponent, mantissa = (a & 0x70) >> 4, a & 0x0F
    magnitude = (
        (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    )
    return magnitude if a & 0x80 else -magnitude


# G.711 (Asterisk's .ulaw/.alaw files: raw 8 kHz bytes) -> 16-bit little-endian samples.
_G711 = {
    "ulaw": [_ulaw(b).to_bytes(2, "little", signed=True) for b in range(256)],
    "alaw": [_alaw(b).to_bytes(2, "little", signed=True) for b in range(256)],
}


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
        if _personal(name):  # one call's say text (ivr.tts): read, never kept in memory
            return decode_pcm(self.find(name))
        with self._lock:
            cached = self._cache.get(name)
            if cached is None:
                cached = decode_pcm(self.find(name))
                self._cache[name] = cached
            return cached

    def find(self, name: str) -> Path:
        mapped = self._playable.get(name)
        bases = [Path(mapped)] if mapped else []
        if Path(name).is_absolute():  # a rendered say text: <tts cache_dir>/<hash>
            bases.append(Path(name))
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


def _personal(name: str) -> bool:
    """A say text with contact fields, as ivr.tts names its audio (p-<hash>)."""
    path = Path(name)
    return path.is_absolute() and path.name.startswith(PERSONAL)


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
        if ext in _G711:
            table = _G711[ext]
            return b"".join(table[b] for b in path.read_bytes())
        return prompts.to_pcm_8k(prompts.decode_audio(path))
    except Exception as exc:  # ffmpeg/pydub fail in many ways; all mean "cannot decode"
        raise PromptAudioError(f"prompt {path} cannot be decoded: {exc}") from exc
