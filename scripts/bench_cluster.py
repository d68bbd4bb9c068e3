"""Cluster benchmark (issue #11): several `dialer serve --redis` nodes on this machine over
one private PostgreSQL and one private redis-server, against the simulated PBX (its own
process, so its CPU is not billed to the dialer).

1. Throughput: the same calls (three campaigns) driven by 1, 2 and 3 nodes (campaign k
   started through node k mod n, so each node drives its share): originates per second
   over the run, and the nodes' CPU (read from /proc) per 1,000 calls.
2. Take-over: two nodes, one campaign dialling on node A; A is killed with SIGKILL; the
   time until the campaign's next call is placed by node B (its heartbeat's TTL, the
   take-over loop's period, reconciling A's open calls, the first lease). Goal <= 15 s
   with the default --node-ttl.
3. Lease latency on PostgreSQL with 1,000,000 contacts: bench_lease's measurement (every
   compliance rule on), goal <= 50 ms per 1,000.

On one machine the nodes share its cores with PostgreSQL, Redis and the simulator: the
figures tell what a node costs, not how far several machines would scale.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import yaml
from bench_engine import SECRET, cpu_seconds_of, start_simulator
from bench_report import print_figures
from bench_service import Api, dialer_cli

from dialer.control.app import opened_store
from dialer.coord.settings import NODE_TTL_S
from dialer.store.base import NewContact

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.pg_server import PrivatePostgres, why_unavailable
from tests.redis_server import REDIS_BINARY, SKIP_REASON, PrivateRedis, start_private_redis

CAMPAIGNS = ("bench-a", "bench-b", "bench-c")


def campaign_file(name: str, port: int, channels: int, rate: float) -> str:
    return yaml.safe_dump(
        {
            "name": name,
            "list": name,
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": {"port": port, "secret_env": "DIALER_AMI_SECRET"},
            "dial": {"channel": "Local/{number}@dialer-test-callees"},
            "pacing": {"max_channels": channels, "calls_per_second": rate},
            "retry": {"max_attempts": 1},
        }
    )


async def seed(db: str, per_campaign: int, names: tuple[str, ...] = CAMPAIGNS) -> str:
    """Lists of numbers ending in 0 (the simulator's answer persona); an admin token."""
    async with opened_store(db) as store:
        for k, name in enumerate(names):
            contacts = [NewContact(number=f"+79{k:02d}{i:06d}0") for i in range(per_campaign)]
            await store.import_contacts(name, contacts)
    return (await dialer_cli(db, "tokens", "create", "--role", "admin")).split()[-1]


class Node:
    """One `dialer serve --redis` process."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str, token: str) -> None:
        self.proc = proc
        self.api = Api(url, token)

    @classmethod
    async def start(cls, db: str, redis: str, ttl_s: float, token: str) -> Node:
        env = {**os.environ, "DIALER_AMI_SECRET": SECRET}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dialer", "--db", db, "serve", "--listen", "127.0.0.1:0",
            "--redis", redis, "--node-ttl", f"{ttl_s:g}s",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=env,
        )  # fmt: skip
        assert proc.stdout is not None
        url = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().rsplit(" ", 1)[1]
        return cls(proc, url.strip(), token)

    def cpu(self) -> float:
        return cpu_seconds_of(self.proc.pid)

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return await asyncio.to_thread(self.api.call, method, path, body)

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            await asyncio.wait_for(self.proc.wait(), 90)


async def attempt_starts(db: str) -> list[float]:
    conn = await asyncpg.connect(db)
    try:
        return [r[0] for r in await conn.fetch("SELECT started_at FROM attempts ORDER BY 1")]
    finally:
        await conn.close()


async def throughput(
    pg: PrivatePostgres, redis: PrivateRedis, port: int, nodes: int, args: argparse.Namespace
) -> dict[str, float]:
    db = pg.new_database()
    redis.flush()
    per_campaign = args.calls // len(CAMPAIGNS)
    token = await seed(db, per_campaign)
    started = [await Node.start(db, redis.url, args.ttl, token) for _ in range(nodes)]
    try:
        for name in CAMPAIGNS:
            content = campaign_file(name, port, args.channels, args.rate)
            code, answer = await started[0].call("POST", "/campaigns", {"content": content})
            assert code == 201, answer
        cpu_before = sum(node.cpu() for node in started)
        for k, name in enumerate(CAMPAIGNS):
            code, answer = await started[k % nodes].call("POST", f"/campaigns/{name}/start")
            assert code == 200, answer
        while True:
            await asyncio.sleep(1.0)
            _, rows = await started[0].call("GET", "/campaigns")
            if all(r["contacts"] and r["final"] == r["contacts"] for r in rows):
                break
        cpu = sum(node.cpu() for node in started) - cpu_before
    finally:
        for node in started:
            await node.stop()
    starts = await attempt_starts(db)
    span = (starts[-1] - starts[0]) or 1e-9
    return {
        "calls": len(starts),
        "originates_per_s": round((len(starts) - 1) / span, 1),
        "cpu_s_per_1000_calls": round(1000 * cpu / max(1, len(starts)), 3),
    }


async def take_over(
    pg: PrivatePostgres, redis: PrivateRedis, port: int, args: argparse.Namespace
) -> dict[str, float]:
    db = pg.new_database()
    redis.flush()
    name = CAMPAIGNS[0]
    token = await seed(db, 20_000, (name,))
    a = await Node.start(db, redis.url, args.ttl, token)
    b = await Node.start(db, redis.url, args.ttl, token)
    try:
        code, answer = await a.call(
            "POST", "/campaigns", {"content": campaign_file(name, port, 10, 20)}
        )
        assert code == 201, answer
        code, answer = await a.call("POST", f"/campaigns/{name}/start")
        assert code == 200, answer
        await asyncio.sleep(max(3.0, args.ttl / 2))  # dialling, heartbeats going
        a.proc.send_signal(signal.SIGKILL)
        died = time.time()
        await a.proc.wait()
        conn = await asyncpg.connect(db)
        try:
            while True:
                # Past the dying node's last writes: a call B placed.
                first = await conn.fetchval(
                    "SELECT min(started_at) FROM attempts WHERE started_at > $1", died + 0.5
                )
                if first is not None:
                    break
                if time.time() - died > 10 * args.ttl + 30:
                    raise SystemExit("take-over: no call placed by the other node")
                await asyncio.sleep(0.05)
        finally:
            await conn.close()
    finally:
        await b.stop()
    return {"takeover_s": round(first - died, 2)}


def lease_latency(pg: PrivatePostgres, contacts: int) -> dict[str, float]:
    import bench_lease

    args = argparse.Namespace(contacts=contacts, rounds=50, db=pg.new_database(), register_db=None)
    with tempfile.TemporaryDirectory() as tmp:
        figures = bench_lease.run(args, Path(tmp))
    return {
        "lease_contacts": contacts,
        "lease_1000_median_ms": figures["lease_1000_median_ms"],
        "lease_1000_p95_ms": figures["lease_1000_p95_ms"],
    }


async def bench(pg: PrivatePostgres, redis: PrivateRedis, args: argparse.Namespace) -> dict:
    sim, port = await start_simulator(args.ring, args.message)
    assert sim.stdin is not None
    figures: dict[str, float] = {"node_ttl_s": args.ttl}
    try:
        for nodes in (1, 2, 3):
            run = await throughput(pg, redis, port, nodes, args)
            for key, value in run.items():
                figures[f"{key}_{nodes}_nodes" if key != "calls" else "calls"] = value
        figures.update(await take_over(pg, redis, port, args))
    finally:
        sim.stdin.close()
        await sim.wait()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=6000, help="in all, three campaigns")
    parser.add_argument("--channels", type=int, default=200, help="max_channels per campaign")
    parser.add_argument("--rate", type=float, default=150.0, help="calls_per_second per campaign")
    parser.add_argument("--ring", type=float, default=0.2)
    parser.add_argument("--message", type=float, default=1.0)
    parser.add_argument("--ttl", type=float, default=NODE_TTL_S, help="--node-ttl, seconds")
    parser.add_argument(
        "--lease-contacts", type=int, default=1_000_000, help="0: skip the lease measurement"
    )
    args = parser.parse_args()
    if (reason := why_unavailable()) is not None:
        sys.exit(f"bench-cluster: {reason}")
    if REDIS_BINARY is None:
        sys.exit(f"bench-cluster: {SKIP_REASON}")
    pg = PrivatePostgres().start()
    try:
        with (
            tempfile.TemporaryDirectory() as tmp,
            start_private_redis(Path(tmp), REDIS_BINARY) as redis,
        ):
            figures = asyncio.run(bench(pg, redis, args))
        if args.lease_contacts:
            figures.update(lease_latency(pg, args.lease_contacts))
    finally:
        pg.stop()
    goals = {"takeover_s": ("<= 15", figures["takeover_s"] <= 15)}
    if "lease_1000_median_ms" in figures:
        goals["lease_1000_median_ms"] = ("<= 50", figures["lease_1000_median_ms"] <= 50)
    print_figures("Cluster benchmark: 1, 2 and 3 nodes (PostgreSQL, Redis, simulated PBX)",
                  figures, goals)  # fmt: skip


if __name__ == "__main__":
    main()
