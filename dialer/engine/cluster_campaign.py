"""One campaign driven by this node of a cluster (`dialer serve --redis`): the Redis
alternative of the store's campaign hold, the cluster's admission of each call, and the
PBX link seen through both.

- Hold: the campaign's ownership in Redis (dialer.coord.ownership), renewed by the
  node's heartbeat; lost when another node took it over. Taking it over is safe because
  the runner reconciles the open attempts (its own or a dead owner's) against Asterisk
  before it dials (runner._adopt_open_attempts).
- Admission: one Lua script before each call checks that this node still owns the
  campaign (the fencing token), that the number is in no call of any node, and that
  every channel limit of the call's trunk and Asterisk server has room.
- The dialer: not ready while coordination is lost (Redis down or settling), so the
  runner places nothing; every call's slots are given back when the link reports its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from redis.exceptions import RedisError

from dialer.campaign.model import Campaign
from dialer.coord import ChannelLimit, Coordinator
from dialer.coord.ownership import Owned
from dialer.engine.call_admission import NotAdmitted
from dialer.engine.campaign_hold import CampaignHeld
from dialer.engine.run_snapshot import RunSnapshot

log = logging.getLogger("dialer.engine")

LIMIT_FULL_RETRY = timedelta(milliseconds=250)
NUMBER_BUSY_RETRY = timedelta(seconds=10)
COORDINATION_RETRY = timedelta(seconds=2)


def trunk_of(channel_template: str) -> str:
    """The trunk a dial template goes through: `PJSIP/{number}@carrier` -> carrier,
    `SIP/carrier/{number}` -> carrier, `DAHDI/g1/{number}` -> g1, `PJSIP/{number}` ->
    PJSIP."""
    tech, _, rest = channel_template.partition("/")
    if "@" in rest:
        return rest.rsplit("@", 1)[1]
    parts = [part for part in rest.split("/") if part and "{number}" not in part]
    return parts[0] if parts else tech


def trunk_limit_of(campaign: Campaign, coordinator: Coordinator) -> ChannelLimit | None:
    """The campaign's trunk limit over every node: `--channel-limit trunk:NAME=N`, else
    the file's own `dial.trunk.max_channels` (the trunk named `dial.trunk.name`, or
    the endpoint of the dial template)."""
    trunk = campaign.dial.trunk
    name = trunk.name if trunk is not None else trunk_of(campaign.dial.channel)
    configured = coordinator.settings.limit_of("trunk", name)
    if configured is None and trunk is not None:
        return ChannelLimit("trunk", name, trunk.max_channels)
    return configured


def server_limits_of(campaign: Campaign, coordinator: Coordinator) -> dict[str, ChannelLimit]:
    """Each server's limit over every node, by the server's name (`host:port` or its
    `name`): `--channel-limit server:NAME=N`, else the file's `max_channels` of it."""
    found = {}
    for server in campaign.asterisk_servers:
        limit = coordinator.settings.limit_of("server", server.key)
        if limit is None and server.max_channels is not None:
            limit = ChannelLimit("server", server.key, server.max_channels)
        if limit is not None:
            found[server.key] = limit
    return found


class CampaignOwnedElsewhere(CampaignHeld):
    def __init__(self, campaign: str, node_id: str) -> None:
        Exception.__init__(
            self,
            f"campaign {campaign!r} is driven by node {node_id} of the cluster: steer it"
            " from any node (its commands reach that node); another node takes it over"
            " if that one dies",
        )


class ClusterCampaign:
    """The hold (HoldPort) and the admission (CallAdmission) of one campaign."""

    def __init__(self, coordinator: Coordinator, campaign: Campaign) -> None:
        self._coord = coordinator
        self.name = campaign.name
        self.trunk_limit = trunk_limit_of(campaign, coordinator)
        self.server_limits = server_limits_of(campaign, coordinator)
        self._first_server = campaign.ami.key  # where calls from before pools went
        self.lost = False
        self.snapshot: RunSnapshot | None = None  # published as the live counters
        self._owned: Owned | None = None
        self._giving_back: set[asyncio.Task[None]] = set()
        # A limit found full: the rest of the batch is refused without asking Redis,
        # until one of our calls ends or LIMIT_FULL_RETRY has passed.
        self._full_until = 0.0

    @property
    def coordinated(self) -> bool:
        """Calls may be placed now: Redis answers and this node still owns the campaign."""
        return self._coord.available and not self.lost

    # --- HoldPort -----------------------------------------------------------------------
    async def take(self, campaign_name: str, campaign_id: int) -> None:
        if self._owned is not None and not self.lost:
            return
        taken = await self._coord.ownership.take(self.name)
        if not isinstance(taken, Owned):
            raise CampaignOwnedElsewhere(self.name, taken.node_id)
        self._owned, self.lost = taken, False

    async def keep(self) -> None:
        """Until cancelled: the live counters each heartbeat; returns once another node
        took the campaign over (the heartbeat renews the ownership itself)."""
        assert self._owned is not None
        lost = asyncio.ensure_future(self._owned.lost.wait())
        try:
            while not lost.done():
                await asyncio.wait({lost}, timeout=self._coord.settings.heartbeat_s)
                await self._publish()
        finally:
            lost.cancel()
        log.error("engine.campaign_taken_over", extra={"campaign": self.name})
        self.lost = True

    async def release(self) -> None:
        if self._giving_back:  # the last calls' slots first
            await asyncio.wait(set(self._giving_back), timeout=self._coord.settings.heartbeat_s)
        owned, self._owned = self._owned, None
        if owned is None or self.lost:
            return
        with contextlib.suppress(RedisError, OSError):
            await self._coord.counters.publish(self.name, {"node": "", "state": "stopped"})
            await self._coord.ownership.release(owned)

    async def _publish(self) -> None:
        s = self.snapshot
        if s is None or not self._coord.available:
            return
        figures: dict[str, str | int | float] = {
            "node": self._coord.node_id,
            "state": s.state.value,
            "total": s.total,
            "done": s.done,
            "pending": s.pending,
            "in_flight": s.in_flight,
            "originated": s.originated,
            "closed": s.closed,
        }
        try:
            await self._coord.counters.publish(self.name, figures)
        except (RedisError, OSError) as exc:
            self._coord.failed(exc)

    # --- CallAdmission ------------------------------------------------------------------
    def limits(self, server: str | None) -> list[ChannelLimit]:
        """What a call on that server counts against."""
        found = [self.trunk_limit] if self.trunk_limit is not None else []
        server_limit = self.server_limits.get(server) if server is not None else None
        return found + ([server_limit] if server_limit is not None else [])

    async def admit(self, number: str, attempt_id: str, server: str) -> None:
        owned = self._owned
        if owned is None or not self.coordinated:
            raise NotAdmitted("coordination lost", COORDINATION_RETRY)
        if time.monotonic() < self._full_until:
            raise NotAdmitted("channel limit full", LIMIT_FULL_RETRY)
        try:
            refused = await self._coord.channels.acquire(
                owned.value, self.name, attempt_id, number, self.limits(server)
            )
        except (RedisError, OSError) as exc:
            self._coord.failed(exc)
            raise NotAdmitted("coordination lost", COORDINATION_RETRY) from exc
        if refused is None:
            return
        if refused.why == "not_owner":
            log.error("engine.campaign_fenced_off", extra={"campaign": self.name})
            self.lost = True
            raise NotAdmitted("another node owns the campaign", COORDINATION_RETRY)
        if refused.why == "number_in_call":
            raise NotAdmitted("number in a call on another node", NUMBER_BUSY_RETRY)
        self._full_until = time.monotonic() + LIMIT_FULL_RETRY.total_seconds()
        raise NotAdmitted(f"channel limit {refused.limit} full", LIMIT_FULL_RETRY)

    def give_back_soon(self, attempt_id: str) -> None:
        """give_back from a synchronous listener (the PBX link's call_ended)."""
        task = self._coord.spawn(self.give_back(attempt_id))
        self._giving_back.add(task)
        task.add_done_callback(self._giving_back.discard)

    async def give_back(self, attempt_id: str) -> None:
        """The call ended (or was never placed): its slots and its number are free."""
        if attempt_id not in self._coord.channels.held:
            return  # refused, or given back already
        self._full_until = 0.0
        try:
            await self._coord.channels.release(attempt_id)
        except (RedisError, OSError) as exc:
            self._coord.failed(exc)  # no longer refreshed: its entries expire with the TTL

    async def adopt(self, attempt_id: str, server: str | None) -> None:
        """A call up already (left open by this campaign's last owner): counted."""
        limits = self.limits(server or self._first_server)
        try:
            await self._coord.channels.adopt(attempt_id, f"?{attempt_id}", limits)
        except (RedisError, OSError) as exc:
            self._coord.failed(exc)  # held anyway: the next beat writes it
