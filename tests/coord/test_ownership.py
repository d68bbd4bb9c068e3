"""Campaign ownership on a real redis-server: one node at a time, taken over after the
owner's heartbeat stops, and a stale owner fenced off."""

from __future__ import annotations

import asyncio

from dialer.coord.ownership import Owned, Owner
from tests.coord.helpers import coordinators, eventually, kill_heartbeat


async def test_one_owner_under_contention(redis_url: str) -> None:
    async with coordinators(redis_url, *(f"node-{i}" for i in range(6))) as nodes:
        for round_ in range(40):
            campaign = f"race-{round_ % 3}"
            results = await asyncio.gather(*(n.ownership.take(campaign) for n in nodes))
            winners = [r for r in results if isinstance(r, Owned)]
            assert len(winners) == 1, results
            holders = {r.node_id for r in results if isinstance(r, Owner)}
            winner = nodes[results.index(winners[0])]
            assert holders == {winner.node_id}
            await winner.ownership.release(winners[0])


async def test_taken_over_after_the_owners_heartbeat_stops(redis_url: str) -> None:
    # A TTL well above a loaded CI machine's scheduling stalls: with 1 s, a beat delayed
    # past the TTL let b take the campaign while a was still alive.
    ttl_s = 3.0
    async with coordinators(redis_url, "a", "b", ttl_s=ttl_s) as (a, b):
        first = await a.ownership.take("spring")
        assert isinstance(first, Owned)
        await asyncio.sleep(ttl_s * 1.5)  # a beats: still its campaign past the TTL
        refused = await b.ownership.take("spring")
        assert refused == Owner("a", first.fence)

        kill_heartbeat(a)
        taken: list[Owned | Owner] = []

        async def b_takes() -> bool:
            taken.append(await b.ownership.take("spring"))
            return isinstance(taken[-1], Owned)

        for _ in range(400):
            if await b_takes():
                break
            await asyncio.sleep(0.05)
        second = taken[-1]
        assert isinstance(second, Owned)
        assert second.fence > first.fence
        # a, cut off, still believes it owns the campaign: the fence refuses its calls.
        refused_call = await a.channels.acquire(first.value, "spring", "att-1", "+79120000001", [])
        assert refused_call is not None and refused_call.why == "not_owner"
        # Its next renewal tells it.
        await a.ownership.renew_all()
        assert first.lost.is_set()


async def test_a_released_campaign_is_free_at_once(redis_url: str) -> None:
    async with coordinators(redis_url, "a", "b") as (a, b):
        owned = await a.ownership.take("spring")
        assert isinstance(owned, Owned)
        await a.ownership.release(owned)
        assert isinstance(await b.ownership.take("spring"), Owned)
        assert (await a.ownership.owner("spring")) == Owner("b", owned.fence + 1)


async def test_nodes_listed_while_they_beat(redis_url: str) -> None:
    async with coordinators(redis_url, "a", "b") as (a, b):
        assert [n["node"] for n in await a.nodes()] == ["a", "b"]
        kill_heartbeat(b)
        found: list[object] = []

        async def refresh() -> None:
            found[:] = [n["node"] for n in await a.nodes()]

        for _ in range(200):
            await refresh()
            if found == ["a"]:
                break
            await asyncio.sleep(0.05)
        assert found == ["a"]
        await eventually(lambda: a.available)
