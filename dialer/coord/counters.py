"""Live figures of each campaign, written by the node that drives it (a hash per campaign
that expires if that node stops writing), so the API of any node shows them."""

from __future__ import annotations

from collections.abc import Mapping

from redis.asyncio import Redis

from dialer.coord.settings import Keys


class Counters:
    def __init__(self, redis: Redis, keys: Keys, ttl_ms: int) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl_ms = ttl_ms

    async def publish(self, campaign: str, figures: Mapping[str, str | int | float]) -> None:
        key = self._keys.live(campaign)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=dict(figures))
            pipe.pexpire(key, self._ttl_ms)
            await pipe.execute()

    async def read(self, campaign: str) -> dict[str, str]:
        """{} when no node drives it now."""
        found = await self._redis.hgetall(self._keys.live(campaign))  # type: ignore[misc]
        return {str(k): str(v) for k, v in found.items()}
