"""Prompt audio -> what Asterisk plays: 8 kHz, mono, 16-bit signed PCM WAV.

Campaign authors hand us wav, mp3 or ogg files at whatever rate a recording studio or a
text-to-speech service produced. Asterisk transcodes odd files on every playback (and
cannot play mp3/ogg at all without extra modules), so the campaign start converts them
once, before dialling, with `prepare_prompts`. Converted files are named by a hash of
their content: the same prompt used by ten campaigns is converted and stored once, and an
edited prompt gets a new name, so a call in progress never hears a half-replaced file.

Decoding goes through pydub, which runs ffmpeg for everything except plain PCM WAV.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import warnings
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydub import AudioSegment

log = logging.getLogger("ivr.prompts")

SAMPLE_RATE = 8000
CHANNELS = 1
SAMPLE_WIDTH = 2  # bytes: 16-bit signed PCM
SUBDIR = "dialer"  # under Asterisk's sounds directory; the played name is "dialer/<hash>"

# Part of the content hash: bump it when the conversion changes (filters, levels), so files
# converted by an older version are not reused as if they were current.
_CONVERSION_VERSION = b"pcm8k-mono-s16/1\0"
_HASH_CHARS = 16  # 64 bits: collisions among a campaign's prompts are not a concern
_READ_CHUNK = 1 << 20


class PromptError(Exception):
    """A prompt file cannot be used; raised before any call is placed."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"prompt {path}: {reason}")
        self.path = path
        self.reason = reason


class AudioDecodeError(Exception):
    """pydub/ffmpeg could not decode a file (or ffmpeg is missing)."""


def _pydub() -> type[AudioSegment]:
    # pydub imports audioop, which warns on Python 3.11/3.12 (removed in 3.13; the
    # audioop-lts package stands in there), and warns at import when ffmpeg is missing.
    # Neither is actionable at import time; we report a missing ffmpeg ourselves, when a
    # file needs it. Imported lazily so `import ivr.prompts` stays cheap.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        from pydub import AudioSegment
    segment: type[AudioSegment] = AudioSegment  # pydub is untyped: its class is Any
    return segment


def ffmpeg_path() -> str | None:
    return shutil.which("ffmpeg")


def decode_audio(path: Path) -> AudioSegment:
    """Any audio file pydub/ffmpeg can read, as an AudioSegment (at its own rate).

    Raises FileNotFoundError for a missing file and AudioDecodeError for anything else
    that cannot be decoded."""
    if not path.is_file():
        raise FileNotFoundError(path)
    audio_segment = _pydub()
    pcm_wav = _is_pcm_wav(path)
    if not pcm_wav and ffmpeg_path() is None:
        raise AudioDecodeError("ffmpeg is not installed (apt-get install ffmpeg)")
    try:
        if pcm_wav or path.suffix.lower() == ".wav":
            # Given the path of a WAV file, pydub parses it itself and leaves the file
            # open; with our own handle it cannot (and still falls back to ffmpeg).
            with path.open("rb") as f:
                return audio_segment.from_file(f, format="wav")
        return audio_segment.from_file(str(path))
    except AudioDecodeError:
        raise
    except Exception as exc:  # pydub raises CouldntDecodeError, IndexError, KeyError...
        raise AudioDecodeError(_reason(exc)) from exc


def to_pcm_8k(segment: AudioSegment) -> bytes:
    """Raw 8 kHz mono 16-bit frames of a segment (linear resampling: good enough for
    recognition; prompts use ffmpeg's filtered resampler instead, see `convert_prompt`)."""
    seg = segment.set_channels(CHANNELS).set_sample_width(SAMPLE_WIDTH)
    return bytes(seg.set_frame_rate(SAMPLE_RATE).raw_data)


def is_asterisk_format(reader: wave.Wave_read) -> bool:
    return (
        reader.getnchannels() == CHANNELS
        and reader.getsampwidth() == SAMPLE_WIDTH
        and reader.getframerate() == SAMPLE_RATE
        and reader.getcomptype() == "NONE"
    )


def content_name(source: Path) -> str:
    """The Asterisk sound name a source converts to: "dialer/<sha256[:16]>"."""
    digest = hashlib.sha256(_CONVERSION_VERSION)
    with source.open("rb") as f:
        while chunk := f.read(_READ_CHUNK):
            digest.update(chunk)
    return f"{SUBDIR}/{digest.hexdigest()[:_HASH_CHARS]}"


def prepare_prompts(sources: Sequence[Path], sounds_dir: Path) -> dict[Path, str]:
    """Convert every source to `<sounds_dir>/dialer/<hash>.wav` (8 kHz mono 16-bit) unless
    that file exists already, and return {source: Asterisk sound name without extension}.

    Blocking (ffmpeg runs as a subprocess): call it from a thread in async code. Raises
    PromptError for the first source that is missing or cannot be decoded or written."""
    names: dict[Path, str] = {}
    for source in sources:
        if source in names:
            continue
        names[source] = convert_prompt(source, sounds_dir)
    return names


def convert_prompt(source: Path, sounds_dir: Path) -> str:
    if not source.is_file():
        raise PromptError(source, "file not found" if not source.exists() else "not a file")
    try:
        name = content_name(source)
    except OSError as exc:
        raise PromptError(source, f"cannot read: {exc.strerror or exc}") from exc
    target = sounds_dir / f"{name}.wav"
    if target.is_file():
        log.debug("prompt %s already converted as %s", source, name)
        return name
    try:
        segment = decode_audio(source)
    except AudioDecodeError as exc:
        raise PromptError(source, f"not a playable audio file ({exc})") from exc
    if len(segment) == 0:
        raise PromptError(source, "the file holds no audio")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(segment, target)
    except AudioDecodeError as exc:
        raise PromptError(source, f"conversion failed ({exc})") from exc
    except OSError as exc:
        raise PromptError(source, f"cannot write {target}: {exc.strerror or exc}") from exc
    log.info("converted prompt %s -> %s (%.1f s)", source, name, len(segment) / 1000)
    return name


def pcm_segment(frames: bytes, rate: int) -> AudioSegment:
    """Raw 16-bit mono PCM at `rate` as an AudioSegment (a TTS voice's raw output)."""
    return _pydub()(data=frames, sample_width=SAMPLE_WIDTH, frame_rate=rate, channels=CHANNELS)


def write_playable(segment: AudioSegment, target: Path) -> None:
    """The segment as an 8 kHz mono 16-bit WAV at target, written beside it and renamed.
    Raises AudioDecodeError (conversion) or OSError (writing)."""
    _write_atomically(segment, target)


def _write_atomically(segment: AudioSegment, target: Path) -> None:
    # Write beside the target and rename: Asterisk (or a second dialer node sharing the
    # directory) never sees a half-written file, and a crash leaves no file that the
    # "target exists" cache check would take for a finished conversion.
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", suffix=".wav", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _write_pcm_8k(segment, tmp)
        tmp.chmod(0o644)  # mkstemp makes 0600; Asterisk may run as another user
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _write_pcm_8k(segment: AudioSegment, out: Path) -> None:
    if (segment.frame_rate, segment.channels, segment.sample_width) == (
        SAMPLE_RATE,
        CHANNELS,
        SAMPLE_WIDTH,
    ):
        _write_wav(out, bytes(segment.raw_data))
        return
    if segment.frame_rate == SAMPLE_RATE or ffmpeg_path() is None:
        # Only channel/width changes (exact), or no ffmpeg for a WAV source: linear.
        _write_wav(out, to_pcm_8k(segment))
        return
    # Downsampling: ffmpeg's resampler low-passes first, so sibilants of a 44.1 kHz
    # studio file do not fold back into the telephone band as hiss (audioop.ratecv,
    # which pydub's set_frame_rate uses, does not filter).
    seg = segment.set_sample_width(SAMPLE_WIDTH)
    params = ["-ar", str(SAMPLE_RATE), "-ac", str(CHANNELS), "-acodec", "pcm_s16le"]
    try:
        with out.open("wb+") as f:  # given a path, pydub returns the file still open
            seg.export(f, format="wav", parameters=params)
    except Exception as exc:  # pydub's CouldntEncodeError
        raise AudioDecodeError(_reason(exc)) from exc
    with wave.open(str(out), "rb") as w:
        if not is_asterisk_format(w):
            raise AudioDecodeError(f"ffmpeg wrote {w.getparams()}")


def _write_wav(out: Path, frames: bytes) -> None:
    with wave.open(str(out), "wb") as w:
        w.setnchannels(CHANNELS)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(frames)


def _is_pcm_wav(path: Path) -> bool:
    try:
        with wave.open(str(path), "rb") as w:
            return w.getparams().comptype == "NONE"
    except (wave.Error, EOFError, OSError):
        return False


def _reason(exc: BaseException) -> str:
    # pydub puts ffmpeg's whole banner in the message; its last line holds the reason
    # ("x.mp3: Invalid data found when processing input").
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    last = lines[-1]
    return last.split(": ", 1)[1] if ": " in last and "ffmpeg" in lines[0] else last
