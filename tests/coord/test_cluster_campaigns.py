"""Several nodes in one process, each with its own coordinator on the real redis-server,
sharing one contact base, against the simulated PBX: the cluster's invariants counted on
the PBX side. (The three-process test with PostgreSQL needs the PostgreSQL backend; the
two-process one is test_cluster_serve.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TypeVar

import pytest

from dialer.control.app import Node
from dialer.coord import ChannelLimit, Coordinator
from dialer.engine.campaign_hold import CampaignHeld
from dialer.engine.run_snapshot import RunSnapshot
from dialer.outcomes import ContactStatus
from dialer.simpbx import SimulatedPbx
from dialer.store.base import ContactStore
from tests.coord.helpers import kill_heartbeat, settings
from tests.integration.conftest import SECRET, fill_list, make_campaign
from tests.redis_server import PrivateRedis

# Both nodes share one contact base: an SQLite file, then a private PostgreSQL (what
# several machines would share).
pytestmark = pytest.mark.store_backends
T = TypeVar("T")

# Longer than the coordination tests' TTL: the SQLite store works in the event loop, and a
# loaded machine must not make a live node look dead.
TTL_S = 3.0


@asynccontextmanager
async def node(
    store: ContactStore, url: str, name: str, *limits: ChannelLimit
) -> AsyncIterator[Node]:
    coordinator = Coordinator(settings(url, name, *limits, ttl_s=TTL_S))
    await coordinator.start()
    made = Node(store, coordinator=coordinator)
    try:
        yield made
    finally:
        await made.close()
        await coordinator.close()


def assert_no_person_in_two_calls(pbx: SimulatedPbx) -> None:
    calls = defaultdict(list)
    for record in pbx.calls.values():
        calls[record.number].append((record.started, record.ended or time.time()))
    for number, spans in calls.items():
        spans.sort()
        for (_, ended), (started, _) in itertools.pairwise(spans):
            assert started >= ended, f"{number} in two calls at once"


def assert_never_originated_twice(pbx: SimulatedPbx) -> None:
    ids = [o.channel_id for o in pbx.originates]
    assert len(ids) == len(set(ids)), "an attempt was originated twice"


async def assert_all_final(store: ContactStore, campaign: str, count: int) -> None:
    record = await store.get_campaign(campaign)
    assert record is not None
    lines = await store.contact_report(record.id)
    assert len(lines) == count
    assert {line.status for line in lines} == {ContactStatus.DONE}


async def test_two_nodes_share_the_channel_limit_and_each_person(
    pbx: SimulatedPbx, store: ContactStore, redis_url: str
) -> None:
    await fill_list(store, "spring", 60)
    await fill_list(store, "autumn", 60)  # the same 60 people
    limit = ChannelLimit("server", f"127.0.0.1:{pbx.port}", 4)
    spring = make_campaign(pbx.port)
    autumn = make_campaign(pbx.port, name="autumn-promo", list="autumn")
    async with (
        node(store, redis_url, "a", limit) as a,
        node(store, redis_url, "b", limit) as b,
    ):
        run_a = asyncio.create_task((await a.add_campaign(spring, SECRET)).run(asyncio.Event()))
        run_b = asyncio.create_task((await b.add_campaign(autumn, SECRET)).run(asyncio.Event()))
        while len(pbx.originates) < 5:
            await asyncio.sleep(0.01)
        second = await b.add_campaign(spring, SECRET)  # spring is a's: b must not drive it
        with pytest.raises(CampaignHeld, match="driven by node a"):
            await second.run(asyncio.Event())
        b.forget(second)
        snapshots: list[RunSnapshot] = await asyncio.gather(run_a, run_b)
    assert [s.state for s in snapshots] == ["finished", "finished"]
    assert pbx.max_concurrent == limit.limit  # reached, never passed, over both nodes
    assert_no_person_in_two_calls(pbx)
    assert_never_originated_twice(pbx)
    await assert_all_final(store, "spring-promo", 60)
    await assert_all_final(store, "autumn-promo", 60)


@pytest.mark.timeout(300)  # every step is bounded below it, and says which one ran long
async def test_a_dead_nodes_campaign_is_taken_over_and_its_calls_reconciled(
    pbx: SimulatedPbx, store: ContactStore, redis_url: str
) -> None:
    await fill_list(store, "spring", 80)
    campaign = make_campaign(pbx.port)
    began = time.monotonic()
    phases: list[str] = []  # how long each step took, for the failure message

    async def step(what: str, work: Awaitable[T], limit: float = 20.0) -> T:
        started = time.monotonic()
        try:
            return await asyncio.wait_for(work, limit)
        except TimeoutError:
            raise AssertionError(f"{what}: over {limit} s; before it: {phases}") from None
        finally:
            phases.append(f"{what} {time.monotonic() - started:.1f} s")

    async with node(store, redis_url, "a") as a, node(store, redis_url, "b") as b:
        assert a.coordinator is not None
        runner_a = await step("node a adds the campaign", a.add_campaign(campaign, SECRET))
        run_a = asyncio.create_task(runner_a.run(asyncio.Event()))
        up_by = time.monotonic() + 60  # bounded: a run that never gets calls up says so
        while len(pbx.originates) < 40 or not runner_a.snapshot.in_flight:
            assert not run_a.done(), "node a ended before it could die with calls up"
            assert time.monotonic() < up_by, (
                f"node a had {len(pbx.originates)} calls placed, none up, after 60 s"
            )
            await asyncio.sleep(0.005)
        phases.append(f"node a's calls up after {time.monotonic() - began:.1f} s")
        # Node a dies: no more beats, no goodbye (a killed process releases nothing).
        left_open = runner_a.snapshot.in_flight
        kill_heartbeat(a.coordinator)
        died = time.monotonic()  # its last beat was at most one beat (TTL / 5) before

        async def released(*_: object) -> None:
            return None

        a.coordinator.ownership.release = released  # type: ignore[method-assign]
        run_a.cancel()
        # Its cleanup runs here, but gives nothing back (release: no-op).
        with contextlib.suppress(asyncio.CancelledError):
            await step("node a's run cancelled", asyncio.shield(run_a))
        # Its AMI link goes; the calls it placed go on in the PBX.
        await step("node a closes", a.close())
        assert left_open > 0

        while True:  # what the service's take-over loop does (control/service/cluster.py)
            runner_b = await step("node b adds the campaign", b.add_campaign(campaign, SECRET))
            try:
                # Bounded: a take-over that never ends fails here, saying so.
                snapshot = await step("node b runs it", runner_b.run(asyncio.Event()), 60)
                break
            except CampaignHeld:
                b.forget(runner_b)
                assert time.monotonic() - died < TTL_S * 10, phases
                await asyncio.sleep(0.05)
    assert time.monotonic() - died >= TTL_S * 0.8  # not before the owner's TTL
    assert snapshot.state == "finished"
    assert_never_originated_twice(pbx)
    assert_no_person_in_two_calls(pbx)
    await assert_all_final(store, "spring-promo", 80)


async def test_dialling_pauses_while_redis_is_down_and_resumes(
    pbx: SimulatedPbx, store: ContactStore, own_redis: PrivateRedis
) -> None:
    await fill_list(store, "spring", 100)
    campaign = make_campaign(pbx.port, pacing={"max_channels": 10, "calls_per_second": 100})
    limit = ChannelLimit("server", f"127.0.0.1:{pbx.port}", 6)
    async with node(store, own_redis.url, "a", limit) as a:
        runner = await a.add_campaign(campaign, SECRET)
        run = asyncio.create_task(runner.run(asyncio.Event()))
        while len(pbx.originates) < 40:
            await asyncio.sleep(0.005)
        own_redis.stop()
        stopped = time.time()
        await asyncio.sleep(1.5)
        late = [o for o in pbx.originates if o.time > stopped + 0.3]
        assert late == []  # nothing placed without the cluster's check
        assert not runner.snapshot.link_ready
        own_redis.start()  # empty: the node writes its calls back before it dials
        snapshot = await asyncio.wait_for(run, 60)
    assert snapshot.state == "finished"
    assert any(o.time > stopped + 1.5 for o in pbx.originates)  # it resumed
    assert pbx.max_concurrent <= limit.limit
    assert_never_originated_twice(pbx)
    await assert_all_final(store, "spring-promo", 100)
