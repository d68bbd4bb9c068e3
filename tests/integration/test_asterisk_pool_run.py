"""A campaign dialling through a pool of two SIMULATED Asterisk servers over real AMI,
with a real SQLite base. Everything that matters is counted on the PBX side: which
server carried each call, how many it carried at once, and that no call went out twice."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.outcomes import ContactStatus, Outcome
from dialer.simpbx import SimConfig, SimulatedPbx
from dialer.store.base import ContactStore
from tests.integration.conftest import FAST, SECRET, campaign_dict, fill_list, make_campaign


def sim(port: int = 0) -> SimulatedPbx:
    return SimulatedPbx(
        SimConfig(port=port, secret=SECRET, channel_limit=500, operators=30, timing=FAST)
    )


@pytest.fixture
async def second() -> AsyncIterator[SimulatedPbx]:
    pbx = sim()
    await pbx.start()
    yield pbx
    await pbx.stop()


def server(port: int, name: str, **more: Any) -> dict[str, Any]:
    ami = campaign_dict(port)["ami"]
    return {**ami, "name": name, **more}


def pooled(
    first: SimulatedPbx,
    second_port: int,
    first_settings: dict[str, Any] | None = None,
    second_settings: dict[str, Any] | None = None,
) -> Campaign:
    """A campaign over `first` (pbx-a) and the server on second_port (pbx-b)."""
    return make_campaign(
        first.port,
        retry={"max_attempts": 1},
        ami=server(first.port, "pbx-a", **(first_settings or {})),
        servers=[server(second_port, "pbx-b", **(second_settings or {}))],
    )


def servers_of_attempts(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, server FROM attempts"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_given_two_servers_with_weights_and_limits_then_calls_split_within_limits(
    pbx: SimulatedPbx, second: SimulatedPbx, store: ContactStore, tmp_path: Path
) -> None:
    await fill_list(store, "spring", 150)
    campaign = pooled(pbx, second.port, {"weight": 2, "max_channels": 6}, {"max_channels": 3})
    snapshot = await run_campaign(campaign, store, SECRET, asyncio.Event())
    assert snapshot.state == "finished"

    on_a = {o.channel_id for o in pbx.originates}
    on_b = {o.channel_id for o in second.originates}
    assert len(on_a) == len(pbx.originates) and len(on_b) == len(second.originates)
    assert not on_a & on_b, "one attempt dialled on both servers"
    assert pbx.max_concurrent <= 6 and second.max_concurrent <= 3
    assert len(on_a) > len(on_b) > 0
    stored = servers_of_attempts(tmp_path / "dialer.db")
    assert set(stored) == on_a | on_b
    assert {a for a, s in stored.items() if s == "pbx-a"} == on_a
    assert {a for a, s in stored.items() if s == "pbx-b"} == on_b
    record = await store.get_campaign("spring-promo")
    assert record is not None
    lines = await store.contact_report(record.id)
    assert len(lines) == 150 and all(line.status is ContactStatus.DONE for line in lines)


async def test_given_a_server_down_at_start_when_it_comes_up_then_it_takes_calls(
    pbx: SimulatedPbx, store: ContactStore
) -> None:
    await fill_list(store, "spring", 120)
    late_port = free_port()
    campaign = pooled(pbx, late_port, {"max_channels": 3})
    run = asyncio.create_task(run_campaign(campaign, store, SECRET, asyncio.Event()))
    while len(pbx.originates) < 15:
        await asyncio.sleep(0.02)
    late = sim(late_port)
    await late.start()
    try:
        snapshot = await asyncio.wait_for(run, 90)
    finally:
        await late.stop()
    assert snapshot.state == "finished"
    assert late.originates, "the server that came up took no call"
    assert pbx.max_concurrent <= 3
    ids = [o.channel_id for o in pbx.originates + late.originates]
    assert len(ids) == len(set(ids)) == 120


async def test_given_a_server_killed_mid_run_then_its_calls_are_settled_and_none_twice(
    pbx: SimulatedPbx, second: SimulatedPbx, store: ContactStore
) -> None:
    await fill_list(store, "spring", 150)
    campaign = make_campaign(
        pbx.port,
        ami=server(pbx.port, "pbx-a", max_channels=5),
        servers=[server(second.port, "pbx-b", max_channels=5)],
    )

    async def kill_b() -> None:
        while len(second.originates) < 20:
            await asyncio.sleep(0.01)
        second.crash_and_restart()

    killer = asyncio.create_task(kill_b())
    snapshot = await run_campaign(campaign, store, SECRET, asyncio.Event())
    await killer
    assert snapshot.state == "finished"
    ids = [o.channel_id for o in pbx.originates + second.originates]
    assert len(ids) == len(set(ids)), "an attempt was dialled twice"
    record = await store.get_campaign("spring-promo")
    assert record is not None
    attempts = await store.attempts(record.id)
    assert {a.attempt_id for a in attempts} == set(ids)
    outcomes = Counter(a.outcome for a in attempts)
    assert outcomes[None] == 0  # every attempt closed
    assert outcomes[Outcome.PBX_FAILURE] >= 1  # the calls the crash cut, then retried
    lines = await store.contact_report(record.id)
    assert all(line.status is ContactStatus.DONE for line in lines)
