"""The service on a node of a cluster (`dialer serve --redis`): what makes several nodes
one dialler.

- A command for a campaign another node drives (pause, resume, stop; start = resume) is
  written to the shared store as the wanted state, then sent to that node over Redis
  (`Supervisor.remote`); the driving node reads its campaigns' commands and applies them.
- Campaigns wanted running or paused that no live node drives are taken: at start, and
  whenever an owner's heartbeat expired (its node died). The runner reconciles the dead
  owner's open attempts against Asterisk before it dials.
- The API shows a campaign's live figures as its driving node publishes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time

from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from dialer.control.service.supervisor import Supervisor
from dialer.coord import Coordinator
from dialer.policy.campaign_spread import may_take_orphan

log = logging.getLogger("dialer.service")

RETRY_AFTER_FAILURE_S = 30.0  # a campaign this node failed to take is tried again after


class ClusterSteering:
    def __init__(self, supervisor: Supervisor, coordinator: Coordinator) -> None:
        self._supervisor = supervisor
        self._coord = coordinator
        self._next_try: dict[str, float] = {}  # campaign -> monotonic time of the next try
        self._orphan_since: dict[str, float] = {}  # campaign -> when this node saw it orphaned

    # --- RemoteSteering (the supervisor's) ----------------------------------------------
    async def owner_elsewhere(self, name: str) -> str | None:
        """The node that drives the campaign, if another one."""
        try:
            owner = await self._coord.ownership.owner(name)
        except (RedisError, OSError) as exc:
            raise ConnectionError(str(exc)) from exc
        if owner is None or owner.node_id == self._coord.node_id:
            return None
        return owner.node_id

    async def send(self, name: str, command: str, by: str) -> None:
        try:
            await self._coord.commands.send(name, command, by)
        except (RedisError, OSError) as exc:
            raise ConnectionError(str(exc)) from exc

    async def live(self, name: str) -> dict[str, str]:
        """The campaign's figures as its driving node last published them ({}: none)."""
        try:
            return await self._coord.counters.read(name)
        except (RedisError, OSError):
            return {}

    async def nodes(self) -> list[dict[str, object]]:
        try:
            return await self._coord.nodes()
        except (RedisError, OSError):
            return []

    # --- the node's own loops ---------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        tasks = [
            asyncio.create_task(self._listen(stop), name="cluster-commands"),
            asyncio.create_task(self._take_over(stop), name="cluster-takeover"),
        ]
        try:
            await stop.wait()
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _listen(self, stop: asyncio.Event) -> None:
        """Apply the commands sent to the campaigns this node drives."""
        after: dict[str, str] = {}
        # Half a beat, at most 1 s: well inside the Redis socket timeout (one beat, at
        # least 1 s), and a newly driven campaign joins the read soon after it starts.
        block_ms = max(100, min(1000, int(self._coord.settings.heartbeat_s * 500)))
        while not stop.is_set():
            try:
                driven = {n for n, m in self._supervisor.campaigns.items() if m.driving}
                for name in list(after):
                    if name not in driven:
                        del after[name]
                for name in driven - set(after):
                    after[name] = await self._coord.commands.tail(name)
                if not after:
                    await asyncio.sleep(self._coord.settings.heartbeat_s)
                    continue
                try:
                    commands = await self._coord.commands.read(after, block_ms)
                except RedisTimeoutError:
                    # An idle wait outlasted the socket timeout (the event loop stalled):
                    # the heartbeat, not a command read, says whether Redis is lost.
                    log.debug("service.command_read_timeout")
                    continue
                for command in commands:
                    await self._apply(command.campaign, command.command, command.by)
            except (RedisError, OSError) as exc:
                self._coord.failed(exc)
                await asyncio.sleep(self._coord.settings.heartbeat_s)

    async def _apply(self, name: str, command: str, by: str) -> None:
        managed = self._supervisor.campaigns.get(name)
        if managed is None or not managed.driving:
            return
        log.info("service.command_received", extra={"campaign": name, "command": command})
        steer = {
            "pause": self._supervisor.pause,
            "resume": self._supervisor.resume,
            "stop": self._supervisor.stop,
        }.get(command)
        if steer is None:
            return
        try:
            await steer(name, by)
        except Exception as exc:  # e.g. stopping already: the command changes nothing
            log.warning("service.command_not_applied", extra={"campaign": name, "error": str(exc)})

    async def _take_over(self, stop: asyncio.Event) -> None:
        """Start every campaign wanted running or paused that no live node drives."""
        # Every second at most: a dead owner's campaign is taken within a second of its
        # TTL (reading the wanted states is one small query).
        interval = min(1.0, self._coord.settings.heartbeat_s)
        while not stop.is_set():
            if self._coord.available and not self._supervisor.draining:
                try:
                    await self._take_orphans()
                except (RedisError, OSError) as exc:
                    self._coord.failed(exc)
                except Exception:
                    log.exception("service.takeover_failed")
            # A little jitter: two nodes that saw the same orphan rarely race for it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval * (0.75 + random.random() / 2))

    async def _take_orphans(self) -> None:
        """Take at most one orphan per look, and only as one of the least loaded nodes
        (policy/campaign_spread.py): a dead node's campaigns spread over the others."""
        supervisor = self._supervisor
        orphaned: set[str] = set()
        loads: list[int] | None = None  # the other nodes' campaigns, read once per look
        for name, wanted in sorted((await supervisor.store.wanted_states()).items()):
            managed = supervisor.campaigns.get(name)
            if wanted.wanted == "stopped" or (managed is not None and managed.driving):
                continue
            if await self._coord.ownership.owner(name) is not None:
                # Driven elsewhere: a take this node tried meanwhile lost a race, it did
                # not fail; when this owner dies, take the campaign at once.
                self._next_try.pop(name, None)
                continue
            orphaned.add(name)
            now = time.monotonic()
            since = self._orphan_since.setdefault(name, now)
            if now < self._next_try.get(name, 0.0):
                continue
            if loads is None:
                loads = await self._others_loads()
            here = sum(1 for managed in supervisor.campaigns.values() if managed.driving)
            if not may_take_orphan(here, loads, now - since, self._coord.settings.ttl_s):
                continue
            log.info("service.taking_campaign", extra={"campaign": name})
            self._next_try[name] = now + RETRY_AFTER_FAILURE_S
            await supervisor.take_over(name, paused=wanted.wanted == "paused")
            break
        for name in set(self._orphan_since) - orphaned:
            del self._orphan_since[name]

    async def _others_loads(self) -> list[int]:
        """How many campaigns each other live node drives, as its heartbeat says."""
        me = self._coord.node_id
        return [
            len(driven) if isinstance(driven := node.get("campaigns"), list) else 0
            for node in await self._coord.nodes()
            if node.get("node") != me
        ]
