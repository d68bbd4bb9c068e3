"""ivr.speech_start: a late caller's answer is waited for in chunks written into one
file; the answer itself is one RECORD FILE ended by silence, from where the wait stopped."""

from __future__ import annotations

import wave
from pathlib import Path

from ivr.channel import RecordResult
from ivr.speech_start import CHUNK_MS, record_answer

LOUD = (3000).to_bytes(2, "little", signed=True)


class Line:
    """Writes what a caller who starts talking after `quiet_ms` sends, chunk by chunk."""

    def __init__(self, quiet_ms: int) -> None:
        self.quiet_samples = quiet_ms * 8
        self.calls: list[tuple[int, int, int]] = []

    async def record(self, path: Path, max_ms: int, silence_s: int, offset: int) -> RecordResult:
        self.calls.append((max_ms, silence_s, offset))
        wav = Path(f"{path}.wav")
        kept = b""
        if offset:
            with wave.open(str(wav), "rb") as audio:
                kept = audio.readframes(offset)
        count = max_ms * 8 if not silence_s else 4000
        new = b"".join(
            b"\x00\x00" if offset + i < self.quiet_samples else LOUD for i in range(count)
        )
        with wave.open(str(wav), "wb") as audio:
            audio.setnchannels(1)
            audio.setsampwidth(2)
            audio.setframerate(8000)
            audio.writeframes(kept + new)
        return RecordResult(wav, "silence" if silence_s else "timeout", None)


async def test_caller_starting_late_is_recorded_from_where_the_wait_stopped(
    tmp_path: Path,
) -> None:
    line = Line(quiet_ms=2500)
    got = await record_answer(line.record, tmp_path / "a", 5000, 10_000, 2)
    chunks, answer = line.calls[:-1], line.calls[-1]
    assert all((m, s) == (CHUNK_MS, 0) for m, s, _ in chunks)
    assert [o for _, _, o in chunks] == [i * CHUNK_MS * 8 for i in range(len(chunks))]
    assert len(chunks) == 2500 // CHUNK_MS + 1  # speech heard in the chunk it began in
    assert answer == (10_000, 2, len(chunks) * CHUNK_MS * 8)
    assert got.ended_by == "silence"


async def test_caller_who_never_starts_ends_after_speech_start(tmp_path: Path) -> None:
    line = Line(quiet_ms=60_000)
    got = await record_answer(line.record, tmp_path / "a", 1000, 10_000, 2)
    assert got.ended_by == "no_speech"
    assert len(line.calls) == 1000 // CHUNK_MS
    assert all(s == 0 for _, s, _ in line.calls)  # never a silence limit while waiting


async def test_caller_who_speaks_at_once_gets_one_chunk_then_the_answer(tmp_path: Path) -> None:
    line = Line(quiet_ms=0)
    await record_answer(line.record, tmp_path / "a", 5000, 10_000, 2)
    assert [s for _, s, _ in line.calls] == [0, 2]
