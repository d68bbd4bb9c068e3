"""The speech recognition seam: what the interpreter asks a recogniser, what it gets back.

The interpreter records the caller's answer and asks a `SpeechRecognizer` what was said,
giving the phrases the step listens for. `ivr.speech.VoskRecognizer` is the real one;
tests use recognisers in memory. This module is kept apart from ivr.speech so that
running a script never imports Vosk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Recognition:
    """What a recogniser heard in one recording."""

    text: str  # lower-case words, "[unk]" removed; "" when nothing was recognised
    confidence: float  # 0..1; below the campaign's threshold means "no match"


NO_MATCH = Recognition("", 0.0)


class SpeechRecognizer(Protocol):
    async def recognize(self, wav: Path, phrases: Sequence[str], language: str) -> Recognition:
        """What the caller said in `wav`, among `phrases` when the model can restrict
        itself to them. Raises (ivr.speech.SpeechError for Vosk) when the model or the
        audio is unusable; hearing nothing is NO_MATCH, not an error."""
        ...
