"""Say texts end to end: a campaign whose play step greets each contact by name with the
amount they owe, rendered by espeak-ng, played over the simulated PBX's FastAGI path.
Checks what the PBX was asked to stream (a file in the cache, 8 kHz WAV of a plausible
length, one per contact), that the static text was ready before the first call, and that
nothing of the contact reached the log at INFO."""

from __future__ import annotations

import asyncio
import logging
import wave
from pathlib import Path

import pytest

from dialer.control.app import CampaignStartError, run_campaign
from dialer.outcomes import Outcome
from dialer.simpbx import SimConfig, SimulatedPbx
from dialer.store.base import ContactStore, NewContact
from tests.integration.conftest import SECRET
from tests.integration.test_ivr_campaigns import TIMING, inline_campaign, store  # noqa: F401

GREETING = "Здравствуйте, {name}! Ваш долг {amount_due:money}, оплатите до {due:date}."
STATIC = "Это автоматический звонок."
PEOPLE = {
    "+79120000001": ("Анна", "21000", "2026-03-01"),
    "+79120000002": ("Борис", "2", "2026-03-02"),
    "+79120000003": ("Вера", "", "2026-03-03"),  # no amount: the greeting is skipped
}


def script(cache: Path, **voice: str) -> dict[str, object]:
    return {
        "language": "ru",
        "start": "hello",
        "tts": {"cache_dir": str(cache), **voice},
        "steps": {
            "hello": {
                "kind": "play",
                "say": [{"text": STATIC}, {"text": GREETING}],
                "next": "menu",
            },
            "menu": {
                "kind": "menu",
                "prompt_text": "{name}, нажмите 1.",
                "keys": {"1": "bye"},
                "timeout": "200ms",
                "retries": 0,
                "on_timeout": "bye",
            },
            "bye": {"kind": "hangup"},
        },
    }


def seconds(played: str) -> float:
    with wave.open(f"{played}.wav", "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        return w.getnframes() / w.getframerate()


async def test_each_contact_hears_their_own_greeting(
    store: ContactStore,  # noqa: F811
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await store.import_contacts(
        "spring",
        [
            NewContact(number=n, name=name, fields={"amount_due": amount, "due": due})
            for n, (name, amount, due) in PEOPLE.items()
        ],
    )
    cache = tmp_path / "tts"
    campaign = inline_campaign(script(cache))
    pbx = SimulatedPbx(
        SimConfig(port=0, secret=SECRET, personas=dict.fromkeys(PEOPLE, "silent"), timing=TIMING)
    )
    await pbx.start()
    started: list[set[str]] = []
    caplog.set_level(logging.INFO)
    try:
        campaign = campaign.model_copy(
            update={"ami": campaign.ami.model_copy(update={"port": pbx.port})}
        )
        snapshot = await asyncio.wait_for(
            run_campaign(
                campaign,
                store,
                SECRET,
                asyncio.Event(),
                on_started=lambda _: started.append({p.name for p in cache.iterdir()}),
            ),
            60,
        )
        calls = {record.number: record for record in pbx.core.calls.values()}
    finally:
        await pbx.stop()
    assert snapshot.state == "finished"

    played = {number: record.played for number, record in calls.items()}
    static = played["+79120000001"][0]
    # The static text was rendered before the first call, and every call plays that file.
    assert f"{Path(static).name}.wav" in started[0]
    assert all(files[0] == static for files in played.values())
    assert all(Path(f).parent == cache.resolve() for files in played.values() for f in files)
    anna, boris = played["+79120000001"][1], played["+79120000002"][1]
    assert anna != boris
    # The menu asks with its text (GET DATA), one file per contact.
    asked = {number: files[-1] for number, files in played.items()}
    assert len(set(asked.values())) == 3 and all(
        Path(f).name.startswith("p-") for f in asked.values()
    )
    assert Path(anna).name.startswith("p-") and not Path(static).name.startswith("p-")
    assert played["+79120000003"][:-1] == [static]  # no amount: only the static text
    # "Здравствуйте, Анна! Ваш долг двадцать одна тысяча рублей, оплатите до первого марта."
    assert 4.0 < seconds(anna) < 12.0
    assert seconds(boris) < seconds(anna)  # "два рубля ... второго марта" is shorter
    assert 1.0 < seconds(static) < 5.0

    record = await store.get_campaign(campaign.name)
    assert record is not None
    report = {line.number: line for line in await store.contact_report(record.id)}
    assert all(line.final_outcome is Outcome.ANSWERED for line in report.values())
    logged = "\n".join(r.getMessage() + repr(r.__dict__) for r in caplog.records)
    for name, _, _ in PEOPLE.values():
        assert name not in logged
    assert "21000" not in logged and "двадцать" not in logged and "марта" not in logged
    assert "field 'amount_due': no value" in logged  # why Вера heard no greeting


async def test_a_voice_that_cannot_run_stops_the_start(
    store: ContactStore,  # noqa: F811
    tmp_path: Path,
) -> None:
    await store.import_contacts("spring", [NewContact(number="+79120000001", name="Анна")])
    ivr = script(tmp_path / "tts", voice="piper")
    piper = {"command": ["no-such-piper", "--output_file", "{out}"]}
    ivr["tts"]["voices"] = {"piper": piper}  # type: ignore[index]
    says = "say text: voice 'piper': no-such-piper is not installed"
    with pytest.raises(CampaignStartError, match=says):
        await run_campaign(inline_campaign(ivr), store, SECRET, asyncio.Event())
