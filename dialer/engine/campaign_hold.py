"""This process's hold on the campaign it drives: taken before anything is dialled,
renewed by a heartbeat, given up at the end. The rule of when a hold is free is
dialer.policy.campaign_hold; the hold itself lives in the store (CampaignLedger)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from dialer.policy.campaign_hold import HEARTBEAT, HOLD_TTL, HoldStanding, hold_standing, is_free
from dialer.store.base import CampaignHold, CampaignLedger, StoreBusy

log = logging.getLogger("dialer.engine")

Clock = Callable[[], datetime]
THIS_HOST = socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process of that pid exists on this host (signal 0 probes, sends nothing)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    except OSError:
        return True  # cannot tell: assume alive, the TTL still frees it
    return True


def standing_of(hold: CampaignHold | None, now: datetime) -> HoldStanding:
    if hold is None:
        return HoldStanding.FREE
    on_this_host = hold.host == THIS_HOST
    alive = pid_alive(hold.pid) if on_this_host else True
    return hold_standing(hold.expires_at, now, on_this_host, alive)


def describe_holder(hold: CampaignHold, now: datetime) -> str:
    seen = max(0.0, (now - hold.seen_at).total_seconds())
    return (
        f"{hold.host}:{hold.pid} since {hold.since:%Y-%m-%d %H:%M:%S} UTC,"
        f" last seen {seen:.0f} s ago"
    )


class CampaignHeld(Exception):
    """Another live process drives the campaign: this one must not dial it."""

    def __init__(self, campaign: str, hold: CampaignHold, now: datetime) -> None:
        super().__init__(
            f"campaign {campaign!r} is already being run by {describe_holder(hold, now)}:"
            " stop that run first (Ctrl-C there); a dead holder's hold frees itself"
            f" within {HOLD_TTL.total_seconds():.0f} s"
        )
        self.hold = hold


class HoldPort(Protocol):
    """What the runner needs of a campaign's hold: HoldKeeper (the store's, one node) or
    dialer.engine.cluster_campaign.ClusterCampaign (Redis, several nodes)."""

    lost: bool  # someone else took the campaign over: stop dialling at once

    async def take(self, campaign_name: str, campaign_id: int) -> None: ...

    async def keep(self) -> None: ...

    async def release(self) -> None: ...


@dataclass
class HoldKeeper:
    """Takes, renews and releases this process's hold on one campaign."""

    store: CampaignLedger
    clock: Clock
    ttl: timedelta = HOLD_TTL
    heartbeat: timedelta = HEARTBEAT

    def __post_init__(self) -> None:
        self.token = uuid.uuid4().hex
        self.lost = False  # someone else took the campaign over: stop dialling at once
        self._campaign_id: int | None = None

    async def take(self, campaign_name: str, campaign_id: int) -> None:
        """Raises CampaignHeld when a live process holds the campaign. Taking it again
        (the runner, after run_campaign took it) changes nothing."""
        if self._campaign_id == campaign_id and not self.lost:
            return
        in_the_way: CampaignHold | None = None
        for _ in range(3):  # another process may take it between our read and our write
            now = self.clock()
            current = await self.store.campaign_hold(campaign_id)
            standing = standing_of(current, now)
            if not is_free(standing):
                assert current is not None
                raise CampaignHeld(campaign_name, current, now)
            if current is not None:
                log.warning(
                    "engine.hold_taken_over",
                    extra={"from": f"{current.host}:{current.pid}", "why": standing.value},
                )
            mine = CampaignHold(self.token, THIS_HOST, os.getpid(), now, now, now + self.ttl)
            in_the_way = await self.store.take_hold(
                campaign_id, mine, current.token if current else None
            )
            if in_the_way is None:
                self._campaign_id = campaign_id
                return
        assert in_the_way is not None
        raise CampaignHeld(campaign_name, in_the_way, self.clock())

    async def keep(self) -> None:
        """The heartbeat, until cancelled. A busy store is waited out: the hold only
        expires for another process after the whole TTL without a beat."""
        assert self._campaign_id is not None
        while True:
            await asyncio.sleep(self.heartbeat.total_seconds())
            now = self.clock()
            try:
                renewed = await self.store.renew_hold(
                    self._campaign_id, self.token, now, now + self.ttl
                )
            except StoreBusy:
                log.warning("engine.hold_renew_busy")
                continue
            except Exception:
                # Keep beating: a heartbeat task dying silently would let another
                # process take over while this one still dials.
                log.exception("engine.hold_renew_failed")
                continue
            if not renewed:
                log.error("engine.hold_lost", extra={"campaign_id": self._campaign_id})
                self.lost = True
                return

    async def release(self) -> None:
        if self._campaign_id is not None and not self.lost:
            await self.store.release_hold(self._campaign_id, self.token)
        self._campaign_id = None
