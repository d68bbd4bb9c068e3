"""Callees that really speak, for answered-call tests on a REAL Asterisk.

A test-only context (added with ExtraConfig, never in asterisk-config/) answers, plays
the audio file named after the number it was called on, and hangs up: the file holds
the whole callee side (silence while the script's prompt plays, words, silence, or a
greeting and a beep), so what Asterisk records is what the file says, when it says it.
Files are 8 kHz mono 16-bit WAV made with espeak-ng and sox (tests/audio.py).

    with speaking_asterisk(binary, tmp) as (pbx, voices):
        make_voice(voices, "+79120000001", [("silence", 0.6), ("say", YES), ("silence", 5)])
        ... dial "Local/{number}@test-speaker" ...
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.asterisk.private_asterisk import ExtraConfig, RealAsterisk, start_private_asterisk
from tests.audio import run, say, silence

SPEAKER_DIAL = "Local/{number}@test-speaker"
# What on_answer.media: stream needs: AudioSocket() run by the FastAGI script.
AUDIOSOCKET_MODULES = ("res_audiosocket.so", "app_audiosocket.so")

# ("silence", seconds) | ("say", text) | ("beep", seconds) | ("file", path of a WAV)
Part = tuple[str, float | str]


def speaker_context(voices: Path) -> str:
    # The number with its + dropped names the file; Hangup after it: the far end leaves
    # (a real line would too), and a test that wants the callee to stay pads the file.
    return (
        "[test-speaker]\n"
        "exten => _+X.,1,Goto(${EXTEN:1},1)\n"
        "exten => _X.,1,Answer()\n"
        f" same => n,Playback({voices}/${{EXTEN}})\n"
        " same => n,Hangup(16)\n"
    )


def greeting(voices: Path, seconds: float) -> list[Part]:
    """An answering machine's spoken greeting of `seconds`: sentences with pauses of
    1.4 s between them (0.8 s plus the 0.3 s of silence around each spoken sentence), as
    in "You have reached Anna. ... Please leave a message after the tone." """
    sentence = voices / "sentence.wav"
    if not sentence.exists():
        say("안녕하세요 지금은 전화를 받을 수 없습니다", sentence)
    length = wav_seconds(sentence)
    parts: list[Part] = []
    left = seconds
    while left >= length + 0.8:
        parts += [("file", str(sentence)), ("silence", 0.8)]
        left -= length + 0.8
    parts.append(("silence", round(left, 3)))
    return parts


def make_voice(voices: Path, number: str, parts: Sequence[Part]) -> Path:
    """The callee side for `number`: the parts one after the other in one WAV file."""
    pieces = []
    work = voices / "parts"
    work.mkdir(exist_ok=True)
    for i, (kind, value) in enumerate(parts):
        piece = work / f"{number.lstrip('+')}-{i}.wav"
        if kind == "silence":
            silence(piece, float(value))
        elif kind == "say":
            say(str(value), piece)
        elif kind == "file":
            shutil.copyfile(str(value), piece)
        elif kind == "beep":  # an answering machine's beep: a 1 kHz tone
            run(
                "sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(piece),
                "synth", str(value), "sine", "1000", "vol", "0.5",
            )  # fmt: skip
        else:
            raise ValueError(f"unknown part {kind!r}")
        pieces.append(str(piece))
    out = voices / f"{number.lstrip('+')}.wav"
    if len(pieces) == 1:
        shutil.copyfile(pieces[0], out)
    else:
        run("sox", *pieces, str(out))
    return out


def wav_seconds(path: Path) -> float:
    out = subprocess.run(
        ["soxi", "-D", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return float(out)


@contextlib.contextmanager
def speaking_asterisk(
    binary: Path, load: tuple[str, ...] = ()
) -> Iterator[tuple[RealAsterisk, Path]]:
    """A private Asterisk with [test-speaker], and the directory its voices live in;
    `load`: modules the harness leaves out by default (e.g. AUDIOSOCKET_MODULES)."""
    # Short paths: the control socket must fit a Unix socket path (108 bytes).
    tmpdir = Path(tempfile.mkdtemp(prefix="dialer-ast-", dir="/tmp"))
    voices = tmpdir / "voices"
    voices.mkdir()
    extra = ExtraConfig(appends={"extensions.conf": speaker_context(voices)}, load=load)
    try:
        with start_private_asterisk(binary, tmpdir / "ast", extra=extra) as pbx:
            yield pbx, voices
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
