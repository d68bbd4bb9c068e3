"""The engine's own logic, without TCP: the runner against an in-memory PBX link (the
`Dialer` seam) and a real SQLite base. Pacing allowance and wake-ups, drain, adoption of
open attempts, the closer."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dialer.campaign.model import Campaign
from dialer.engine.dialer_port import OpenCall
from dialer.engine.pacing_control import PacingControl
from dialer.engine.runner import CampaignAborted, CampaignRunner
from dialer.outcomes import ContactStatus, Outcome
from dialer.pbx.dialplan_contract import DialRequest
from dialer.pbx.events import CallEnded, CallListener, CallMilestone, Milestone
from dialer.pbx.link_state import LinkState
from dialer.store import open_store
from dialer.store.base import ContactStore, NewContact

# Each test ends in well under a second; a hang (a missing wake-up) fails fast.
pytestmark = pytest.mark.timeout(20)

NEVER = 3600.0  # an idle poll no test may wait for: only a wake-up moves the runner on


class MemoryPbx:
    """The PBX link as the engine sees it. Calls stay up until the test ends them."""

    def __init__(self) -> None:
        self.ready = True
        self.fatal_error: Exception | None = None
        self.requests: list[DialRequest] = []
        self.up: dict[str, CallListener] = {}
        self.adopted: list[OpenCall] = []
        self.settled_ids: list[str] = []  # attempts whose outcome the runner has written
        self.max_up = 0
        self.originated = asyncio.Event()

    @property
    def state(self) -> LinkState:
        return LinkState.READY if self.ready else LinkState.BOOTING

    def route(self) -> str | None:
        return "memory" if self.ready else None

    def unroute(self, server: str) -> None:
        pass

    async def originate(self, request: DialRequest, listener: CallListener) -> None:
        self.requests.append(request)
        self.up[request.attempt_id] = listener
        self.max_up = max(self.max_up, len(self.up))
        self.originated.set()

    async def adopt(self, attempts: list[OpenCall], listener: CallListener) -> None:
        self.adopted += attempts
        for attempt_id, _, _ in attempts:
            self.up[attempt_id] = listener

    def settled(self, attempt_id: str) -> None:
        self.settled_ids.append(attempt_id)

    def end(self, attempt_id: str, outcome: Outcome = Outcome.ANSWERED) -> None:
        listener = self.up.pop(attempt_id)
        listener.call_ended(CallEnded(attempt_id, outcome, datetime.now(UTC)))

    def milestone(self, attempt_id: str, milestone: Milestone) -> None:
        self.up[attempt_id].call_milestone(CallMilestone(attempt_id, milestone, datetime.now(UTC)))

    async def wait_up(self, count: int) -> None:
        while len(self.up) < count:
            self.originated.clear()
            await self.originated.wait()


def campaign(**overrides: Any) -> Campaign:
    data: dict[str, Any] = {
        "name": "unit",
        "list": "people",
        "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
        "ami": {"secret": "unused"},
        "dial": {"channel": "Local/{number}@callees"},
        "pacing": {"max_channels": 3, "calls_per_second": 1000},
        "retry": {"max_attempts": 2, "busy": {"delay": "0s", "max": 1}},
    }
    data.update(overrides)
    return Campaign.model_validate(data)


@pytest.fixture
async def store(tmp_path: Path) -> Any:
    opened = await open_store(tmp_path / "unit.db")
    await opened.import_contacts(
        "people", [NewContact(number=f"+7912000000{i}") for i in range(10)]
    )
    yield opened
    await opened.close()


def runner_for(
    store: ContactStore, pbx: MemoryPbx, camp: Campaign | None = None, **kw: Any
) -> CampaignRunner:
    camp = camp or campaign()
    return CampaignRunner(
        camp, store, pbx, PacingControl(camp), clock=lambda: datetime.now(UTC), **kw
    )


async def answer_everything(pbx: MemoryPbx, outcome_of: Any = None) -> None:
    while True:
        await pbx.wait_up(1)
        by_id = {r.attempt_id: r for r in pbx.requests}
        for attempt_id in list(pbx.up):
            request = by_id.get(attempt_id)  # None for an adopted call
            pbx.end(attempt_id, outcome_of(request) if outcome_of and request else Outcome.ANSWERED)


async def test_given_a_fixed_pace_when_calls_stay_up_then_never_more_than_max_channels(
    store: ContactStore,
) -> None:
    pbx = MemoryPbx()
    runner = runner_for(store, pbx, idle_poll=NEVER)
    run = asyncio.create_task(runner.run(asyncio.Event()))
    await pbx.wait_up(3)
    await asyncio.sleep(0.05)  # it would have dialled a fourth by now
    assert len(pbx.requests) == 3
    # A call ending wakes the runner up: the next call goes out without the idle poll.
    pbx.end(pbx.requests[0].attempt_id)
    await pbx.wait_up(3)
    assert len(pbx.requests) == 4
    answerer = asyncio.create_task(answer_everything(pbx))
    snapshot = await run
    answerer.cancel()
    assert snapshot.state == "finished"
    assert pbx.max_up == 3
    assert len({r.number for r in pbx.requests}) == 10


async def test_given_outcomes_when_closed_then_retries_follow_the_rules_and_each_closes_once(
    store: ContactStore,
) -> None:
    pbx = MemoryPbx()
    busy_once: set[str] = set()

    def outcome_of(request: DialRequest) -> Outcome:
        if request.number.endswith(("1", "2")) and request.number not in busy_once:
            busy_once.add(request.number)
            return Outcome.BUSY
        return Outcome.ANSWERED

    answerer = asyncio.create_task(answer_everything(pbx, outcome_of))
    snapshot = await runner_for(store, pbx, idle_poll=0.01).run(asyncio.Event())
    answerer.cancel()
    assert snapshot.state == "finished"
    assert snapshot.outcomes == Counter({"answered": 10, "busy": 2})
    assert snapshot.closed == 12
    record = await store.get_campaign("unit")
    assert record is not None
    lines = await store.contact_report(record.id)
    assert {(line.status, line.final_outcome) for line in lines} == {
        (ContactStatus.DONE, Outcome.ANSWERED)
    }
    assert sorted(line.attempts for line in lines) == [1] * 8 + [2, 2]
    # Each outcome written, the PBX is told its journal of the call may go.
    assert sorted(pbx.settled_ids) == sorted(r.attempt_id for r in pbx.requests)


async def test_given_stop_when_calls_are_up_then_it_drains_them_and_dials_no_more(
    store: ContactStore,
) -> None:
    pbx = MemoryPbx()
    stop = asyncio.Event()
    runner = runner_for(store, pbx, idle_poll=NEVER)
    run = asyncio.create_task(runner.run(stop))
    await pbx.wait_up(3)
    stop.set()
    await asyncio.sleep(0.05)
    assert runner.snapshot.state == "draining"
    for attempt_id in list(pbx.up):
        pbx.end(attempt_id)
    snapshot = await run
    assert snapshot.state == "stopped"
    assert len(pbx.requests) == 3
    assert snapshot.closed == 3


async def test_given_calls_still_up_when_drain_times_out_then_they_stay_open_for_the_next_run(
    store: ContactStore,
) -> None:
    pbx = MemoryPbx()
    stop = asyncio.Event()
    first = runner_for(store, pbx, idle_poll=NEVER, drain_timeout=timedelta(milliseconds=50))
    run = asyncio.create_task(first.run(stop))
    await pbx.wait_up(3)
    stop.set()
    assert (await run).state == "stopped"
    left_up = {r.attempt_id for r in pbx.requests}
    # Their ends, heard by the old link after the run stopped, are written by nobody: the
    # PBX must keep its journal of them for the next run.
    for attempt_id in list(pbx.up):
        pbx.end(attempt_id)
    await asyncio.sleep(0.05)
    assert pbx.settled_ids == []

    # The next run adopts the open attempts: the PBX link follows them to their end.
    second_pbx = MemoryPbx()
    answerer = asyncio.create_task(answer_everything(second_pbx))
    snapshot = await runner_for(store, second_pbx, idle_poll=0.01).run(asyncio.Event())
    answerer.cancel()
    assert {call.attempt_id for call in second_pbx.adopted} == left_up
    assert {call.server for call in second_pbx.adopted} == {"memory"}
    assert snapshot.state == "finished"
    # The adopted people were not dialled again while their calls were up.
    adopted_numbers = {r.number for r in pbx.requests}
    assert not adopted_numbers & {r.number for r in second_pbx.requests}
    assert len(second_pbx.requests) == 7


async def test_given_the_link_not_ready_then_nothing_is_dialled_until_it_is(
    store: ContactStore,
) -> None:
    pbx = MemoryPbx()
    pbx.ready = False
    runner = runner_for(store, pbx, idle_poll=0.01)
    run = asyncio.create_task(runner.run(asyncio.Event()))
    await asyncio.sleep(0.1)
    assert pbx.requests == []
    assert runner.snapshot.link_ready is False
    assert runner.snapshot.link_state is LinkState.BOOTING
    pbx.ready = True
    answerer = asyncio.create_task(answer_everything(pbx))
    assert (await run).state == "finished"
    answerer.cancel()


async def test_given_a_fatal_link_error_then_the_campaign_aborts(store: ContactStore) -> None:
    pbx = MemoryPbx()
    pbx.fatal_error = RuntimeError("login refused on reconnect")
    with pytest.raises(CampaignAborted, match="login refused"):
        await runner_for(store, pbx, idle_poll=0.01).run(asyncio.Event())


async def test_given_progressive_pacing_then_operators_and_milestones_drive_the_allowance(
    store: ContactStore,
) -> None:
    from dialer.operators import OperatorChange, OperatorState

    camp = campaign(
        pacing={
            "mode": "progressive",
            "max_channels": 10,
            "calls_per_second": 1000,
            "compliance_message": "dialer/identify",
        },
        on_answer={"action": "play_and_queue", "message": "hello", "queue": "ops"},
    )
    pbx = MemoryPbx()
    runner = runner_for(store, pbx, camp, idle_poll=NEVER)
    assert runner.wants_milestones and runner.pacing.queues == {"ops"}
    run = asyncio.create_task(runner.run(asyncio.Event()))
    await asyncio.sleep(0.05)
    assert pbx.requests == []  # no operator logged in: progressive places nothing

    def operator(name: str, state: OperatorState) -> OperatorChange:
        return OperatorChange("ops", f"Local/{name}", name, None, state)

    runner.pacing.operators_changed(
        [operator("a", OperatorState.AVAILABLE), operator("b", OperatorState.AVAILABLE)]
    )
    await pbx.wait_up(2)
    await asyncio.sleep(0.05)
    assert len(pbx.requests) == 2  # one call in progress per free operator
    first = pbx.requests[0].attempt_id
    pbx.milestone(first, Milestone.ANSWERED)
    pbx.milestone(first, Milestone.TRANSFER)
    pbx.milestone(first, Milestone.CONNECTED)
    runner.pacing.operators_changed([operator("a", OperatorState.ON_CALL)])
    pbx.end(first, Outcome.TRANSFERRED)
    await asyncio.sleep(0.05)
    assert len(pbx.up) == 1  # operator a talks: still one call per free operator
    runner.pacing.operators_changed([operator("a", OperatorState.AVAILABLE)])
    await pbx.wait_up(2)
    answerer = asyncio.create_task(answer_everything(pbx))
    assert (await run).state == "finished"
    answerer.cancel()
    assert pbx.max_up == 2
    status = runner.pacing.status()
    assert status["mode"] == "progressive"
    assert status["operators"]["available"] == 2
