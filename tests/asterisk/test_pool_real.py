"""A campaign through a pool of two servers: the REAL Asterisk and the SIMULATED one.
The real server's load is counted from its own channel list, the simulated one's by the
simulator; each call is on exactly one of them, and each server stays within its limit."""

from __future__ import annotations

import asyncio
from pathlib import Path

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.outcomes import ContactStatus
from dialer.simpbx import SimConfig, SimulatedPbx
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.asterisk.private_asterisk import TEST_DIAL_STRING, RealAsterisk
from tests.asterisk.test_one_driver_real import calls_up

LIMIT = 3
SIM_SECRET = "sim-secret"
# Quick personas on both servers: 1 is busy, 5 answers and hangs up a second in.
NUMBERS = [f"+79120002{i:02d}{1 if i % 2 else 5}" for i in range(24)]


async def test_given_real_and_simulated_servers_then_calls_split_and_stay_in_limits(
    real_asterisk: RealAsterisk, tmp_path: Path
) -> None:
    sim = SimulatedPbx(SimConfig(port=0, secret=SIM_SECRET, channel_limit=50))
    await sim.start()
    store = await open_store(tmp_path / "dialer.db")
    await store.import_contacts("pool", [NewContact(number=n) for n in NUMBERS])
    campaign = Campaign.model_validate(
        {
            "name": "real-pool",
            "list": "pool",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": {**real_asterisk.ami_settings(), "name": "real", "max_channels": LIMIT},
            "servers": [
                {
                    "name": "sim",
                    "host": "127.0.0.1",
                    "port": sim.port,
                    "username": "dialer",
                    "secret": SIM_SECRET,
                    "max_channels": LIMIT,
                }
            ],
            "dial": {"channel": TEST_DIAL_STRING, "ring_timeout": "15s"},
            "pacing": {"max_channels": 10, "calls_per_second": 10},
            "on_answer": {"action": "play_and_hangup", "message": "beep"},
            "retry": {"max_attempts": 1},
        }
    )
    counts: list[int] = []
    sampling = True

    async def sample() -> None:
        while sampling:
            counts.append(await asyncio.to_thread(calls_up, real_asterisk))
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    try:
        snapshot = await asyncio.wait_for(
            run_campaign(campaign, store, real_asterisk.secret, asyncio.Event()), 120
        )
        record = await store.get_campaign("real-pool")
        assert record is not None
        lines = await store.contact_report(record.id)
        attempts = await store.attempts(record.id)
    finally:
        sampling = False
        await sampler
        await store.close()
        await sim.stop()
    assert snapshot.state == "finished", real_asterisk.log_tail()
    assert all(line.status is ContactStatus.DONE for line in lines)
    on_sim = {o.channel_id for o in sim.originates}
    on_real = {a.attempt_id for a in attempts} - on_sim
    assert len(sim.originates) == len(on_sim) and on_sim <= {a.attempt_id for a in attempts}
    assert on_sim and on_real, (len(on_sim), len(on_real))
    assert max(counts) <= LIMIT and sim.max_concurrent <= LIMIT
    assert max(counts) >= 1  # the real server did carry calls at once, as sampled
