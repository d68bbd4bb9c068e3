"""The media stream's parts without a PBX: the script's barge_in rule, the AudioSocket
server's handling of bad peers (real sockets), the VAD's turn events and prompt lookup."""

from __future__ import annotations

import asyncio
import struct
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from dialer.campaign.model import OnAnswer
from ivr.audiosocket import AudioSocketServer, Kind, encode, encode_uuid
from ivr.prompt_audio import PromptAudio, PromptAudioError
from ivr.script_steps import AskStep, SurveyStep
from ivr.vad import Endpointer, Event, energy_classifier
from tests.audio import run

LOUD = struct.pack("<160h", *([4000, -4000] * 80))
QUIET = bytes(320)


def test_barge_in_is_for_spoken_answers_only() -> None:
    ask = AskStep.model_validate(
        {
            "kind": "ask",
            "prompt": "q",
            "intents": {"yes": {"next": "a", "phrases": {"en": ["yes"]}}},
        }
    )
    assert ask.barge_in is True  # the default: the caller may talk over the question
    with pytest.raises(ValidationError, match="barge_in: is for input: speech"):
        SurveyStep.model_validate(
            {"kind": "survey", "question": "nps", "prompt": "q", "next": "a", "barge_in": False}
        )


def test_media_must_be_agi_or_stream() -> None:
    assert OnAnswer.model_validate({"action": "ivr", "media": "stream"}).media == "stream"
    with pytest.raises(ValidationError, match="'agi' or 'stream'"):
        OnAnswer.model_validate({"action": "ivr", "media": "websocket"})
    with pytest.raises(ValidationError, match=r"media: stream .* needs action: ivr"):
        OnAnswer.model_validate({"action": "play_and_hangup", "media": "stream"})


def test_turn_starts_after_onset_and_ends_after_the_end_silence() -> None:
    vad = Endpointer(energy_classifier(), end_silence_ms=300, onset_ms=60)
    events = [vad.feed(f) for f in [QUIET] * 5 + [LOUD] * 10 + [QUIET] * 20]
    assert events.index(Event.STARTED) == 7  # the third loud frame in a row
    assert vad.started_at == 5  # the first loud frame
    assert events.index(Event.ENDED) == 5 + 10 + 15 - 1  # 15 quiet frames = 300 ms
    assert vad.ended_at == 15
    one_click = Endpointer(energy_classifier(), onset_ms=60)
    assert [one_click.feed(f) for f in [LOUD, QUIET, LOUD, QUIET]] == [None] * 4


async def test_server_refuses_bad_peers_and_hands_over_the_expected_stream() -> None:
    server = AudioSocketServer("127.0.0.1", 0)
    await server.start()
    try:
        stream_id, connected = server.expect()
        # No UUID first: refused and closed.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode(Kind.AUDIO, QUIET))
        assert await reader.read() == b""
        writer.close()
        # A UUID nobody waits for: refused too.
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode_uuid(str(uuid.uuid4())))
        assert await reader.read() == b""
        writer.close()
        assert server.refused == 2 and not connected.done()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(encode_uuid(stream_id))
        connection = await asyncio.wait_for(connected, 5)
        assert connection.stream_id == stream_id
        await connection.send_hangup()
        assert await reader.readexactly(3) == b"\x00\x00\x00"
        await connection.close()
        writer.close()
        await writer.wait_closed()
    finally:
        await server.stop()


def test_prompt_lookup_says_where_it_looked(tmp_path: Path) -> None:
    audio = PromptAudio({}, [tmp_path])
    with pytest.raises(PromptAudioError, match=f"prompt 'nope' not found .*{tmp_path}"):
        audio.pcm_blocking("nope")
    (tmp_path / "raw.sln").write_bytes(QUIET)
    assert audio.pcm_blocking("raw") == QUIET


@pytest.mark.parametrize("encoding", ["ulaw", "alaw"])
def test_g711_prompts_decode_as_sox_does(tmp_path: Path, encoding: str) -> None:
    sox = ["sox", "-r", "8000", "-c", "1", "-e", {"ulaw": "mu-law", "alaw": "a-law"}[encoding]]
    tone = tmp_path / f"tone.{encoding}"
    run(*sox, "-n", "-t", "raw", str(tone), "synth", "0.5", "sine", "440")
    expected = tmp_path / "expected.sln"
    run(*sox, "-t", "raw", str(tone), "-e", "signed", "-b", "16", "-t", "raw", str(expected))
    assert PromptAudio({}, [tmp_path]).pcm_blocking("tone") == expected.read_bytes()
