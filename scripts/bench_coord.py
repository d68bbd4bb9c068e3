"""Coordination over Redis (dialer.coord): what the cluster costs each call, and how soon
a dead node's campaign is driven again. Goals (issue #11): a node's death to its
campaigns dialling again elsewhere <= 15 s with the default TTL (here: <= TTL + one beat);
the admission must not limit a node's originate rate (>= 1,000 calls/s from one node)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_report import print_figures

from dialer.coord import ChannelLimit, Coordinator, CoordSettings
from dialer.coord.ownership import Owned

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.redis_server import REDIS_BINARY, SKIP_REASON, start_private_redis

LIMITS = (
    ChannelLimit("trunk", "carrier", 1_000_000),
    ChannelLimit("server", "pbx:5038", 1_000_000),
)


async def owned(node: Coordinator, campaign: str) -> Owned:
    taken = await node.ownership.take(campaign)
    assert isinstance(taken, Owned)
    return taken


async def one_node(url: str, calls: int) -> tuple[float, float, float]:
    """(calls/s, median ms, p99 ms) of admit + release, one after the other."""
    node = Coordinator(CoordSettings(url, node_id="solo", limits=LIMITS))
    await node.start()
    try:
        hold = await owned(node, "solo")
        took = []
        started = time.perf_counter()
        for i in range(calls):
            t0 = time.perf_counter()
            refused = await node.channels.acquire(
                hold.value, "solo", f"a{i}", f"+7912{i:07d}", list(LIMITS)
            )
            assert refused is None
            took.append(time.perf_counter() - t0)
            await node.channels.release(f"a{i}")
        elapsed = time.perf_counter() - started
    finally:
        await node.close()
    took.sort()
    return calls / elapsed, statistics.median(took) * 1000, took[int(len(took) * 0.99)] * 1000


async def four_nodes(url: str, calls: int) -> float:
    """calls/s of admit + release from four nodes with 25 callers each."""
    nodes = [Coordinator(CoordSettings(url, node_id=f"n{i}", limits=LIMITS)) for i in range(4)]
    for node in nodes:
        await node.start()
    try:
        holds = [await owned(node, f"c{i}") for i, node in enumerate(nodes)]
        per_caller = max(1, calls // 100)

        async def caller(k: int) -> None:
            node, hold = nodes[k % 4], holds[k % 4]
            for j in range(per_caller):
                attempt = f"b{k}-{j}"
                await node.channels.acquire(
                    hold.value, hold.campaign, attempt, f"+7{k:03d}{j:07d}", list(LIMITS)
                )
                await node.channels.release(attempt)

        started = time.perf_counter()
        await asyncio.gather(*(caller(k) for k in range(100)))
        return per_caller * 100 / (time.perf_counter() - started)
    finally:
        for node in nodes:
            await node.close()


async def takeover(url: str, ttl: float) -> float:
    """Seconds from a node's last heartbeat to another node owning its campaign."""
    settings = {"ttl_s": ttl, "heartbeat_s": ttl / 3}
    a = Coordinator(CoordSettings(url, node_id="dying", **settings))
    b = Coordinator(CoordSettings(url, node_id="heir", **settings))
    await a.start()
    await b.start()
    try:
        await owned(a, "spring")

        async def no_beat() -> None:
            return None

        await a._beat()  # the last one
        last_beat = time.monotonic()
        a._beat = no_beat  # type: ignore[method-assign]
        while not isinstance(await b.ownership.take("spring"), Owned):
            await asyncio.sleep(b.settings.heartbeat_s)  # the service's take-over loop
        return time.monotonic() - last_beat
    finally:
        await a.close()
        await b.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--ttl", type=float, default=3.0, help="node TTL for the takeover, s")
    args = parser.parse_args()
    if REDIS_BINARY is None:
        sys.exit(SKIP_REASON)
    with tempfile.TemporaryDirectory() as folder, start_private_redis(Path(folder)) as server:
        rate, median_ms, p99_ms = await one_node(server.url, args.calls)
        cluster_rate = await four_nodes(server.url, args.calls)
        taken_after = await takeover(server.url, args.ttl)
    figures = {
        "admissions_per_s_one_node": round(rate),
        "admission_median_ms": round(median_ms, 3),
        "admission_p99_ms": round(p99_ms, 3),
        "admissions_per_s_four_nodes": round(cluster_rate),
        "node_ttl_s": args.ttl,
        "takeover_after_last_beat_s": round(taken_after, 2),
    }
    goals = {
        "admissions_per_s_one_node": (">= 1000", rate >= 1000),
        "takeover_after_last_beat_s": (
            f"<= {args.ttl * 4 / 3:g}",
            taken_after <= args.ttl * 4 / 3,
        ),
    }
    print_figures("coordination over Redis (dialer.coord)", figures, goals)


if __name__ == "__main__":
    asyncio.run(main())
