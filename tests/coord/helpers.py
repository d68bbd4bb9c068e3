"""Coordinators with short TTLs against the private redis-server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from dialer.coord import ChannelLimit, Coordinator, CoordSettings

TTL_S = 1.0
HEARTBEAT_S = 0.2


def settings(url: str, node: str, *limits: ChannelLimit, ttl_s: float = TTL_S) -> CoordSettings:
    return CoordSettings(url, node_id=node, ttl_s=ttl_s, heartbeat_s=ttl_s / 5, limits=limits)


@asynccontextmanager
async def coordinators(
    url: str, *nodes: str, ttl_s: float = TTL_S
) -> AsyncIterator[list[Coordinator]]:
    started = [Coordinator(settings(url, node, ttl_s=ttl_s)) for node in nodes]
    for coordinator in started:
        await coordinator.start()
    try:
        yield started
    finally:
        for coordinator in started:
            await coordinator.close()


def kill_heartbeat(coordinator: Coordinator) -> None:
    """The node dies (as far as Redis can tell): it beats no more. (Its heartbeat task
    goes on doing nothing: cancelling it in the middle of a command would leave a
    connection half-used, which a killed process does not care about but a test does.)"""

    async def no_beat() -> None:
        return None

    coordinator._beat = no_beat  # type: ignore[method-assign]


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
