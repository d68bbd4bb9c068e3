"""Records of the store's read-only views: campaigns, the report's lines, attempts, a
campaign's lead funnel, each contact's standing across campaigns, the base's stats and
what a campaign changed.
(dialer.store.base re-exports them with the role Protocols that return them.)"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from dialer.outcomes import BaseStatus, CampaignState, ContactStatus, Outcome


@dataclass(frozen=True)
class CampaignRecord:
    id: int
    name: str
    list_name: str
    state: CampaignState  # one of STORED_CAMPAIGN_STATES
    created_at: datetime


@dataclass(frozen=True)
class ContactReport:
    """One line of `dialer report` / `dialer contacts export` for a campaign."""

    contact_id: int
    number: str
    name: str | None
    status: ContactStatus
    attempts: int
    last_outcome: Outcome | None
    last_cause: int | None
    final_outcome: Outcome | None
    next_due_at: datetime | None
    last_attempt_at: datetime | None
    dead: bool
    fields: Mapping[str, str]
    do_not_call: bool = False
    # What the last closed attempt collected (IVR answers, survey, temperature...).
    last_answers: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignFunnel:
    """A campaign's contacts, reached ones and leads by temperature, the same figures as
    `dialer report` totals over its lines (dialer.control.report.ReportTotals) but
    counted by the store in one aggregate query (Reports.campaign_funnel): the dashboard
    asks for them every few seconds, whatever the campaign's size."""

    contacts: int
    reached: int  # contacts whose last outcome reached a person (Outcome.reached_a_person)
    # Contacts by the `temperature` their last closed attempt collected; none: not counted.
    temperatures: Mapping[str, int]

    @classmethod
    def of_counts(cls, rows: Iterable[tuple[str, str | None, int]]) -> CampaignFunnel:
        """From the query's rows, the same on both backends: ("outcome", a last_outcome
        or None, contacts) and ("temperature", the JSON text of the `temperature` the
        last closed attempt collected or None, contacts). The rules stay here, in
        Python, so that they are ReportTotals' own: which outcomes reached a person, and
        that a falsy value ("", 0, null) is no temperature while any other is str()'d."""
        contacts = reached = 0
        temperatures: Counter[str] = Counter()
        for kind, value, count in rows:
            if kind == "outcome":
                contacts += count
                if value is not None and Outcome(value).reached_a_person:
                    reached += count
            elif value is not None:
                temperature = json.loads(value)
                if temperature:
                    temperatures[str(temperature)] += count
        return cls(contacts, reached, dict(temperatures))


@dataclass(frozen=True)
class AttemptRecord:
    attempt_id: str
    campaign_name: str
    contact_id: int
    number: str
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    outcome: Outcome | None
    cause: int | None
    reason: int | None
    detail: str
    answers: Mapping[str, object]


class ContactFacts(NamedTuple):
    """One contact as the whole base sees it, across every campaign: what `dialer
    contacts stats` counts and the list filter (dialer.policy.list_filter) reads. A
    named tuple: a million of them are made per pass over a large list."""

    contact_id: int
    status: BaseStatus
    last_outcome: Outcome | None  # of the contact's latest attempt, any campaign
    last_contacted_at: datetime | None  # start of that attempt
    attempts: int  # closed attempts, every campaign together
    dead: bool
    do_not_call: bool
    temperature: str | None  # the `temperature` field (the IVR sets it)
    fields_json: str  # the custom fields as stored: parsed only when a filter reads them

    @property
    def fields(self) -> Mapping[str, str]:
        found: dict[str, str] = json.loads(self.fields_json)
        return found


@dataclass(frozen=True)
class BaseStats:
    contacts: int
    by_status: Mapping[BaseStatus, int]
    by_temperature: Mapping[str, int]  # "" for contacts without one


@dataclass(frozen=True)
class CampaignChanges:
    """What one campaign changed in the base, from its attempts."""

    campaign: CampaignRecord
    called: int  # contacts with at least one closed attempt
    reached: int  # contacts the campaign ended as answered or transferred
    dead: int  # contacts its calls found dead (that were not before)
    do_not_call: int  # numbers its calls put on the do-not-call list (opt-outs)
    temperature: Mapping[str, int]  # net change of contacts per temperature ("" = none)
