"""Whether one contact may be dialled now, all rules together. Pure: no I/O.

The facts about the contact are gathered by the caller (zones from the number and the
contact's fields, do-not-call from the store, the number's recent calls across every
campaign); this module only decides. Permanent reasons come first, so a contact that
is both on the do-not-call list and outside its window is counted as do-not-call, and
a reason that passes with time is reported with the time it passes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from dialer.call_history import PastCall
from dialer.held_back import Held, HeldReason
from dialer.policy.calling_windows import CallingHours, next_opening, window_verdict
from dialer.policy.consent import consent_verdict
from dialer.policy.frequency import FrequencyCaps, frequency_verdict

# The longest look back any rule needs: the monthly caps' 30 days.
HISTORY_SPAN = timedelta(days=30)


@dataclass(frozen=True)
class CampaignRules:
    """A campaign's compliance settings, resolved against its profile."""

    hours: CallingHours
    caps: FrequencyCaps = field(default_factory=FrequencyCaps)
    consent_purpose: str | None = None  # None: the campaign needs no consent
    operator_guaranteed: bool = False

    @property
    def needs_history(self) -> bool:
        return self.caps != FrequencyCaps()


@dataclass(frozen=True)
class CalleeFacts:
    zones: tuple[tzinfo, ...]
    fields: Mapping[str, str]
    on_dnc: bool = False
    dead: bool = False
    history: Sequence[PastCall] = ()


def compliance_verdict(rules: CampaignRules, facts: CalleeFacts, now: datetime) -> Held | None:
    """None: the contact may be dialled at `now`; else why not and until when."""
    if facts.dead:
        return Held(HeldReason.DEAD)
    if facts.on_dnc:
        return Held(HeldReason.DNC)
    if rules.consent_purpose is not None:
        held = consent_verdict(facts.fields, rules.consent_purpose, now)
        if held is not None:
            return held
    held = window_verdict(rules.hours, facts.zones, now)
    if held is not None:
        return held
    zone = facts.zones[0] if len(facts.zones) == 1 else None
    held = frequency_verdict(rules.caps, facts.history, now, zone, rules.operator_guaranteed)
    if held is not None and held.until is not None:
        # Freed by the cap at a time the window may be closed: report the first moment
        # both allow, so the contact is not leased only to be held again.
        opening = next_opening(rules.hours, facts.zones, held.until)
        return Held(held.reason, opening)
    return held


def retry_time(rules: CampaignRules, zones: tuple[tzinfo, ...], wanted: datetime) -> datetime:
    """A retry or callback due at `wanted` moves to the window's next opening in the
    callee's zones (not the campaign's); if the window never opens it stays as asked
    and the lease gate holds the contact then."""
    opening = next_opening(rules.hours, zones, wanted)
    return opening if opening is not None else wanted
