"""Channel limits and one call per person over several nodes, on a real redis-server."""

from __future__ import annotations

import asyncio
import random

from dialer.coord import ChannelLimit, Coordinator
from dialer.coord.ownership import Owned
from tests.coord.helpers import TTL_S, coordinators, kill_heartbeat

TRUNK = ChannelLimit("trunk", "carrier", 5)
SERVER = ChannelLimit("server", "10.0.0.5:5038", 7)


async def owned(node: Coordinator, campaign: str) -> Owned:
    taken = await node.ownership.take(campaign)
    assert isinstance(taken, Owned)
    return taken


async def test_the_limit_is_never_exceeded_by_concurrent_acquirers(redis_url: str) -> None:
    async with coordinators(redis_url, "a", "b", "c", "d") as nodes:
        holds = [await owned(node, f"campaign-{i}") for i, node in enumerate(nodes)]
        up = {TRUNK.key: 0, SERVER.key: 0}
        peak = {TRUNK.key: 0, SERVER.key: 0}
        rng = random.Random(7)

        async def caller(i: int) -> None:
            node, hold = nodes[i % 4], holds[i % 4]
            limits = [TRUNK] if i % 3 else [TRUNK, SERVER]
            for j in range(15):
                attempt = f"att-{i}-{j}"
                refused = await node.channels.acquire(
                    hold.value, hold.campaign, attempt, f"+7912{i:03d}{j:04d}", limits
                )
                if refused is not None:
                    assert refused.why == "full"
                    await asyncio.sleep(0)
                    continue
                for limit in limits:
                    up[limit.key] += 1
                    peak[limit.key] = max(peak[limit.key], up[limit.key])
                await asyncio.sleep(rng.random() * 0.01)
                for limit in limits:
                    up[limit.key] -= 1
                await node.channels.release(attempt)

        await asyncio.gather(*(caller(i) for i in range(24)))
        assert peak[TRUNK.key] == TRUNK.limit  # reached, never passed
        assert peak[SERVER.key] <= SERVER.limit
        assert await nodes[0].channels.in_use(TRUNK) == 0


async def test_a_dead_nodes_slots_free_up_a_live_nodes_do_not(redis_url: str) -> None:
    limit = ChannelLimit("trunk", "carrier", 3)
    async with coordinators(redis_url, "a", "b", "c") as (a, b, c):
        ha, hb, hc = await owned(a, "one"), await owned(b, "two"), await owned(c, "three")
        assert await a.channels.acquire(ha.value, "one", "a-1", "+79120000001", [limit]) is None
        assert await a.channels.acquire(ha.value, "one", "a-2", "+79120000002", [limit]) is None
        assert await c.channels.acquire(hc.value, "three", "c-1", "+79120000003", [limit]) is None
        refused = await b.channels.acquire(hb.value, "two", "b-1", "+79120000004", [limit])
        assert refused is not None and (refused.why, refused.limit) == ("full", limit.key)

        kill_heartbeat(a)  # a dies with two calls up; c lives on with one
        await asyncio.sleep(TTL_S * 2)
        assert await b.channels.in_use(limit) == 1
        assert await b.channels.acquire(hb.value, "two", "b-1", "+79120000004", [limit]) is None
        assert await b.channels.acquire(hb.value, "two", "b-2", "+79120000005", [limit]) is None
        refused = await b.channels.acquire(hb.value, "two", "b-3", "+79120000006", [limit])
        assert refused is not None and refused.why == "full"


async def test_one_call_per_person_across_nodes(redis_url: str) -> None:
    async with coordinators(redis_url, "a", "b") as (a, b):
        ha, hb = await owned(a, "one"), await owned(b, "two")
        number = "+79121234567"
        assert await a.channels.acquire(ha.value, "one", "a-1", number, []) is None
        assert await b.channels.number_holder(number) == "a-1"
        refused = await b.channels.acquire(hb.value, "two", "b-1", number, [TRUNK])
        assert refused is not None and refused.why == "number_in_call"
        assert await b.channels.in_use(TRUNK) == 0  # a refusal holds nothing
        await asyncio.sleep(TTL_S * 1.5)  # a's heartbeat keeps the number in its call
        refused = await b.channels.acquire(hb.value, "two", "b-1", number, [TRUNK])
        assert refused is not None and refused.why == "number_in_call"
        await a.channels.release("a-1")
        assert await b.channels.acquire(hb.value, "two", "b-1", number, [TRUNK]) is None


async def test_an_adopted_call_counts_whatever_the_limit(redis_url: str) -> None:
    limit = ChannelLimit("trunk", "carrier", 1)
    async with coordinators(redis_url, "a", "b") as (a, b):
        ha, hb = await owned(a, "one"), await owned(b, "two")
        assert await a.channels.acquire(ha.value, "one", "a-1", "+79120000001", [limit]) is None
        await b.channels.adopt("b-old", "+79120000002", [limit])  # taken over, up already
        assert await a.channels.in_use(limit) == 2
        refused = await b.channels.acquire(hb.value, "two", "b-2", "+79120000003", [limit])
        assert refused is not None and refused.why == "full"
