"""A campaign through the simulated PBX when things go wrong around it: contacts imported
while it runs, a Hangup with a cause no store can hold, another process holding the
database's write lock longer than the busy timeout. Counted on the simulator's side and
in the real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from dialer.control.app import run_campaign
from dialer.engine.runner import CampaignRunner
from dialer.simpbx import SimConfig, SimulatedPbx
from dialer.store.base import AttemptRecord, NewContact
from dialer.store.sqlite import SqliteStore
from tests.integration.conftest import FAST, SECRET, fill_list, make_campaign, numbers

pytestmark = pytest.mark.timeout(60)


async def attempts_of(store: SqliteStore) -> list[AttemptRecord]:
    record = await store.get_campaign("spring-promo")
    assert record is not None
    return await store.attempts(record.id)


async def test_contacts_imported_while_the_campaign_runs_are_dialled_too(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    store = await SqliteStore.open(tmp_path / "dialer.db")
    try:
        first_ten = await fill_list(store, "spring", 10)
        late_ten = numbers(20)[10:]
        campaign = make_campaign(pbx.port, retry={"max_attempts": 1})
        run = asyncio.create_task(run_campaign(campaign, store, SECRET, asyncio.Event()))
        while not pbx.originates:
            await asyncio.sleep(0.005)
        await store.import_contacts("spring", [NewContact(number=n) for n in late_ten])
        snapshot = await run
        assert snapshot.state == "finished"
        assert (snapshot.total, snapshot.done) == (20, 20)
        assert {o.number for o in pbx.originates} == set(first_ten + late_ten)
    finally:
        await store.close()


@pytest.fixture
async def ringing_pbx() -> AsyncIterator[SimulatedPbx]:
    """Every callee rings and never answers: channels stay up for the test to hang up."""
    sim = SimulatedPbx(
        SimConfig(
            port=0,
            secret=SECRET,
            timing=replace(FAST, no_answer_after=30.0),
            personas={n: "no_answer" for n in numbers(30)},
        )
    )
    await sim.start()
    yield sim
    await sim.stop()


async def test_a_hangup_with_an_absurd_cause_still_closes_every_attempt(
    ringing_pbx: SimulatedPbx, tmp_path: Path
) -> None:
    pbx = ringing_pbx
    store = await SqliteStore.open(tmp_path / "dialer.db")
    try:
        await fill_list(store, "spring", 30)
        campaign = make_campaign(
            pbx.port,
            retry={"max_attempts": 1},
            pacing={"max_channels": 10, "calls_per_second": 100},
        )
        hung_up: set[str] = set()

        async def hang_up_with_garbage_cause() -> None:
            while True:
                originated = {o.channel_id for o in pbx.originates}
                for name, channel in list(pbx.core.channels.items()):
                    if channel.uniqueid in originated and channel.uniqueid not in hung_up:
                        hung_up.add(channel.uniqueid)
                        pbx.core.hangup_channel(name, 99999999999999999999999)
                await asyncio.sleep(0.01)

        injector = asyncio.create_task(hang_up_with_garbage_cause())
        try:
            snapshot = await asyncio.wait_for(
                run_campaign(campaign, store, SECRET, asyncio.Event()), 40
            )
        finally:
            injector.cancel()
        assert snapshot.state == "finished"
        assert len(hung_up) == 30
        attempts = await attempts_of(store)
        assert len(attempts) == 30
        assert all(a.ended_at is not None for a in attempts)
        assert all(a.cause in (None, 0) for a in attempts)
        assert not any(r.result is None for r in pbx.calls.values())
    finally:
        await store.close()


def hold_write_lock(path: str, seconds: float, taken: threading.Event) -> None:
    """Another process's writer: BEGIN IMMEDIATE, then sit on the lock."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        taken.set()
        threading.Event().wait(seconds)
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_write_lock_held_past_the_busy_timeout_is_waited_out_and_every_attempt_closed(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    store = await SqliteStore.open(tmp_path / "dialer.db", busy_timeout=0.2)
    try:
        await fill_list(store, "spring", 100)
        campaign = make_campaign(pbx.port, pacing={"max_channels": 20, "calls_per_second": 50})
        runner: CampaignRunner | None = None

        def started(r: CampaignRunner) -> None:
            nonlocal runner
            runner = r

        run = asyncio.create_task(
            run_campaign(campaign, store, SECRET, asyncio.Event(), on_started=started)
        )
        while len(pbx.originates) < 20:
            await asyncio.sleep(0.005)
        taken = threading.Event()
        locker = threading.Thread(target=hold_write_lock, args=(store.path, 1.5, taken))
        locker.start()
        await asyncio.to_thread(taken.wait)
        seen_waiting = set()
        while locker.is_alive():
            assert runner is not None and not run.done()
            if runner.snapshot.store_waiting:
                seen_waiting.add(runner.snapshot.store_waiting.split(",")[0])
            await asyncio.sleep(0.02)
        snapshot = await run
        assert snapshot.state == "finished"
        assert seen_waiting == {"store busy"}
        assert snapshot.store_waiting is None
        attempts = await attempts_of(store)
        assert all(a.ended_at is not None for a in attempts)
        assert sorted(o.channel_id for o in pbx.originates) == sorted(
            a.attempt_id for a in attempts
        )
        lines = await store.contact_report((await store.get_campaign("spring-promo")).id)  # type: ignore[union-attr]
        assert all(line.status == "done" for line in lines)
    finally:
        await store.close()
