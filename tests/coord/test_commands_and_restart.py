"""Commands reaching the owner, live counters, and a Redis restart under a node."""

from __future__ import annotations

import asyncio

from dialer.coord import ChannelLimit, Coordinator
from dialer.coord.ownership import Owned, Owner
from tests.coord.helpers import HEARTBEAT_S, coordinators, eventually, settings
from tests.redis_server import PrivateRedis


async def test_commands_reach_the_node_that_reads_them(redis_url: str) -> None:
    async with coordinators(redis_url, "a", "b") as (a, b):
        await b.commands.send("spring", "pause", "old news")  # before a started reading
        after = {"spring": await a.commands.tail("spring"), "autumn": "0-0"}
        reading = asyncio.create_task(a.commands.read(after, block_ms=5000))
        await asyncio.sleep(0.1)
        await b.commands.send("spring", "stop", "supervisor-1")
        got = await asyncio.wait_for(reading, 5)
        assert [(c.campaign, c.command, c.by, c.sender) for c in got] == [
            ("spring", "stop", "supervisor-1", "b")
        ]
        await b.commands.send("autumn", "resume", "x")
        await b.commands.send("spring", "pause", "y")
        got = await a.commands.read(after, block_ms=1000)
        assert sorted((c.campaign, c.command) for c in got) == [
            ("autumn", "resume"),
            ("spring", "pause"),
        ]
        assert await a.commands.read(after, block_ms=50) == []


async def test_live_counters_are_seen_by_every_node(redis_url: str) -> None:
    async with coordinators(redis_url, "a", "b") as (a, b):
        await a.counters.publish("spring", {"node": "a", "originated": 12, "in_flight": 3})
        assert await b.counters.read("spring") == {
            "node": "a",
            "originated": "12",
            "in_flight": "3",
        }
        assert await b.counters.read("autumn") == {}


async def test_redis_restarted_coordination_lost_then_regained_and_reasserted(
    own_redis: PrivateRedis,
) -> None:
    limit = ChannelLimit("trunk", "carrier", 2)
    a = Coordinator(settings(own_redis.url, "a", limit))
    await a.start()
    try:
        owned = await a.ownership.take("spring")
        assert isinstance(owned, Owned)
        placed = await a.channels.acquire(owned.value, "spring", "a-1", "+79120000001", [limit])
        assert placed is None
        assert a.available

        own_redis.stop()
        await eventually(lambda: not a.available)  # the next beat fails: no more calls
        refused_while_down = 0
        for _ in range(3):
            try:
                await a.channels.acquire(owned.value, "spring", "a-2", "+79120000002", [limit])
            except Exception:
                refused_while_down += 1
        assert refused_while_down == 3
        own_redis.start()  # an empty Redis: it lost every key

        await eventually(lambda: a.available, within=15)
        assert not owned.lost.is_set()  # nobody took it meanwhile: ours again
        async with coordinators(own_redis.url, "b") as (b,):
            assert await b.ownership.take("spring") == Owner("a", owned.fence)
            assert await b.channels.number_holder("+79120000001") == "a-1"
            assert await b.channels.in_use(limit) == 1
    finally:
        await a.close()


async def test_a_node_settles_one_beat_after_redis_returns(own_redis: PrivateRedis) -> None:
    a = Coordinator(settings(own_redis.url, "a"))
    await a.start()
    try:
        own_redis.restart()  # quicker than a beat: seen as a new epoch or a dropped link
        await eventually(lambda: not a.available, within=5)
        await eventually(lambda: a.available, within=15)
        await asyncio.sleep(HEARTBEAT_S)
        assert a.available
    finally:
        await a.close()
