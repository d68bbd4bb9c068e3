"""Store hiccups are waited out, never a crash: a call that finds the store busy (another
process holding SQLite's write lock past the busy timeout) is retried with back-off, and
the wait is shown (RunSnapshot.store_waiting, `dialer status`) while it lasts."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from dialer.store.base import StoreBusy

log = logging.getLogger("dialer.engine")

T = TypeVar("T")

FIRST_BACKOFF_S = 0.05
MAX_BACKOFF_S = 2.0


class StorePatience:
    def __init__(self, on_change: Callable[[str | None], None]) -> None:
        self._on_change = on_change  # what we are waiting for, None once it went through
        self.waiting: str | None = None

    async def call(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        delay = FIRST_BACKOFF_S
        while True:
            try:
                result = await operation()
            except StoreBusy:
                if self.waiting is None:
                    log.warning("engine.store_busy", extra={"operation": what})
                self._set(f"store busy, retrying {what}")
                await asyncio.sleep(delay)
                delay = min(MAX_BACKOFF_S, delay * 2)
                continue
            if self.waiting is not None:
                log.info("engine.store_available", extra={"operation": what})
                self._set(None)
            return result

    def _set(self, waiting: str | None) -> None:
        if waiting != self.waiting:
            self.waiting = waiting
            self._on_change(waiting)
