"""A whole campaign through a REAL Asterisk with the project's asterisk-config/:
the dialer's AMI link, outcome mapping and engine against the real thing, one contact per
test persona of `dialer-test-callees`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.outcomes import ContactStatus, Outcome
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.asterisk.private_asterisk import TEST_DIAL_STRING, RealAsterisk

# Last digit -> (final outcome, attempts). Only busy is retried (once) to keep the test
# short: an unanswered call rings the full 15 s minimum ring timeout.
EXPECTED = {
    "0": (Outcome.TRANSFERRED, 1),
    "1": (Outcome.BUSY, 2),
    "2": (Outcome.NO_ANSWER, 1),
    "3": (Outcome.CONGESTION, 1),
    "4": (Outcome.INVALID_NUMBER, 1),
    "5": (Outcome.ANSWERED, 1),  # hangs up 1 s into the 1.4 s hello-world
    "6": (Outcome.TRANSFERRED, 1),
    "7": (Outcome.ABANDONED, 1),  # hangs up in the queue before the operator answers
    "8": (Outcome.TRANSFERRED, 1),
    "9": (Outcome.NO_ANSWER, 1),
}


async def test_given_every_test_persona_when_campaign_runs_on_real_asterisk_then_outcomes_match(
    real_asterisk: RealAsterisk, tmp_path: Path
) -> None:
    store = await open_store(tmp_path / "dialer.db")
    await store.import_contacts("real", [NewContact(number=f"+791200000{d}0{d}") for d in EXPECTED])
    campaign = Campaign.model_validate(
        {
            "name": "real-asterisk",
            "list": "real",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": real_asterisk.ami_settings(),
            "dial": {
                "channel": TEST_DIAL_STRING,
                "caller_id": '"Иван Петров" <+74950000000>',
                "ring_timeout": "15s",
            },
            "pacing": {"max_channels": 10, "calls_per_second": 10, "operator_guaranteed": True},
            "on_answer": {
                "action": "play_and_queue",
                "message": "hello-world",
                "queue": "dialer-operators",
                "queue_timeout": "20s",
            },
            "retry": {
                "max_attempts": 2,
                "busy": {"delay": "1s", "max": 1},
                "no_answer": {"delay": "1s", "max": 0},
                "congestion": {"delay": "1s", "max": 0},
                "failed": {"delay": "1s", "max": 0},
                "abandoned": {"delay": "1s", "max": 0},
            },
        }
    )
    try:
        snapshot = await asyncio.wait_for(
            run_campaign(campaign, store, real_asterisk.secret, asyncio.Event()), 90
        )
        record = await store.get_campaign("real-asterisk")
        assert record is not None
        lines = await store.contact_report(record.id)
        attempts = await store.attempts(record.id)
    finally:
        await store.close()
    assert snapshot.state == "finished"
    got = {line.number[-1]: (line.final_outcome, line.attempts) for line in lines}
    assert all(line.status is ContactStatus.DONE for line in lines)
    assert got == EXPECTED, real_asterisk.log_tail()
    assert all(a.ended_at is not None for a in attempts)
    by_digit = {a.number[-1]: a for a in attempts}
    assert by_digit["4"].cause == 1
    assert by_digit["2"].reason == 3 and by_digit["2"].cause == 19


async def test_given_keypad_campaign_on_real_asterisk_when_callees_press_keys_then_leads_sorted(
    real_asterisk: RealAsterisk, tmp_path: Path
) -> None:
    """The keypad IVR flow end to end: Asterisk's AGI() reaches our FastAGI server, the
    callee's DTMF reaches GET DATA, a hot lead is queued to the test operators."""
    store = await open_store(tmp_path / "dialer.db")
    numbers = {"+79120000101": "1", "+79120000102": "2", "+79120000109": "9"}
    await store.import_contacts("keypad", [NewContact(number=n) for n in numbers])
    campaign = Campaign.model_validate(
        {
            "name": "real-keypad",
            "list": "keypad",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": real_asterisk.ami_settings(),
            "dial": {"channel": "Local/{number}@dialer-test-keypad", "ring_timeout": "15s"},
            "pacing": {"max_channels": 5, "calls_per_second": 5},
            "on_answer": {"action": "ivr", "queue_timeout": "20s"},
            "fastagi": {"host": "127.0.0.1", "port": 0},
            "retry": {"max_attempts": 1},
            "ivr": {
                "start": "offer",
                "steps": {
                    "offer": {
                        "kind": "menu",
                        "prompt": "hello-world",
                        "keys": {"1": "interested", "2": "not_interested", "9": "stop"},
                        "timeout": "5s",
                        "retries": 1,
                        "on_timeout": "goodbye",
                    },
                    "interested": {"kind": "set", "temperature": "hot", "next": "operator"},
                    "operator": {
                        "kind": "transfer",
                        "queue": "dialer-operators",
                        "max_wait": "20s",
                    },
                    "not_interested": {"kind": "set", "temperature": "cold", "next": "goodbye"},
                    "stop": {"kind": "optout", "confirm_prompt": "vm-goodbye"},
                    "goodbye": {"kind": "hangup", "prompt": "vm-goodbye"},
                },
            },
        }
    )
    try:
        snapshot = await asyncio.wait_for(
            run_campaign(campaign, store, real_asterisk.secret, asyncio.Event()), 90
        )
        record = await store.get_campaign("real-keypad")
        assert record is not None
        lines = {line.number: line for line in await store.contact_report(record.id)}
        dnc = [n for n, _, _ in await store.do_not_call()]
    finally:
        await store.close()
    assert snapshot.state == "finished"
    got = {
        n: (line.final_outcome, line.last_answers.get("temperature"), line.do_not_call)
        for n, line in lines.items()
    }
    assert got == {
        "+79120000101": (Outcome.TRANSFERRED, "hot", False),
        "+79120000102": (Outcome.ANSWERED, "cold", False),
        "+79120000109": (Outcome.ANSWERED, None, True),
    }, real_asterisk.log_tail()
    assert lines["+79120000101"].last_answers["answers"]["offer"]["keys"] == "1"
    assert dnc == ["+79120000109"]
