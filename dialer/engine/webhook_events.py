"""The webhook events an attempt's close raises, as outbox rows written in the close's own
store transaction (`ContactStore.finish_attempt(..., events)`): an attempt is closed
if and only if its events are queued, whatever moment the process dies at.

- `attempt.finished`: every closed attempt (attempt id, outcome, cause, answered, and
  whether the contact is done).
- `lead.hot` / `lead.warm`: the call's script judged the lead so; with the contact
  (number, name, fields) for the CRM to act on.
- `contact.opted_out`: the person asked not to be called again (or was judged
  aggressive); with the number, which is now on the do-not-call list.

Receivers are named by the campaign's file, registered by an admin: they get the
contact of a lead or an opt-out, which the service's event stream never carries.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dialer.campaign.model import Campaign
from dialer.campaign.webhooks import WebhookEvent, WebhookSettings
from dialer.outcomes import ContactStatus
from dialer.store.base import AttemptResult, LeasedContact, NextStep
from dialer.store.outbox_role import NewWebhookEvent

LEADS = {"hot": WebhookEvent.LEAD_HOT, "warm": WebhookEvent.LEAD_WARM}
AttemptEvents = list[NewWebhookEvent]


def outbox_rows(
    hooks: Sequence[WebhookSettings],
    kind: WebhookEvent,
    campaign: str,
    at: datetime,
    data: Mapping[str, Any],
    event_id: str | None = None,
) -> list[NewWebhookEvent]:
    """One row per receiver that wants `kind`; every row of one event shares its id."""
    wanting = [h for h in hooks if kind in h.events]
    if not wanting:
        return []
    event_id = event_id or uuid.uuid4().hex
    body = json.dumps(
        {"id": event_id, "event": kind.value, "campaign": campaign, "at": at.isoformat(), **data},
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    return [
        NewWebhookEvent(event_id, campaign, kind.value, h.url, h.secret_env, body) for h in wanting
    ]


def attempt_events(
    campaign: Campaign, result: AttemptResult, step: NextStep, lease: LeasedContact
) -> AttemptEvents:
    """The rows an attempt's close queues; ids `<event>:<attempt>`, so a close retried
    (or an event queued twice) is still sent once."""
    hooks, name = campaign.webhooks, campaign.name
    if not hooks:
        return []
    attempt, at = result.attempt_id, result.ended_at
    raised: list[tuple[WebhookEvent, dict[str, Any]]] = [
        (
            WebhookEvent.ATTEMPT_FINISHED,
            {
                "attempt": attempt,
                "outcome": result.outcome.value,
                "cause": result.cause,
                "answered": result.answered_at is not None,
                "contact_done": step.status is ContactStatus.DONE,
            },
        )
    ]
    contact = {"number": lease.number, "name": lease.name, "fields": dict(lease.fields)}
    lead = LEADS.get(step.set_fields.get("temperature", ""))
    if lead is not None:
        found = {"temperature": step.set_fields["temperature"], **dict(step.set_fields)}
        raised.append((lead, {"attempt": attempt, "contact": contact, "lead": found}))
    if step.opt_out:
        raised.append(
            (
                WebhookEvent.OPT_OUT,
                {"attempt": attempt, "number": lease.number, "reason": step.do_not_call_reason},
            )
        )
    return [
        row
        for kind, data in raised
        for row in outbox_rows(hooks, kind, name, at, data, f"{kind.value}:{attempt}")
    ]
