"""The runner's pause between two passes, cut short by a stop or a wake-up."""

from __future__ import annotations

import asyncio


async def sleep_or_wake(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """The runner's pause between passes: over after `seconds`, or as soon as `stop` or
    `wake` is set (`wake` is cleared first)."""
    wake.clear()
    stop_wait = asyncio.ensure_future(stop.wait())
    wake_wait = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait(
            {stop_wait, wake_wait}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stop_wait.cancel()
        wake_wait.cancel()
