"""A personal say text on a REAL Asterisk: rendered by espeak-ng into the TTS cache before
and during the campaign, streamed by Asterisk from the cache by its absolute path
(STREAM FILE), played to its end: the call lasts as long as the rendered audio."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.outcomes import Outcome
from dialer.store import open_store
from dialer.store.base import NewContact
from ivr.tts import TtsVoices
from tests.asterisk.private_asterisk import RealAsterisk

ANSWERS = "+79120000200"  # [dialer-test-callees] digit 0: answers and stays silent


async def test_a_rendered_greeting_plays_to_its_end_on_real_asterisk(
    real_asterisk: RealAsterisk, tmp_path: Path
) -> None:
    store = await open_store(tmp_path / "dialer.db")
    await store.import_contacts(
        "say", [NewContact(number=ANSWERS, name="Анна", fields={"amount_due": "21000"})]
    )
    cache = tmp_path / "tts"
    campaign = Campaign.model_validate(
        {
            "name": "real-say",
            "list": "say",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": real_asterisk.ami_settings(),
            "dial": {"channel": "Local/{number}@dialer-test-callees", "ring_timeout": "15s"},
            "pacing": {"max_channels": 1, "calls_per_second": 1},
            "on_answer": {"action": "ivr"},
            "fastagi": {"host": "127.0.0.1", "port": 0},
            "retry": {"max_attempts": 1},
            "ivr": {
                "language": "ru",
                "tts": {"cache_dir": str(cache)},
                "start": "hello",
                "steps": {
                    "hello": {
                        "kind": "play",
                        "say": [
                            {"text": "Добрый день."},
                            {"text": "{name}, ваш долг {amount_due:money}."},
                        ],
                        "next": "bye",
                    },
                    "bye": {"kind": "hangup"},
                },
            },
        }
    )
    try:
        snapshot = await asyncio.wait_for(
            run_campaign(campaign, store, real_asterisk.secret, asyncio.Event()), 60
        )
        record = await store.get_campaign("real-say")
        assert record is not None
        [attempt] = await store.attempts(record.id)
    finally:
        await store.close()
    assert snapshot.state == "finished"
    assert attempt.outcome is Outcome.ANSWERED, real_asterisk.log_tail()
    assert attempt.answers["ended_by"] == "hangup", real_asterisk.log_tail()
    voices = TtsVoices(campaign.ivr.tts if campaign.ivr else None, "ru")
    rendered = 0.0
    for text, personal in (
        ("Добрый день.", False),
        ("Анна, ваш долг двадцать одна тысяча рублей.", True),
    ):
        with wave.open(voices.cached_name(text, None, personal) + ".wav", "rb") as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
            rendered += w.getnframes() / w.getframerate()
    assert rendered > 3.0
    assert attempt.answered_at is not None and attempt.ended_at is not None
    talked = (attempt.ended_at - attempt.answered_at).total_seconds()
    # Both files played to their end (a missing one plays nothing: result=-1 at once).
    assert talked >= rendered - 0.3, (talked, rendered, real_asterisk.log_tail())
