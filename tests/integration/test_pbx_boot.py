"""Asterisk accepts AMI logins before its dialplan is loaded: a campaign started (or an
Asterisk restarted) mid-boot must wait for FullyBooted instead of burning contacts on
"Extension does not exist.". Counted on the simulated PBX's side."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from dialer.control.app import run_campaign
from dialer.engine.runner import CampaignRunner
from dialer.outcomes import ContactStatus, Outcome
from dialer.pbx.link_state import LinkState
from dialer.simpbx import SimConfig, SimulatedPbx
from dialer.store.base import ContactStore
from tests.integration.conftest import FAST, SECRET, fill_list, make_campaign

BOOT_S = 1.5


@pytest.fixture
async def booting_pbx() -> AsyncIterator[SimulatedPbx]:
    booted_at = time.time() + BOOT_S
    sim = SimulatedPbx(
        SimConfig(
            port=0, secret=SECRET, channel_limit=500, operators=30, timing=FAST, boot_delay=BOOT_S
        )
    )
    await sim.start()
    sim.booted_at = booted_at  # type: ignore[attr-defined]
    yield sim
    await sim.stop()


async def test_given_asterisk_still_booting_when_run_starts_then_no_contact_is_burned(
    booting_pbx: SimulatedPbx, store: ContactStore
) -> None:
    pbx = booting_pbx
    await fill_list(store, "spring", 50)
    # One attempt each: a call failed by the boot race would be the contact's last.
    campaign = make_campaign(pbx.port, retry={"max_attempts": 1})
    runners: list[CampaignRunner] = []
    states_seen: set[LinkState] = set()

    async def watch() -> None:
        while True:
            if runners:
                states_seen.add(runners[0].snapshot.link_state)
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    snapshot = await run_campaign(
        campaign, store, SECRET, asyncio.Event(), on_started=runners.append
    )
    watcher.cancel()

    assert snapshot.state == "finished"
    assert pbx.refused_while_booting == 0
    assert len(pbx.originates) == 50
    # Nothing was sent before FullyBooted (0.1 s: clock granularity, the loop's lag).
    assert min(o.time for o in pbx.originates) >= pbx.booted_at - 0.1  # type: ignore[attr-defined]
    record = await store.get_campaign("spring-promo")
    assert record is not None
    attempts = await store.attempts(record.id)
    outcomes = Counter(a.outcome for a in attempts)
    assert outcomes[Outcome.FAILED] == 0 and outcomes[Outcome.UNKNOWN] == 0
    assert LinkState.BOOTING in states_seen  # shown while waiting


async def test_given_asterisk_restarted_mid_campaign_when_run_then_no_contact_is_burned(
    pbx: SimulatedPbx, store: ContactStore
) -> None:
    await fill_list(store, "spring", 200)
    campaign = make_campaign(pbx.port)

    async def restart_once() -> None:
        while len(pbx.originates) < 60:
            await asyncio.sleep(0.01)
        pbx.restart(boot_delay=1.0)

    restarter = asyncio.create_task(restart_once())
    snapshot = await run_campaign(campaign, store, SECRET, asyncio.Event())
    restarter.cancel()

    assert snapshot.state == "finished"
    assert pbx.refused_while_booting == 0  # the PBX itself refused no Originate
    record = await store.get_campaign("spring-promo")
    assert record is not None
    lines = await store.contact_report(record.id)
    assert all(line.status is ContactStatus.DONE for line in lines)
    attempts = await store.attempts(record.id)
    assert not [a for a in attempts if "Extension does not exist" in (a.detail or "")]
    channel_ids = [o.channel_id for o in pbx.originates]
    assert len(channel_ids) == len(set(channel_ids))
    assert all(a.outcome is not None for a in attempts)
