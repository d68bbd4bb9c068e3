"""Coordinators with short TTLs against the private redis-server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from dialer.coord import ChannelLimit, Coordinator, CoordSettings

TTL_S = 1.0
HEARTBEAT_S = 0.2


def settings(url: str, node: str, *limits: ChannelLimit) -> CoordSettings:
    return CoordSettings(url, node_id=node, ttl_s=TTL_S, heartbeat_s=HEARTBEAT_S, limits=limits)


@asynccontextmanager
async def coordinators(url: str, *nodes: str) -> AsyncIterator[list[Coordinator]]:
    started = [Coordinator(settings(url, node)) for node in nodes]
    for coordinator in started:
        await coordinator.start()
    try:
        yield started
    finally:
        for coordinator in started:
            await coordinator.close()


def kill_heartbeat(coordinator: Coordinator) -> None:
    """The node dies (as far as Redis can tell): it beats no more."""
    assert coordinator._task is not None
    coordinator._task.cancel()


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
