"""What the dashboard shows beyond a campaign's status: the lead funnel (contacts by the
temperature their last call set, as `dialer report` counts it) and the words for each
held-back reason. No HTTP here (http_dashboard serves it).

The funnel is the report's totals counted by the store in one aggregate query
(Reports.campaign_funnel: no contact is read out, a few rows come back). It still visits
an index entry per contact, so it is kept for FUNNEL_FRESH_S and counted again only
while the campaign runs (driven by this service or another process; one that is not
running does not change), one count at a time per campaign, however many dashboards are
open.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from dialer.control.held_view import REASON_WORDS
from dialer.store import ContactStore, StoreError

FUNNEL_FRESH_S = 5.0  # a running campaign's funnel is counted again at most this often
TEMPERATURES = ("hot", "warm", "cold")


@dataclass(frozen=True)
class Funnel:
    contacts: int  # contacts of the campaign
    reached: int  # contacts whose last call reached a person
    leads: dict[str, int]  # temperature -> contacts, hot / warm / cold first

    def as_json(self) -> dict[str, Any]:
        return {"contacts": self.contacts, "reached": self.reached, "leads": self.leads}


async def count_funnel(store: ContactStore, campaign_id: int) -> Funnel:
    """StoreError when there is no such campaign."""
    counted = await store.campaign_funnel(campaign_id)
    found = counted.temperatures
    order = [*TEMPERATURES, *sorted(set(found) - set(TEMPERATURES))]
    leads = {t: found.get(t, 0) for t in order}
    return Funnel(counted.contacts, counted.reached, leads)


@dataclass(frozen=True)
class _Kept:
    funnel: Funnel
    at: float  # the clock when it was counted
    running: bool  # the campaign was running then: a last count is due once it stops


class FunnelCounts:
    """Each campaign's funnel, counted again only when it may have changed."""

    def __init__(self, store: ContactStore, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._clock = clock
        self._kept: dict[str, _Kept] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def of(self, campaign: str, running: bool) -> Funnel | None:
        """None for a campaign that has not run (it has no contacts of its own yet)."""
        async with self._locks.setdefault(campaign, asyncio.Lock()):
            kept = self._kept.get(campaign)
            now = self._clock()
            if kept is not None and not (
                (running and now - kept.at >= FUNNEL_FRESH_S) or (kept.running and not running)
            ):
                return kept.funnel
            record = await self._store.get_campaign(campaign)
            if record is None:
                return None
            try:
                funnel = await count_funnel(self._store, record.id)
            except StoreError:
                return None
            self._kept[campaign] = _Kept(funnel, now, running)
            return funnel

    async def all(self, campaigns: Iterable[tuple[str, bool]]) -> dict[str, dict[str, Any]]:
        """{campaign: funnel JSON} for every (name, running) pair with a funnel."""
        funnels = {}
        for name, running in campaigns:
            funnel = await self.of(name, running)
            if funnel is not None:
                funnels[name] = funnel.as_json()
        return funnels


def held_reason_words() -> dict[str, str]:
    """The held-back reasons in the words `dialer status` uses."""
    return {reason.value: words for reason, words in REASON_WORDS.items()}
