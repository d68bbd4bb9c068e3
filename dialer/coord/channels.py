"""Channel limits over every node, and one call per person over every node.

Each limit (a trunk, an Asterisk server) is a sorted set of the calls up through it,
scored by when each entry expires: a counting semaphore whose entries die with the node
that stopped refreshing them (its heartbeat refreshes them while the call is up). A
number in a call has an expiring key naming the attempt. Both are taken in one Lua
script, together with the fencing check of the campaign's owner, before the Originate;
both are given back when the call ends."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from dialer.coord import scripts
from dialer.coord.settings import ChannelLimit, CoordSettings, Keys

log = logging.getLogger("dialer.coord")


@dataclass(frozen=True)
class Refused:
    why: str  # "not_owner" | "number_in_call" | "full"
    limit: str = ""  # the full limit's key ("trunk:carrier"), when full


@dataclass(frozen=True)
class _Held:
    keys: list[str]  # in-call key, then the semaphores
    attempt_id: str


class Channels:
    def __init__(self, redis: Redis, keys: Keys, settings: CoordSettings) -> None:
        self._redis = redis
        self._keys = keys
        self._settings = settings
        self._acquire = redis.register_script(scripts.ACQUIRE)
        self._refresh = redis.register_script(scripts.REFRESH)
        self._free = redis.register_script(scripts.FREE)
        self._count = redis.register_script(scripts.COUNT)
        self.held: dict[str, _Held] = {}  # attempt id -> what this node holds for it

    async def acquire(
        self,
        owner_value: str,
        campaign: str,
        attempt_id: str,
        number: str,
        limits: list[ChannelLimit],
    ) -> Refused | None:
        """None: the call may be placed (its slots and the number are held)."""
        held = self._held_of(attempt_id, number, limits)
        keys = [self._keys.owner(campaign), *held.keys]
        args: list[str | int] = [
            owner_value,
            attempt_id,
            self._settings.ttl_ms,
            *(x.limit for x in limits),
        ]
        answer = await self._acquire(keys=keys, args=args)
        if int(answer[0]):
            self.held[attempt_id] = held
            return None
        why = str(answer[1])
        limit = str(answer[2]).removeprefix(self._keys.slots("")) if len(answer) > 2 else ""
        return Refused(why, limit)

    async def adopt(self, attempt_id: str, number: str, limits: list[ChannelLimit]) -> None:
        """A call that is up already (taken over from a dead node): counted, whatever
        the limits say now."""
        held = self._held_of(attempt_id, number, limits)
        self.held[attempt_id] = held
        await self._refresh(keys=held.keys, args=[attempt_id, self._settings.ttl_ms])

    async def release(self, attempt_id: str) -> None:
        held = self.held.pop(attempt_id, None)
        if held is not None:
            await self._free(keys=held.keys, args=[attempt_id])

    async def refresh_all(self) -> None:
        """Part of the heartbeat: every call this node has up lives on (and is counted
        again after Redis lost its data)."""
        ttl = self._settings.ttl_ms
        for held in list(self.held.values()):
            await self._refresh(keys=held.keys, args=[held.attempt_id, ttl])

    async def in_use(self, limit: ChannelLimit) -> int:
        """Calls up through that trunk or server now, over every node."""
        return int(await self._count(keys=[self._keys.slots(limit.key)], args=[]))

    async def number_holder(self, number: str) -> str | None:
        value = await self._redis.get(self._keys.in_call(number))
        return str(value) if value is not None else None

    def _held_of(self, attempt_id: str, number: str, limits: list[ChannelLimit]) -> _Held:
        slots = [self._keys.slots(limit.key) for limit in limits]
        return _Held([self._keys.in_call(number), *slots], attempt_id)
