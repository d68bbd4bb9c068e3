"""Voice activity detection on the caller's 20 ms frames: when a turn starts and ends.

Each frame is classified voiced or not by WebRTC's VAD (the `webrtcvad-wheels` package,
aggressiveness 2: its binary wheels install without a compiler) or, where it is missing,
by energy (RMS above ENERGY_THRESHOLD). `Endpointer` turns the per-frame answers into
events: speech starts after `onset_ms` of voiced frames in a row (a click or a breath is
not a turn), and ends after `end_silence_ms` of unvoiced frames once it has started.
Times are frame counts since the start of listening, so the caller's own audio clock is
what counts, not when our event loop got round to the frame.
"""

from __future__ import annotations

import array
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from ivr.audiosocket import FRAME_BYTES, FRAME_MS

ENERGY_THRESHOLD = 600.0  # RMS of 16-bit samples, about -35 dBFS; line noise is far below
WEBRTC_MODE = 2  # 0 (least) .. 3 (most aggressive in calling frames unvoiced)

Classifier = Callable[[bytes], bool]


def rms(frame: bytes) -> float:
    samples = array.array("h", frame[: len(frame) - len(frame) % 2])
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


def energy_classifier(threshold: float = ENERGY_THRESHOLD) -> Classifier:
    return lambda frame: rms(frame) >= threshold


def default_classifier() -> tuple[str, Classifier]:
    """WebRTC's VAD when installed, else energy; with the name for logs and figures."""
    try:
        import webrtcvad
    except ImportError:
        return "energy", energy_classifier()
    vad = webrtcvad.Vad(WEBRTC_MODE)
    energy = energy_classifier(ENERGY_THRESHOLD / 4)

    def webrtc(frame: bytes) -> bool:
        # WebRTC calls a steady tone "speech"; the quiet floor keeps dial-line hiss out.
        if len(frame) != FRAME_BYTES:
            return energy(frame)
        return bool(vad.is_speech(frame, 8000)) and energy(frame)

    return "webrtc", webrtc


class Event(Enum):
    STARTED = "started"
    ENDED = "ended"


@dataclass
class Endpointer:
    """Speech start and end over a stream of frames (see the module docstring)."""

    classify: Classifier
    end_silence_ms: int = 600
    onset_ms: int = 60
    frames: int = 0  # frames seen so far
    started_at: int | None = None  # frame index of the first voiced frame of the turn
    ended_at: int | None = None  # frame index just after the last voiced frame
    voiced: bool = False  # the last frame fed
    _voiced_run: int = 0
    _silent_run: int = 0

    def feed(self, frame: bytes) -> Event | None:
        """Classify one frame; STARTED or ENDED when the turn changes state with it."""
        self.frames += 1
        voiced = self.voiced = self.classify(frame)
        if self.started_at is None:
            self._voiced_run = self._voiced_run + 1 if voiced else 0
            if self._voiced_run * FRAME_MS >= self.onset_ms:
                self.started_at = self.frames - self._voiced_run
                return Event.STARTED
            return None
        if self.ended_at is not None:
            return None
        self._silent_run = 0 if voiced else self._silent_run + 1
        if self._silent_run * FRAME_MS >= self.end_silence_ms:
            self.ended_at = self.frames - self._silent_run
            return Event.ENDED
        return None

    @property
    def silent_frames(self) -> int:
        """Unvoiced frames in a row since the turn's last voiced one."""
        return self._silent_run

    @property
    def speaking(self) -> bool:
        return self.started_at is not None and self.ended_at is None

    def ms(self, frame_index: int) -> int:
        return frame_index * FRAME_MS
