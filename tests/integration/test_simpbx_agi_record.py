"""RECORD FILE in the simulated PBX: a `say:` persona's audio lands in <path>.wav, a
silent callee gives a file of silence, and the reply has the trace's `(timeout)` form."""

from __future__ import annotations

import wave
from dataclasses import replace
from pathlib import Path

import pytest

from dialer.simpbx import SimConfig, SimulatedPbx
from tests.integration.test_simpbx_agi_support import AgiConnection, fastagi_stub, ivr_originate
from tests.simpbx_helpers import FAST, ami_client, running_pbx

TIMING = replace(FAST, prompt=0.05, keypress=0.02, record=0.05, silence_cap=0.05)
NUMBER = "+79000000000"


def make_speech(path: Path, seconds: float, rate: int = 8000, level: int = 3000) -> bytes:
    """A square-wave 'word': not silence, so a copy is easy to tell from a fresh file."""
    frames = int(seconds * rate)
    sample = level.to_bytes(2, "little", signed=True)
    negative = (-level).to_bytes(2, "little", signed=True)
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(b"".join(sample if (i // 20) % 2 else negative for i in range(frames)))
    return path.read_bytes()


async def record_session(
    persona: str, commands: list[str], speech_dir: Path | None
) -> tuple[list[str], SimulatedPbx]:
    replies: list[str] = []

    async def script(conn: AgiConnection) -> None:
        for command in commands:
            replies.append(await conn.command(command))

    async with (
        running_pbx(timing=TIMING, personas={NUMBER: persona}, speech_dir=speech_dir) as pbx,
        ami_client(pbx) as client,
        fastagi_stub(script) as stub,
    ):
        await client.action("o", *ivr_originate(NUMBER, "X", agi=stub.address))
        await stub.wait_done()
        await client.wait_event("Hangup", Uniqueid="X")
    return replies, pbx


async def test_say_persona_answers_each_record_file_with_its_next_file(tmp_path: Path) -> None:
    speech = tmp_path / "speech"
    speech.mkdir()
    yes = make_speech(speech / "yes.wav", 0.6)
    no = make_speech(speech / "no.wav", 0.3, rate=16000)
    out = tmp_path / "rec"
    commands = [
        f'RECORD FILE {out}/one wav "#" 5000 0 s=2',
        f'RECORD FILE {out}/two wav "#" 5000 0 BEEP s=2',
        f'RECORD FILE {out}/three wav "#" 5000 0 s=2',
    ]
    out.mkdir()
    replies, pbx = await record_session("say:yes,no", commands, speech)
    assert (out / "one.wav").read_bytes() == yes
    assert (out / "two.wav").read_bytes() == no
    # Silence detection ended the recording: `(timeout)` anyway, and result= is what
    # was left of the 5000 ms (the trace: `200 result=1751 (timeout) endpos=8160`).
    assert replies[0] == "200 result=4950 (timeout) endpos=4800\n"
    assert replies[1] == "200 result=4950 (timeout) endpos=2400\n"  # 8 kHz samples
    assert replies[2] == "200 result=4950 (timeout) endpos=400\n"  # no more speech
    with wave.open(str(out / "three.wav"), "rb") as audio:
        assert (audio.getframerate(), audio.getsampwidth(), audio.getnchannels()) == (8000, 2, 1)
        assert set(audio.readframes(audio.getnframes())) <= {0}
    assert pbx.calls["X"].recordings == [out / "one.wav", out / "two.wav", out / "three.wav"]


async def test_silent_persona_records_silence_until_the_timeout(tmp_path: Path) -> None:
    commands = [
        f'RECORD FILE {tmp_path}/quiet wav "#" 3000',
        "GET DATA question 3000 1",
    ]
    replies, _ = await record_session("silent", commands, None)
    # No silence detection asked (no s=): only the timeout ends it, capped for tests.
    assert replies == ["200 result=0 (timeout) endpos=400\n", "200 result= (timeout)\n"]
    with wave.open(str(tmp_path / "quiet.wav"), "rb") as audio:
        assert (audio.getframerate(), audio.getsampwidth(), audio.getnchannels()) == (8000, 2, 1)
        assert audio.getnframes() == 400
        assert set(audio.readframes(400)) == {0}


async def test_unwritable_path_or_format_fails_like_asterisk(tmp_path: Path) -> None:
    commands = [
        f'RECORD FILE {tmp_path}/missing-dir/x wav "#" 3000',
        f'RECORD FILE {tmp_path}/x gsm "#" 3000',
        "RECORD FILE /tmp/x wav",
    ]
    replies, _ = await record_session("silent", commands, None)
    assert replies[:2] == ["200 result=-1 (writefile)\n"] * 2
    assert replies[2].startswith("520-Invalid command syntax.  Proper usage follows:\n")


def test_say_persona_needs_its_audio_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="speech_dir"):
        SimulatedPbx(SimConfig(personas={NUMBER: "say:yes"}))
    with pytest.raises(ValueError, match="yes"):
        SimulatedPbx(SimConfig(personas={NUMBER: "say:yes"}, speech_dir=tmp_path))
    (tmp_path / "yes.wav").write_bytes(b"")
    SimulatedPbx(SimConfig(personas={NUMBER: "press:1+say:yes"}, speech_dir=tmp_path))


async def test_record_file_with_a_sample_offset_continues_the_same_answer(
    tmp_path: Path,
) -> None:
    """What a late caller's wait looks like (ivr/speech_start.py): chunks with offsets into
    one file; a real Asterisk seeks to the offset and writes on, without truncating."""
    speech = tmp_path / "speech"
    speech.mkdir()
    yes = make_speech(speech / "yes.wav", 0.6)
    base = tmp_path / "answer"
    commands = [
        f'RECORD FILE {base} wav "#" 250 0',
        f'RECORD FILE {base} wav "#" 5000 4800 s=2',
        f'RECORD FILE {tmp_path}/next wav "#" 250 0',
    ]
    replies, _ = await record_session("say:yes,yes", commands, speech)
    assert replies[0] == "200 result=0 (timeout) endpos=4800\n"
    assert replies[1].endswith(f"endpos={4800 + 400}\n")  # the answer went on: no new file
    with wave.open(str(tmp_path / "answer.wav"), "rb") as audio:
        frames = audio.readframes(audio.getnframes())
    assert frames[:9600] == yes[44:]  # the answer kept, then the silence that ended it
    assert set(frames[9600:]) == {0}
    assert (tmp_path / "next.wav").read_bytes() == yes  # a new answer takes the next file
