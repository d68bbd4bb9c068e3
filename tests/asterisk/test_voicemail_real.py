"""The voicemail drop on a REAL Asterisk: an answering machine with a 12 s greeting and
then a beep gets the message after the beep, not over the greeting, and the dialer
learns that the message was left (the attempt's detail, counted in the report).

The machines are voice files played by [test-speaker] (speaking_callees.py): a spoken
greeting with real pauses, a 1 kHz beep, then the silence a machine sends while it
records. When each part starts is read from Asterisk's own events (Newexten timestamps).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.outcomes import Outcome
from dialer.simpbx.dialplan import PRIORITY
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.asterisk.ami import ami_session
from tests.asterisk.conftest import ASTERISK_BINARY
from tests.asterisk.private_asterisk import RealAsterisk
from tests.asterisk.speaking_callees import SPEAKER_DIAL, greeting, make_voice, speaking_asterisk

BEEP_AT = 12.0  # s from the machine's answer: the greeting's length
BEEP = 0.5
WITH_BEEP, NO_BEEP, ENDLESS = "+79120000301", "+79120000302", "+79120000303"


@pytest.fixture(scope="module")
def speaking() -> Iterator[tuple[RealAsterisk, Path]]:
    assert ASTERISK_BINARY is not None
    with speaking_asterisk(Path(ASTERISK_BINARY)) as found:
        yield found


def campaign(pbx: RealAsterisk, **amd: Any) -> Campaign:
    return Campaign.model_validate(
        {
            "name": "voicemail",
            "list": "machines",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": pbx.ami_settings(),
            "dial": {"channel": SPEAKER_DIAL, "ring_timeout": "15s"},
            "pacing": {"max_channels": 5, "calls_per_second": 5},
            "on_answer": {
                "action": "play_and_hangup",
                "message": "beep",
                "amd": {"enabled": True, "machine_message": "hello-world", **amd},
            },
            "retry": {"max_attempts": 1},
        }
    )


def started(events: list[dict[str, str]], channel_part: str, app: str) -> float:
    """Asterisk's timestamp of the first Newexten running `app` on a matching channel."""
    for event in events:
        if (
            event.get("Event") == "Newexten"
            and channel_part in event.get("Channel", "")
            and event.get("Application") == app
        ):
            return float(event["Timestamp"])
    raise AssertionError(f"no {app} on {channel_part}")


async def test_given_machine_with_long_greeting_and_beep_then_message_after_the_beep(
    speaking: tuple[RealAsterisk, Path], tmp_path: Path
) -> None:
    pbx, voices = speaking
    spoken = greeting(voices, BEEP_AT)
    make_voice(voices, WITH_BEEP, [*spoken, ("beep", BEEP), ("silence", 20)])
    make_voice(voices, NO_BEEP, [*greeting(voices, 6.0), ("silence", 20)])
    make_voice(voices, ENDLESS, greeting(voices, 36.0))  # longer than max_greeting
    store = await open_store(tmp_path / "dialer.db")
    numbers = (WITH_BEEP, NO_BEEP, ENDLESS)
    await store.import_contacts("machines", [NewContact(number=n) for n in numbers])
    async with ami_session(pbx.host, pbx.port, pbx.admin_username, pbx.admin_secret) as ami:
        try:
            await asyncio.wait_for(
                run_campaign(campaign(pbx, max_greeting="25s"), store, pbx.secret, asyncio.Event()),
                120,
            )
            record = await store.get_campaign("voicemail")
            assert record is not None
            attempts = {a.number: a for a in await store.attempts(record.id)}
            left = await store.attempt_details_count(record.id, Outcome.MACHINE, "message left")
        finally:
            await store.close()
        events = list(ami.messages)
    voice = [e for e in events if e.get("AppData", "").endswith(WITH_BEEP.lstrip("+"))]
    machine_answered = started(voice, WITH_BEEP, "Playback")
    message = started(
        [e for e in events if e.get("AppData") == "hello-world"], WITH_BEEP, "Playback"
    )
    beep_ends = machine_answered + BEEP_AT + BEEP
    print(
        f"\nvoicemail: beep ends {BEEP_AT + BEEP:.2f} s, message {message - machine_answered:.2f} s"
    )
    assert message >= beep_ends, (
        f"message at {message - machine_answered:.2f} s, beep ends at {BEEP_AT + BEEP} s"
    )
    assert message - beep_ends < 1.5  # and right after it: a machine records 30-60 s
    assert {n: a.outcome for n, a in attempts.items()} == dict.fromkeys(numbers, Outcome.MACHINE)
    assert attempts[WITH_BEEP].detail.startswith("message left after the beep"), attempts
    assert attempts[NO_BEEP].detail.startswith("message left after the greeting"), attempts
    assert attempts[ENDLESS].detail.startswith("message not left"), attempts
    assert left == 2
    # The simulated PBX shows the same priorities for the same steps.
    ours = [e for e in events if e.get("Event") == "Newexten" and WITH_BEEP in e["Channel"]]
    ours = [e for e in ours if e["Channel"].endswith(";1")]
    step = {(e["Application"], e["AppData"].split(",")[0]): int(e["Priority"]) for e in ours}
    assert step[("WaitForSilence", "3000")] == PRIORITY["wait_for_silence"]
    assert step[("Playback", "hello-world")] == PRIORITY["vm_playback"]
    assert step[("UserEvent", "DialerVoicemail")] == PRIORITY["vm_event"]
