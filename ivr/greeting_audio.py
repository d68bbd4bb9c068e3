"""What the first seconds of an answered call sound like: how long the callee spoke, and
whether a beep (an answering machine's "leave your message after the tone") was heard.

    heard = analyse_greeting(pcm_8k_mono_s16le)
    heard.voiced_ms, heard.beep_hz

Pure computation over 16-bit mono PCM, 20 ms frames:

- a frame is *tonal* when its rising zero crossings are evenly spaced (one period each,
  found by interpolation between samples) and a Goertzel filter at the frequency they
  give holds most of the frame's energy: a sine does, speech (harmonics, noise) does not;
- a beep is at least BEEP_MS of consecutive tonal frames within 5% of one frequency,
  between 300 and 3000 Hz;
- voiced time is the frames louder than VOICE_RMS that are not tonal.
"""

from __future__ import annotations

import itertools
import math
import struct
from dataclasses import dataclass

RATE = 8000
FRAME = 160  # 20 ms at 8 kHz
BEEP_MS = 100
VOICE_RMS = 300.0  # about -40 dBFS: quieter frames are line noise
_TONE_SHARE = 0.7  # energy at the crossing frequency / frame energy, for a tonal frame
_REGULAR = 0.04  # largest deviation of one period from their mean, as a share of it
_LOW_HZ, _HIGH_HZ = 300.0, 3000.0
_SAME_TONE = 0.05


@dataclass(frozen=True)
class GreetingAudio:
    voiced_ms: int  # speech-like sound, beeps left out
    beep_hz: float | None  # the frequency of the first beep heard, None if none
    beep_at_ms: int | None = None


def analyse_greeting(pcm: bytes, rate: int = RATE) -> GreetingAudio:
    count = len(pcm) // 2
    samples = struct.unpack(f"<{count}h", pcm[: count * 2])
    frame = rate * FRAME // RATE
    frame_ms = 1000 * frame // rate
    voiced = 0
    run_hz: list[float] = []
    run_start = 0
    beep: tuple[float, int] | None = None
    for index in range(0, count - frame + 1, frame):
        chunk = samples[index : index + frame]
        hz = _tone(chunk, rate)
        if hz is not None and run_hz and abs(hz - run_hz[0]) <= _SAME_TONE * run_hz[0]:
            run_hz.append(hz)
        elif hz is not None:
            run_hz, run_start = [hz], index
        else:
            run_hz = []
            if _rms(chunk) >= VOICE_RMS:
                voiced += frame_ms
        if beep is None and len(run_hz) * frame_ms >= BEEP_MS:
            beep = (sum(run_hz) / len(run_hz), 1000 * run_start // rate)
    if beep is None:
        return GreetingAudio(voiced, None)
    return GreetingAudio(voiced, round(beep[0], 1), beep[1])


def _rms(chunk: tuple[int, ...]) -> float:
    return math.sqrt(sum(s * s for s in chunk) / len(chunk)) if chunk else 0.0


def _tone(chunk: tuple[int, ...], rate: int) -> float | None:
    """The frequency of a frame that is one steady tone, else None."""
    energy = sum(s * s for s in chunk)
    if energy < VOICE_RMS * VOICE_RMS * len(chunk):
        return None
    crossings = [
        i - 1 + chunk[i - 1] / (chunk[i - 1] - chunk[i])
        for i in range(1, len(chunk))
        if chunk[i - 1] < 0 <= chunk[i]
    ]
    if len(crossings) < 3:
        return None
    periods = [b - a for a, b in itertools.pairwise(crossings)]
    mean = sum(periods) / len(periods)
    if max(abs(p - mean) for p in periods) > _REGULAR * mean:
        return None
    hz = rate / mean
    if not _LOW_HZ <= hz <= _HIGH_HZ:
        return None
    share = 2 * _goertzel(chunk, hz, rate) / (len(chunk) * energy)
    return hz if share >= _TONE_SHARE else None


def _goertzel(chunk: tuple[int, ...], hz: float, rate: int) -> float:
    """|X(hz)|^2 of the frame, at exactly hz (not a DFT bin)."""
    coefficient = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for sample in chunk:
        s1, s2 = sample + coefficient * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coefficient * s1 * s2
