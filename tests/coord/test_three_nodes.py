"""The cluster as it is deployed, every part a real process: three `dialer serve --redis`
nodes over one private PostgreSQL and one private redis-server, dialling through a pool of
two simulated Asterisk servers. A 2,000-contact campaign and a second campaign on an
overlapping list run to completion while the node driving the big one is killed with
SIGKILL, Redis is restarted empty and PostgreSQL is restarted.

The invariants are counted on the PBX side, over both servers: no attempt originated
twice, no person in two calls at once, no server over its channel limit; and in the store:
every contact of both campaigns final."""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialer.outcomes import ContactStatus
from dialer.simpbx import SimConfig, SimulatedPbx
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.coord.test_cluster_serve import driver_of_campaign
from tests.integration.conftest import FAST, SECRET, campaign_dict, fill_list, numbers
from tests.integration.service_helpers import (
    Service,
    api,
    make_token,
    originated_by,
    start_service,
    until,
)
from tests.integration.test_service_campaigns import register
from tests.pg_server import PrivatePostgres, why_unavailable
from tests.redis_server import PrivateRedis

pytestmark = pytest.mark.timeout(900)

BIG, SMALL = "spring-cluster", "autumn-cluster"
CONTACTS = 2000
OVERLAP, SMALL_ONLY = 400, 200  # autumn: 400 of spring's people and 200 of its own
LIMIT = 10  # calls at once per Asterisk server, over every node and campaign


@pytest.fixture
def own_postgres() -> Iterator[PrivatePostgres]:
    """A server of this test's own: it is restarted mid-run."""
    reason = why_unavailable()
    if reason:
        pytest.skip(reason)
    server = PrivatePostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def pbx_pool() -> AsyncIterator[list[SimulatedPbx]]:
    pool = [
        SimulatedPbx(SimConfig(port=0, secret=SECRET, channel_limit=500, operators=30, timing=FAST))
        for _ in range(2)
    ]
    for sim in pool:
        await sim.start()
    yield pool
    for sim in pool:
        await sim.stop()


def server_entry(port: int) -> dict[str, Any]:
    return {
        "host": "127.0.0.1", "port": port, "username": "dialer",
        "secret_env": "DIALER_AMI_SECRET", "ping_interval": "1s", "action_timeout": "2s",
    }  # fmt: skip


def write_pool_campaign(path: Path, pool: list[SimulatedPbx], name: str, list_name: str) -> Path:
    data = campaign_dict(
        pool[0].port, list_name, name=name, pacing={"max_channels": 20, "calls_per_second": 60}
    )
    data["ami"] = server_entry(pool[0].port)
    data["servers"] = [server_entry(sim.port) for sim in pool[1:]]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def seed(url: str) -> None:
    store = await open_store(url)
    try:
        spring = await fill_list(store, "spring", CONTACTS)
        autumn = spring[:OVERLAP] + numbers(CONTACTS + SMALL_ONLY)[CONTACTS:]
        await store.import_contacts(
            "autumn", [NewContact(number=n, name=f"Осень {i}") for i, n in enumerate(autumn)]
        )
    finally:
        await store.close()


def all_calls(pool: list[SimulatedPbx]) -> list[Any]:
    return [call for sim in pool for call in sim.calls.values()]


def assert_pbx_invariants(pool: list[SimulatedPbx]) -> None:
    ids = [o.channel_id for sim in pool for o in sim.originates]
    assert len(ids) == len(set(ids)), "an attempt was originated twice"
    for sim in pool:
        assert sim.max_concurrent <= LIMIT, f"server :{sim.port} carried {sim.max_concurrent}"
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for call in all_calls(pool):
        assert call.ended is not None, f"{call.channel_id} still up after the run"
        spans[call.number].append((call.started, call.ended))
    for number, calls in spans.items():
        calls.sort()
        for (_, end), (start, _) in itertools.pairwise(calls):
            assert start >= end, f"{number} in two calls at once"


def placed(pool: list[SimulatedPbx], campaign: str) -> int:
    return sum(len(originated_by(sim, campaign)) for sim in pool)


async def away_for_2_s(
    stop: Callable[[], object], start: Callable[[], object], pool: list[SimulatedPbx]
) -> tuple[float, float]:
    """A server stopped for 2 s, then started; returns when the nodes have placed 200
    calls since: (when it went down, when it was started again)."""
    stop()
    down = time.time()
    await asyncio.sleep(2)
    up = time.time()
    start()
    back = placed(pool, BIG) + placed(pool, SMALL)
    await until(lambda: placed(pool, BIG) + placed(pool, SMALL) >= back + 200, timeout=120)
    return down, up


async def statuses_finished(services: list[Service], token: str) -> bool:
    """Both campaigns finished, as any live node reports them (a node may answer 503
    while PostgreSQL is away: then ask again)."""
    for name in (BIG, SMALL):
        seen = False
        for service in services:
            if service.proc.returncode is not None:
                continue
            try:
                code, status = await api(service.url, "GET", f"/campaigns/{name}", token)
            except OSError:
                continue
            if code == 200 and status.get("state") == "finished":
                seen = True
                break
        if not seen:
            return False
    return True


async def test_three_nodes_two_servers_survive_kill_9_and_redis_and_postgres_restarts(
    pbx_pool: list[SimulatedPbx],
    tmp_path: Path,
    own_postgres: PrivatePostgres,
    own_redis: PrivateRedis,
) -> None:
    db = own_postgres.new_database()
    await seed(db)
    admin, supervisor = await make_token(db, "admin"), await make_token(db, "supervisor")
    limits = [f"server:127.0.0.1:{sim.port}={LIMIT}" for sim in pbx_pool]
    node_args = ["--redis", own_redis.url, "--node-ttl", "3s"]
    for limit in limits:
        node_args += ["--channel-limit", limit]
    services = [await start_service(db, *node_args) for _ in range(3)]
    try:
        for name, list_name in ((BIG, "spring"), (SMALL, "autumn")):
            path = write_pool_campaign(tmp_path / f"{name}.yaml", pbx_pool, name, list_name)
            await register(services[0].url, admin, path)
            code, answer = await api(
                services[1].url, "POST", f"/campaigns/{name}/start", supervisor
            )
            assert code == 200, answer
        await until(lambda: placed(pbx_pool, BIG) >= 300, timeout=120)
        assert all(len(sim.originates) > 0 for sim in pbx_pool)  # the pool spreads calls

        owner = await driver_of_campaign(services, supervisor, BIG)
        owner.proc.send_signal(signal.SIGKILL)  # the node driving the big campaign dies
        await owner.proc.wait()
        killed_at = placed(pbx_pool, BIG)
        await until(lambda: placed(pbx_pool, BIG) >= killed_at + 300, timeout=120)
        # The campaigns are driven by different nodes now: the least loaded node takes
        # an orphan first (policy/campaign_spread.py). (Unless the small one finished.)
        alive = [s for s in services if s.proc.returncode is None]
        _, cluster = await api(alive[0].url, "GET", "/cluster", supervisor)
        drivers = {name: n["node"] for n in cluster["nodes"] for name in n["campaigns"]}
        if SMALL in drivers:
            assert drivers[SMALL] != drivers[BIG], cluster

        # Redis goes away and comes back empty; then PostgreSQL restarts, its sessions cut.
        redis_down, redis_up = await away_for_2_s(own_redis.stop, own_redis.start, pbx_pool)
        pg_down, pg_up = await away_for_2_s(own_postgres.halt, own_postgres.start, pbx_pool)

        alive = [s for s in services if s.proc.returncode is None]
        assert len(alive) == 2
        await until(lambda: statuses_finished(alive, supervisor), timeout=480)
    finally:
        codes = []
        for service in services:
            if service.proc.returncode is None:
                codes.append(await service.stop())
    assert codes == [0, 0], [await s.stderr() for s in services]
    await asyncio.sleep(0.5)  # the last hang-ups reach the simulators' records
    assert_pbx_invariants(pbx_pool)
    # Dialling paused while Redis or PostgreSQL was away, and resumed after (the `until`s
    # above). The first second is left out: a call admitted just before may still be on
    # its way to the PBX on a loaded machine.
    times = [o.time for sim in pbx_pool for o in sim.originates]
    for what, down, up in (("Redis", redis_down, redis_up), ("PostgreSQL", pg_down, pg_up)):
        during = [t for t in times if down + 1.0 < t <= up]
        assert during == [], f"{len(during)} calls placed while {what} was down"
    store = await open_store(db)
    try:
        for name, count in ((BIG, CONTACTS), (SMALL, OVERLAP + SMALL_ONLY)):
            record = await store.get_campaign(name)
            assert record is not None
            lines = await store.contact_report(record.id)
            assert len(lines) == count
            assert {line.status for line in lines} == {ContactStatus.DONE}, name
    finally:
        await store.close()
