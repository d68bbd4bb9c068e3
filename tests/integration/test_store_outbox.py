"""The webhook outbox role and what an attempt's close queues in it, on both backends:
events queued in the close's own transaction (once), the receivers' state, and the
Asterisk server an open attempt was placed on, returned for its reconciliation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialer.outcomes import Outcome
from dialer.store.base import ContactStore
from dialer.store.outbox_role import NewWebhookEvent
from tests.store_cases import FINISHED, T0, done, open_spring

pytestmark = pytest.mark.store_backends


def event(event_id: str, url: str = "http://crm/hook") -> NewWebhookEvent:
    return NewWebhookEvent(event_id, "spring", "attempt.finished", url, "HOOK_SECRET", "{}")


async def test_a_close_queues_its_events_once_and_the_state_counts_each_receiver(
    store: ContactStore,
) -> None:
    campaign_id = await open_spring(store, count=2)
    first, second = await store.lease_due(campaign_id, T0, 2)
    await store.start_attempt(first, "a-1", T0, server="pbx-1")
    events = [event("e-1"), event("e-1", "http://other/hook")]
    assert await store.finish_attempt(done("a-1", Outcome.ANSWERED, T0), FINISHED, events)
    # Closed once: a second close queues nothing either.
    assert not await store.finish_attempt(done("a-1", Outcome.ANSWERED, T0), FINISHED, events)
    assert await store.add_webhook_events([event("e-1"), event("e-2")], T0) == 1

    due = await store.due_webhook_events(T0, 10)
    assert [(d.event_id, d.url) for d in due] == [
        ("e-1", "http://crm/hook"),
        ("e-1", "http://other/hook"),
        ("e-2", "http://crm/hook"),
    ]
    crm, other = due[0], due[1]
    await store.webhook_failed(crm.id, "503 from the receiver", T0 + timedelta(minutes=1))
    await store.webhook_delivered(other.id, T0)
    receivers, failures = await store.webhook_state("spring", errors=5)
    by_url = {r.url: r for r in receivers}
    assert (by_url["http://crm/hook"].pending, by_url["http://crm/hook"].failing) == (2, 1)
    assert by_url["http://other/hook"].delivered == 1
    assert by_url["http://other/hook"].next_try_at is None
    assert [(f.event_id, f.tries, f.last_error) for f in failures] == [
        ("e-1", 1, "503 from the receiver")
    ]
    assert await store.webhook_state("nope", errors=5) == ([], [])

    await store.start_attempt(second, "a-2", T0, server="pbx-2")
    [open_attempt] = await store.recover(campaign_id, T0)
    assert (open_attempt.attempt_id, open_attempt.server) == ("a-2", "pbx-2")
