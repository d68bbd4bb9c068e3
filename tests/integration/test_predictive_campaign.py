"""A predictive campaign end to end: the engine follows the simulated operators over AMI
(QueueStatus, member and agent events), paces calls to them, keeps the abandoned-call
rate under its target, survives operators logging out mid-run, and keeps the abandon
ledger across a restart."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.outcomes import ContactStatus, Outcome
from dialer.simpbx import SimConfig, SimulatedPbx
from dialer.store import open_store
from dialer.store.base import ContactStore, NewContact
from tests.integration.conftest import FAST, SECRET, campaign_dict

QUEUE = "dialer-operators"
# Mostly people who answer and wait for an operator; some busy, unanswered, invalid.
MIX = ["answer"] * 6 + ["busy", "no_answer", "invalid", "answer"]
TIMING = dataclasses.replace(FAST, talk=0.15, talk_spread=0.5, operator_answer_delay=0.05)


def predictive(port: int, **pacing: Any) -> Campaign:
    data = campaign_dict(port)
    data["pacing"] = {
        "mode": "predictive",
        "max_channels": 30,
        "calls_per_second": 50,
        "compliance_message": "vm-goodbye",
        **pacing,
    }
    data["retry"] = {"max_attempts": 1}
    return Campaign.model_validate(data)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[ContactStore]:
    opened = await open_store(tmp_path / "dialer.db")
    yield opened
    await opened.close()


async def contacts(store: ContactStore, count: int) -> dict[str, str]:
    personas = {f"+7915{i:07d}": MIX[i % len(MIX)] for i in range(count)}
    await store.import_contacts("spring", [NewContact(number=n) for n in personas])
    return personas


async def sim(personas: dict[str, str], operators: int) -> SimulatedPbx:
    pbx = SimulatedPbx(
        SimConfig(
            port=0, secret=SECRET, operators=operators, queues=(QUEUE,), personas=personas,
            timing=TIMING, seed=3, channel_limit=500,
        )
    )  # fmt: skip
    await pbx.start()
    return pbx


async def test_given_predictive_campaign_when_operators_log_out_then_abandon_stays_under_target(
    store: ContactStore,
) -> None:
    personas = await contacts(store, 200)
    pbx = await sim(personas, operators=6)
    try:

        async def shift_change() -> None:
            while len(pbx.originates) < 80:
                await asyncio.sleep(0.01)
            for _ in range(3):  # half the operators go home
                pbx.logout(QUEUE)

        change = asyncio.create_task(shift_change())
        snapshot = await asyncio.wait_for(
            run_campaign(predictive(pbx.port), store, SECRET, asyncio.Event()), 100
        )
        await change
    finally:
        await pbx.stop()
    assert snapshot.state == "finished"
    assert len(pbx.members(QUEUE)) == 3
    record = await store.get_campaign("spring-promo")
    assert record is not None
    lines = await store.contact_report(record.id)
    assert all(line.status is ContactStatus.DONE for line in lines)
    transferred = sum(1 for line in lines if line.final_outcome is Outcome.TRANSFERRED)
    assert transferred > 100
    _, status, saved_at = await store.load_runtime(record.id)
    assert saved_at is not None
    pacing = status["pacing"]
    assert pacing["mode"] == "predictive"
    day = pacing["abandon"]["24h"]
    assert day["live"] >= transferred  # every live-answered call is counted
    assert day["abandoned"] <= 0.03 * day["live"]
    assert pacing["operators"]["available"] + pacing["operators"]["on_call"] <= 3


async def test_given_campaign_stopped_and_rerun_when_ledger_restored_then_windows_continue(
    store: ContactStore,
) -> None:
    personas = await contacts(store, 120)
    pbx = await sim(personas, operators=4)
    try:
        stop = asyncio.Event()

        async def stop_midway() -> None:
            while len(pbx.originates) < 40:
                await asyncio.sleep(0.01)
            stop.set()

        stopper = asyncio.create_task(stop_midway())
        first = await run_campaign(predictive(pbx.port), store, SECRET, stop)
        await stopper
        assert first.state == "stopped"
        record = await store.get_campaign("spring-promo")
        assert record is not None
        ledger_after_first, status_first, _ = await store.load_runtime(record.id)
        live_first = status_first["pacing"]["abandon"]["24h"]["live"]
        assert live_first > 0 and ledger_after_first
        second = await run_campaign(predictive(pbx.port), store, SECRET, asyncio.Event())
        assert second.state == "finished"
    finally:
        await pbx.stop()
    _, status, _ = await store.load_runtime(record.id)
    attempts = await store.attempts(record.id)
    answered = sum(1 for a in attempts if a.outcome and a.outcome.reached_a_person)
    live_total = status["pacing"]["abandon"]["24h"]["live"]
    assert live_total > live_first  # the second run added to the first run's window
    assert live_total == answered
    assert datetime.now(UTC) >= attempts[0].started_at
