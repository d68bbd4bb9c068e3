"""Which node drives a campaign: one at a time. `take` is SET NX PX with a fencing token
(a counter per campaign, bumped at every take); the node's heartbeat renews every campaign
it holds; a node that dies stops renewing and its campaigns are free after the TTL. The
owner's value (node id | fence) also guards every call it places (channels.ACQUIRE
refuses a node that is no longer the owner), so a node cut off past its TTL places
nothing even before it learns it lost the campaign."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from dialer.coord import scripts
from dialer.coord.settings import CoordSettings, Keys

log = logging.getLogger("dialer.coord")


@dataclass
class Owned:
    """A campaign this node drives: its value in Redis and whether it was lost."""

    campaign: str
    value: str  # "<node id>|<fence>"
    lost: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def fence(self) -> int:
        return int(self.value.rsplit("|", 1)[1])


@dataclass(frozen=True)
class Owner:
    node_id: str
    fence: int


def owner_of_value(value: str) -> Owner:
    node_id, _, fence = value.rpartition("|")
    return Owner(node_id, int(fence) if fence.isdigit() else 0)


class Ownership:
    def __init__(self, redis: Redis, keys: Keys, settings: CoordSettings) -> None:
        self._redis = redis
        self._keys = keys
        self._settings = settings
        self._take = redis.register_script(scripts.TAKE)
        self._renew = redis.register_script(scripts.RENEW)
        self._release = redis.register_script(scripts.RELEASE)
        self.held: dict[str, Owned] = {}

    async def take(self, campaign: str) -> Owned | Owner:
        """This node's hold on the campaign, or who holds it now."""
        current = self.held.get(campaign)
        if current is not None and not current.lost.is_set():
            return current
        keys = [self._keys.owner(campaign), self._keys.fence(campaign)]
        taken, value = await self._take(keys=keys, args=[self._settings.node_id, self._ttl_ms])
        if not int(taken):
            return owner_of_value(str(value))
        owned = Owned(campaign, str(value))
        self.held[campaign] = owned
        log.info("coord.campaign_taken", extra={"campaign": campaign, "fence": owned.fence})
        return owned

    async def owner(self, campaign: str) -> Owner | None:
        value = await self._redis.get(self._keys.owner(campaign))
        return owner_of_value(str(value)) if value is not None else None

    async def renew_all(self) -> None:
        """Part of the heartbeat. A campaign someone else took is marked lost."""
        for owned in list(self.held.values()):
            keys = [self._keys.owner(owned.campaign), self._keys.fence(owned.campaign)]
            args: list[Any] = [owned.value, self._ttl_ms, owned.fence]
            renewed = int(await self._renew(keys=keys, args=args))
            if renewed == 2:
                log.warning("coord.campaign_taken_again", extra={"campaign": owned.campaign})
            elif renewed == 0:
                log.error("coord.campaign_lost", extra={"campaign": owned.campaign})
                self.held.pop(owned.campaign, None)
                owned.lost.set()

    async def release(self, owned: Owned) -> None:
        if self.held.get(owned.campaign) is owned:
            del self.held[owned.campaign]
        await self._release(keys=[self._keys.owner(owned.campaign)], args=[owned.value])

    @property
    def _ttl_ms(self) -> int:
        return self._settings.ttl_ms
