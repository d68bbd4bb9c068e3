"""The last check before a contact is dialled: every compliance rule, on facts read from
the store for the whole batch at once (do-not-call, the numbers' recent calls across
campaigns), so a number added to the do-not-call list or called by another campaign a
moment ago is seen at dial time, not only when the campaign started."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Protocol

from dialer.call_history import PastCall
from dialer.campaign.compliance import (
    calling_hours_of,
    consent_scope_needed,
    frequency_caps_of,
    operator_guaranteed,
    zone_settings_of,
)
from dialer.campaign.model import Campaign
from dialer.held_back import Held
from dialer.policy.compliance import (
    HISTORY_SPAN,
    CalleeFacts,
    CampaignRules,
    compliance_verdict,
    retry_time,
)
from dialer.store.base import LeasedContact


class ComplianceFacts(Protocol):
    """What the gate reads from the store (dialer.store.base.ContactBase and Reports)."""

    async def do_not_call_among(self, numbers: Iterable[str], campaign: str | None) -> set[str]: ...

    async def number_histories(
        self, numbers: Iterable[str], since: datetime
    ) -> dict[str, list[PastCall]]: ...


@dataclass(frozen=True)
class Callee:
    """The part of a contact the rules look at."""

    number: str
    timezone: str | None
    fields: Mapping[str, str]
    dead: bool = False


def callee_of_lease(lease: LeasedContact) -> Callee:
    return Callee(lease.number, lease.timezone, lease.fields)


def rules_of(campaign: Campaign) -> CampaignRules:
    return CampaignRules(
        hours=calling_hours_of(campaign),
        caps=frequency_caps_of(campaign),
        consent_purpose=consent_scope_needed(campaign),
        operator_guaranteed=operator_guaranteed(campaign),
    )


class ComplianceGate:
    def __init__(self, campaign: Campaign, facts: ComplianceFacts) -> None:
        self.campaign = campaign
        self.rules = rules_of(campaign)
        self._facts = facts
        self._zones = zone_settings_of(campaign)

    def zones_of(self, callee: Callee) -> tuple[tzinfo, ...]:
        return self._zones.zones_for(callee.number, callee.timezone, callee.fields)

    def single_zone(self, callee: Callee) -> tzinfo | None:
        """The callee's zone when only one is possible (a recycled retry's time of day
        is read in it); None when the number spans several or none is known."""
        zones = self.zones_of(callee)
        return zones[0] if len(zones) == 1 else None

    async def verdicts(self, callees: Sequence[Callee], now: datetime) -> list[Held | None]:
        """One verdict per callee, in order (None: may be dialled now)."""
        numbers = {c.number for c in callees}
        on_dnc = await self._facts.do_not_call_among(numbers, self.campaign.name)
        histories: dict[str, list[PastCall]] = {}
        if self.rules.needs_history:
            histories = await self._facts.number_histories(numbers, now - HISTORY_SPAN)
        return [
            compliance_verdict(
                self.rules,
                CalleeFacts(
                    zones=self.zones_of(callee),
                    fields=callee.fields,
                    on_dnc=callee.number in on_dnc,
                    dead=callee.dead,
                    history=histories.get(callee.number, ()),
                ),
                now,
            )
            for callee in callees
        ]

    def retry_time(self, callee: Callee, wanted: datetime) -> datetime:
        return retry_time(self.rules, self.zones_of(callee), wanted)
