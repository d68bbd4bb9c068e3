"""Recording an answer that may start late: wait up to `speech_start` for the caller to
begin, and only then let `silence` end the answer.

Asterisk's RECORD FILE with s=<n> counts silence from the start of the recording, so
with `silence: 2s` a caller who begins 2.5 s after the question was cut off before the
first word (and the retry prompt then talked over the answer). FastAGI cannot stop a
running RECORD FILE, so the wait is recorded in short chunks into the same file (each
RECORD FILE continues at the previous one's end: its sample offset), and the dialer
listens to each chunk itself. Once it hears speech, one RECORD FILE with s=<silence>
records the rest of the answer into the same file. The chunks' round trips lose at
most a frame or two of a line's silence; the speech itself is in one piece.

    result = await record_answer(record_chunk, path, start_ms=5000, max_ms=10000, silence_s=2)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from ivr.channel import RecordResult

CHUNK_MS = 250
WAV_HEADER = 44  # bytes before the samples in the WAV files Asterisk writes
FRAME = 160  # samples: 20 ms at 8 kHz
# Mean absolute level of a frame that is voice, not line noise: Asterisk's own silence
# threshold (dsp.conf silencethreshold, 256).
SPEECH_LEVEL = 256
SPEECH_FRAMES = 5  # this many frames in a row (100 ms) are speech starting

# (path, max_ms, silence_s, sample offset) -> RECORD FILE's result
RecordChunk = Callable[[Path, int, int, int], Awaitable[RecordResult]]


async def record_answer(
    record: RecordChunk, path: Path, start_ms: int, max_ms: int, silence_s: int
) -> RecordResult:
    """Record into `path`.wav: nothing but chunks until speech starts (at most start_ms),
    then the answer until silence_s of silence or max_ms. ended_by is "no_speech" when
    the caller never started."""
    wav = Path(f"{path}.wav")
    waited = samples = 0
    while waited < start_ms:
        chunk = min(CHUNK_MS, start_ms - waited)
        got = await record(path, chunk, 0, samples)
        waited += chunk
        if got.ended_by in ("hangup", "dtmf"):
            return got
        # A word may start at the end of one chunk: look back SPEECH_FRAMES frames.
        since = max(0, samples - FRAME * SPEECH_FRAMES)
        heard, samples = await asyncio.to_thread(_speech_since, wav, since)
        if heard:
            break
    else:
        return RecordResult(wav, "no_speech", samples * 1000 // 8000)
    return await record(path, max_ms, silence_s, samples)


def _speech_since(wav: Path, first_sample: int) -> tuple[bool, int]:
    """(speech in the file from first_sample on, the number of samples in the file)."""
    try:
        with wav.open("rb") as audio:
            audio.seek(WAV_HEADER + 2 * first_sample)
            data = audio.read()
            size = audio.tell()
    except OSError:
        return False, 0
    loud = 0
    for start in range(0, len(data) - 2 * FRAME + 1, 2 * FRAME):
        frame = memoryview(data[start : start + 2 * FRAME]).cast("h")
        level = sum(abs(s) for s in frame) // FRAME
        loud = loud + 1 if level >= SPEECH_LEVEL else 0
        if loud >= SPEECH_FRAMES:
            return True, max(0, size - WAV_HEADER) // 2
    return False, max(0, size - WAV_HEADER) // 2
