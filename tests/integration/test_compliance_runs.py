"""The compliance rules through the engine, counted on the PBX side (the in-memory link's
originate requests): frequency caps across two campaigns, the recall hold after an
abandoned call, consent, and retries moved to the callee's calling hours."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dialer.engine.pacing_control import PacingControl
from dialer.engine.runner import CampaignRunner
from dialer.outcomes import Outcome
from dialer.pbx.events import CallEnded
from dialer.store import open_store
from dialer.store.base import ContactStore, NewContact
from tests.unit.test_runner import MemoryPbx, campaign

pytestmark = pytest.mark.store_backends

ALWAYS = {"mon-sun": "00:00-24:00"}
NUMBERS = [f"+7495123456{i}" for i in range(4)]  # Moscow: one zone


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


async def run_until_quiet(
    store: ContactStore, camp: Any, clock: Clock, outcome: Outcome = Outcome.NO_ANSWER
) -> tuple[MemoryPbx, CampaignRunner]:
    """Run the campaign at the clock's time, ending every call with `outcome`, until it
    finishes or nothing more is dialled for a moment."""
    pbx = MemoryPbx()
    runner = CampaignRunner(camp, store, pbx, PacingControl(camp), clock=clock, idle_poll=0.05)
    stop = asyncio.Event()
    run = asyncio.create_task(runner.run(stop))
    # Quiet is counted from the runner's first pass over the list: a slow start (a busy
    # machine) must not pass for "nothing to dial".
    while not run.done() and not (runner.snapshot.state == "dialing" and runner.snapshot.total):
        await asyncio.sleep(0.01)
    quiet = 0
    while not run.done() and quiet < 25:
        before = len(pbx.requests)
        for attempt_id in list(pbx.up):
            # Ended at the test's clock, not the real one: the 72 h hold runs from it.
            pbx.up.pop(attempt_id).call_ended(CallEnded(attempt_id, outcome, clock()))
        await asyncio.sleep(0.02)
        quiet = quiet + 1 if len(pbx.requests) == before and not pbx.up else 0
    stop.set()
    await asyncio.wait_for(run, 10)
    return pbx, runner


async def test_frequency_cap_counts_calls_of_another_campaign(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "f.db")
    await store.import_contacts("people", [NewContact(n) for n in NUMBERS[:2]])
    clock = Clock(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    caps = {"calling_hours": ALWAYS, "frequency": {"attempts_per_day": 1}}
    first = campaign(name="first", compliance=caps, retry={"max_attempts": 1})
    pbx, _ = await run_until_quiet(store, first, clock)
    assert sorted(r.number for r in pbx.requests) == NUMBERS[:2]
    # An hour later another campaign on the same list: each person had their call today.
    clock.at += timedelta(hours=1)
    second = campaign(name="second", compliance=caps, retry={"max_attempts": 1})
    pbx, runner = await run_until_quiet(store, second, clock)
    assert pbx.requests == []
    assert runner.snapshot.held == {"frequency_cap": 2}
    # The day after the first calls they are due again, and called.
    clock.at += timedelta(hours=23, minutes=1)
    pbx, runner = await run_until_quiet(store, second, clock)
    assert sorted(r.number for r in pbx.requests) == NUMBERS[:2]
    assert runner.snapshot.state == "finished"
    await store.close()


async def test_a_number_abandoned_by_one_campaign_waits_72_hours_in_another(
    tmp_path: Path,
) -> None:
    store = await open_store(tmp_path / "a.db")
    await store.import_contacts("people", [NewContact(NUMBERS[0])])
    clock = Clock(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    rules = {"calling_hours": ALWAYS, "profile": "uk"}
    dial = {"channel": "Local/{number}@callees", "ring_timeout": "20s"}
    first = campaign(name="first", compliance=rules, dial=dial, retry={"max_attempts": 1})
    pbx, _ = await run_until_quiet(store, first, clock, Outcome.ABANDONED)
    assert len(pbx.requests) == 1
    clock.at += timedelta(hours=2)
    second = campaign(name="second", compliance=rules, dial=dial, retry={"max_attempts": 1})
    pbx, runner = await run_until_quiet(store, second, clock, Outcome.ANSWERED)
    assert pbx.requests == [] and runner.snapshot.held == {"recall_hold": 1}
    clock.at += timedelta(hours=70, minutes=1)  # 72 h after the abandon
    pbx, runner = await run_until_quiet(store, second, clock, Outcome.ANSWERED)
    assert len(pbx.requests) == 1 and runner.snapshot.state == "finished"
    await store.close()


async def test_advertising_calls_only_people_who_consented(tmp_path: Path) -> None:
    store = await open_store(tmp_path / "c.db")
    consent = {"consent_date": "2026-05-01", "consent_source": "web form"}
    await store.import_contacts(
        "people",
        [
            NewContact(NUMBERS[0], fields=consent),
            NewContact(NUMBERS[1]),  # no consent
            NewContact(NUMBERS[2], fields={**consent, "consent_scope": "survey"}),
            NewContact(NUMBERS[3], fields={**consent, "consent_date": "2027-01-01"}),
        ],
    )
    clock = Clock(datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    camp = campaign(
        compliance={"calling_hours": ALWAYS, "purpose": "advertising", "require_consent": True},
        retry={"max_attempts": 1},
    )
    pbx, runner = await run_until_quiet(store, camp, clock, Outcome.ANSWERED)
    assert [r.number for r in pbx.requests] == [NUMBERS[0]]
    assert runner.snapshot.held == {"no_consent": 3}
    assert runner.snapshot.state == "finished"  # the others are retired, not waited for
    await store.close()


async def test_a_retry_outside_the_hours_moves_to_their_opening_in_the_callee_zone(
    tmp_path: Path,
) -> None:
    store = await open_store(tmp_path / "r.db")
    await store.import_contacts("people", [NewContact("+74232123456")])  # Vladivostok
    # 20:30 in Vladivostok (UTC+10): a no-answer retried in 1 h falls at 21:30, closed.
    clock = Clock(datetime(2026, 12, 2, 10, 30, tzinfo=UTC))
    camp = campaign(
        compliance={"calling_hours": {"mon-sun": "09:00-21:00"}},
        retry={"max_attempts": 3, "no_answer": {"delay": "1h", "max": 2}},
    )
    pbx, _ = await run_until_quiet(store, camp, clock)
    assert len(pbx.requests) == 1
    record = await store.get_campaign(camp.name)
    assert record is not None
    [line] = await store.contact_report(record.id)
    # 09:00 the next morning in Vladivostok, not the campaign's or the dialer's zone.
    assert line.next_due_at == datetime(2026, 12, 2, 23, 0, tzinfo=UTC)
    await store.close()


async def test_new_calling_hours_reach_a_running_campaign(tmp_path: Path) -> None:
    """`dialer serve` replaces a running campaign's file (a live update): its new calling
    hours judge the next lease, without a restart."""
    store = await open_store(tmp_path / "h.db")
    await store.import_contacts("people", [NewContact(NUMBERS[0])])
    clock = Clock(datetime(2026, 12, 2, 19, 30, tzinfo=UTC))  # 22:30 in Moscow
    closed = campaign(compliance={"calling_hours": {"mon-sun": "09:00-21:00"}})
    pbx = MemoryPbx()
    runner = CampaignRunner(closed, store, pbx, PacingControl(closed), clock=clock, idle_poll=0.02)
    stop = asyncio.Event()
    run = asyncio.create_task(runner.run(stop))
    while runner.snapshot.held.get("window_closed", 0) == 0:
        await asyncio.sleep(0.02)
    assert pbx.requests == []
    # The held contact waits for 09:00 Moscow, as the old hours said. The new hours open
    # until 23:00: a contact imported now is judged by them, and called.
    runner.campaign = campaign(compliance={"calling_hours": {"mon-sun": "09:00-23:00"}})
    await store.import_contacts("people", [NewContact(NUMBERS[1])])
    await pbx.wait_up(1)
    assert [r.number for r in pbx.requests] == [NUMBERS[1]]
    pbx.end(pbx.requests[0].attempt_id, Outcome.ANSWERED)
    stop.set()
    await asyncio.wait_for(run, 10)
    await store.close()
