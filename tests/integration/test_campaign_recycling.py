"""Recycling through the engine: a no-answer at 11:00 in the callee's zone comes back
due at 18:00 there, with the simulated PBX placing the call."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from dialer.control.app import run_campaign
from dialer.outcomes import ContactStatus, Outcome
from dialer.simpbx import SimulatedPbx
from dialer.store.base import ContactStore, NewContact
from tests.integration.conftest import SECRET, make_campaign

pytestmark = pytest.mark.store_backends

# 11:00 in Moscow (UTC+3), 15:00 in Novosibirsk (UTC+7).
CLOCK = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


async def test_given_no_answer_rule_at_18_when_called_at_11_moscow_then_due_at_18_callee_time(
    pbx: SimulatedPbx, store: ContactStore
) -> None:
    await store.import_contacts(
        "evening",
        [
            NewContact(number="+79120000002", timezone="Europe/Moscow"),  # 2: no answer
            NewContact(number="+79120000012", timezone="Asia/Novosibirsk"),
            NewContact(number="+79120000022"),  # no zone stored: UTC
        ],
    )
    campaign = make_campaign(
        pbx.port,
        list_name="evening",
        retry={"max_attempts": 3, "no_answer": {"delay": "1h", "max": 2, "at": "18:00"}},
    )
    stop = asyncio.Event()

    async def stop_after_first_round() -> None:
        record = None
        while record is None:
            record = await store.get_campaign(campaign.name)
            await asyncio.sleep(0.02)
        while sum((await store.attempt_outcomes(record.id)).values()) < 3:
            await asyncio.sleep(0.02)
        stop.set()

    watcher = asyncio.create_task(stop_after_first_round())
    await asyncio.wait_for(run_campaign(campaign, store, SECRET, stop, clock=lambda: CLOCK), 30)
    await watcher

    assert len(pbx.originates) == 3  # counted by the PBX: one call each, none repeated yet
    record = await store.get_campaign(campaign.name)
    assert record is not None
    due = {line.number: line for line in await store.contact_report(record.id)}
    assert all(line.last_outcome is Outcome.NO_ANSWER for line in due.values())
    assert all(line.status is ContactStatus.PENDING for line in due.values())
    # 18:00 in each callee's zone, the same day: 15:00 UTC in Moscow, 11:00 UTC in
    # Novosibirsk (seven hours after the call in UTC, three there), 18:00 with no zone.
    assert due["+79120000002"].next_due_at == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    assert due["+79120000012"].next_due_at == datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    assert due["+79120000022"].next_due_at == datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
