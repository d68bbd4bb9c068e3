"""This node's link to Redis: the connection, the node heartbeat, and whether coordination
holds now.

Every HEARTBEAT the node writes its own key (expiring after the TTL), renews each campaign
it drives and refreshes each call it has up. A beat that fails (Redis down, slow, or a
call's script refused) marks coordination lost at once: the engine places no call until
a beat goes through again. When Redis comes back the beat re-asserts what this node holds
(a restarted Redis without its data gets the calls, numbers and campaigns back), and the
node waits one more beat before dialling, so the other nodes have re-asserted theirs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Coroutine
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from dialer.coord import scripts
from dialer.coord.channels import Channels
from dialer.coord.commands import Commands
from dialer.coord.counters import Counters
from dialer.coord.ownership import Ownership
from dialer.coord.settings import CoordSettings, Keys, RedisUnreachable

log = logging.getLogger("dialer.coord")


class Coordinator:
    def __init__(self, settings: CoordSettings, redis: Redis | None = None) -> None:
        self.settings = settings
        self.keys = Keys(settings.prefix)
        self.redis = redis or Redis.from_url(
            settings.url,
            decode_responses=True,
            socket_connect_timeout=settings.connect_timeout_s,
            socket_timeout=max(settings.heartbeat_s, 1.0),
        )
        self.ownership = Ownership(self.redis, self.keys, settings)
        self.channels = Channels(self.redis, self.keys, settings)
        self.commands = Commands(self.redis, self.keys, settings.node_id)
        self.counters = Counters(self.redis, self.keys, settings.ttl_ms)
        self._epoch_script = self.redis.register_script(scripts.EPOCH)
        self._epoch: str | None = None
        self._available = False
        self._settle_until = 0.0  # monotonic: after a loss, dial again only from then
        self._task: asyncio.Task[None] | None = None
        self._beat_now = asyncio.Event()
        self._background: set[asyncio.Task[None]] = set()
        self.started_at = time.time()

    @property
    def node_id(self) -> str:
        return self.settings.node_id

    @property
    def available(self) -> bool:
        """Whether calls may be placed now (Redis answers and the node has settled)."""
        return self._available and time.monotonic() >= self._settle_until

    async def start(self) -> None:
        """The first beat, then the heartbeat task. RedisUnreachable if Redis does not
        answer: a node told to coordinate does not start alone."""
        try:
            await self._beat()
        except (RedisError, OSError) as exc:
            raise RedisUnreachable(
                f"--redis {_safe_url(self.settings.url)}: Redis does not answer ({exc})"
            ) from exc
        self._available = True
        self._task = asyncio.create_task(self._keep(), name="coord-heartbeat")
        log.info("coord.started", extra={"node": self.node_id})

    def spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Redis work started from synchronous code (a call's end): finished before close."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def close(self) -> None:
        if self._background:
            await asyncio.wait(set(self._background), timeout=self.settings.heartbeat_s)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(RedisError, OSError):
            await self.redis.delete(self.keys.node(self.node_id))
        await self.redis.aclose()

    def failed(self, exc: BaseException) -> None:
        """A Redis operation failed outside the heartbeat: no call until a beat succeeds."""
        if self._available:
            log.warning("coord.lost", extra={"error": repr(exc)})
        self._available = False
        self._beat_now.set()

    async def nodes(self) -> list[dict[str, object]]:
        """The live nodes (their heartbeat keys), this one included."""
        found = []
        async for key in self.redis.scan_iter(match=self.keys.nodes_pattern):
            value = await self.redis.get(key)
            if value is not None:
                found.append(json.loads(value))
        return sorted(found, key=lambda node: str(node.get("node")))

    async def _keep(self) -> None:
        while True:
            interval = (
                self.settings.heartbeat_s
                if self._available
                else min(self.settings.heartbeat_s, 0.5)
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._beat_now.wait(), interval)
            self._beat_now.clear()
            try:
                await self._beat()
            except (RedisError, OSError) as exc:
                if self._available:
                    log.warning("coord.lost", extra={"error": repr(exc)})
                self._available = False
                continue
            except Exception:  # keep beating whatever happens: a dead beat frees our calls
                log.exception("coord.beat_failed")
                self._available = False
                continue
            if not self._available:
                log.warning("coord.regained", extra={"node": self.node_id})
                self._settle_until = time.monotonic() + self.settings.heartbeat_s
                self._available = True

    async def _beat(self) -> None:
        epoch = str(await self._epoch_script(keys=[self.keys.epoch], args=[uuid.uuid4().hex]))
        if self._epoch is not None and epoch != self._epoch:
            # Redis restarted without its data: what we hold is written again below;
            # wait a beat so that the other nodes do the same before anyone dials.
            log.warning("coord.redis_lost_its_data", extra={"node": self.node_id})
            self._settle_until = time.monotonic() + self.settings.heartbeat_s
        self._epoch = epoch
        about = {
            "node": self.node_id,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": self.started_at,
            "seen": time.time(),
            "campaigns": sorted(self.ownership.held),
            "calls": len(self.channels.held),
        }
        await self.redis.set(
            self.keys.node(self.node_id), json.dumps(about), px=self.settings.ttl_ms
        )
        await self.ownership.renew_all()
        await self.channels.refresh_all()


def _safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return f"{scheme}{sep}{rest}"
