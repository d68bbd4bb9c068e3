"""The PBX journal (AstDB dialer/<attempt>/...) over real TCP against the simulated PBX:
a dialer that was away when calls ended learns every outcome from Asterisk, and calls cut
by Asterisk going away are told apart from the callee's doing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from dialer.control.app import run_campaign
from dialer.control.report import print_report_streamed
from dialer.outcomes import ContactStatus, Outcome
from dialer.pbx.ami_client import AmiClient, AmiConnectionSettings
from dialer.pbx.dialplan_contract import AnswerPlan, DialRequest
from dialer.pbx.events import CallEnded, CallMilestone
from dialer.pbx.journal import CallJournal
from dialer.pbx.link import PbxLink
from dialer.simpbx import SimConfig, SimulatedPbx
from dialer.store.base import ContactStore
from tests.integration.conftest import FAST, SECRET, campaign_dict, fill_list, make_campaign

# number -> (persona, the outcome Asterisk's journal must give)
CALLS = {
    "+79120000010": ("answer", Outcome.TRANSFERRED),  # an operator took it
    "+79120000011": ("queue_abandon", Outcome.ABANDONED),  # hung up waiting in the queue
    "+79120000012": ("early_hangup", Outcome.ANSWERED),  # hung up during the message
    "+79120000013": ("invalid", Outcome.INVALID_NUMBER),
    "+79120000014": ("busy", Outcome.BUSY),  # a trunk: cause 17 on the one channel
    "+79120000015": ("no_answer", Outcome.NO_ANSWER),
}
CUT = ("+79120000021", "+79120000022")  # up when Asterisk is killed


class Listener:
    wants_milestones = False

    def __init__(self) -> None:
        self.ended: dict[str, CallEnded] = {}
        self.changed = asyncio.Event()

    def call_ended(self, event: CallEnded) -> None:
        assert event.attempt_id not in self.ended, "reported twice"
        self.ended[event.attempt_id] = event
        self.changed.set()

    def call_milestone(self, event: CallMilestone) -> None:
        pass

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        async def loop() -> None:
            while len(self.ended) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedPbx]:
    personas = {number: persona for number, (persona, _) in CALLS.items()}
    personas.update({number: "answer" for number in CUT})
    timing = FAST.__class__(**{**FAST.__dict__, "talk": 0.6, "message": 0.3})
    pbx = SimulatedPbx(
        SimConfig(secret=SECRET, personas=personas, timing=timing, operators=2, seed=7)
    )
    await pbx.start()
    yield pbx
    await pbx.stop()


def make_link(port: int) -> PbxLink:
    settings = AmiConnectionSettings(
        "127.0.0.1", port, "dialer", SECRET, action_timeout=2.0, reconnect_min_delay=0.05
    )
    return PbxLink(AmiClient(settings), sweep_interval=0.1)


def request(attempt_id: str, number: str) -> DialRequest:
    return DialRequest(
        attempt_id=attempt_id,
        campaign="journal",
        number=number,
        channel_template="PJSIP/{number}@trunk",
        context="dialer-answered",
        exten="s",
        priority=1,
        ring_timeout=timedelta(seconds=0.5),
        answer=AnswerPlan(
            message="hello-world", queue="dialer-operators", queue_timeout=timedelta(seconds=5)
        ),
    )


async def kill_link(link: PbxLink) -> None:
    """A dialer killed with -9: its socket closes, nothing is logged off or closed."""
    client = link._client
    client._closed = True  # no reconnect: the process is gone
    if client._supervisor is not None:
        client._supervisor.cancel()
    if client._protocol is not None:
        client._protocol.abort()
    if link._sweeper is not None:
        link._sweeper.cancel()
    await asyncio.sleep(0)


async def test_given_dialer_killed_while_calls_end_when_adopted_then_the_journal_gives_each_outcome(
    sim: SimulatedPbx,
) -> None:
    first = make_link(sim.port)
    await first.start()
    listener = Listener()
    for index, number in enumerate(CALLS):
        await first.originate(request(f"att-{index}", number), listener)
    await asyncio.sleep(0.02)
    started = {o.channel_id: o.time for o in sim.originates}
    await kill_link(first)
    # Every call ends while no dialer is connected.
    for _ in range(200):
        if all(r.result for r in sim.calls.values()):
            break
        await asyncio.sleep(0.05)
    assert all(r.result for r in sim.calls.values())

    second = make_link(sim.port)
    await second.start()
    adopted = Listener()
    await second.adopt([(a, datetime.fromtimestamp(t, UTC)) for a, t in started.items()], adopted)
    await adopted.wait_for(len(CALLS))
    got = {e.attempt_id: e.outcome for e in adopted.ended.values()}
    want = {f"att-{i}": outcome for i, (_, outcome) in enumerate(CALLS.values())}
    assert got == want
    # The answer time is Asterisk's, not the adoption's.
    transferred = adopted.ended["att-0"]
    assert transferred.answered_at is not None
    assert transferred.answered_at.timestamp() == pytest.approx(
        sim.calls["att-0"].answered or 0, abs=1.0
    )
    # Once the outcomes are written (settled), [dialer-journal-forget] deletes their journal.
    await asyncio.sleep(0.3)
    assert set(journaled(sim)) == set(want)  # closed, not yet written: kept
    for attempt_id in want:
        second.settled(attempt_id)
    await until_journal_empty(sim)
    assert len(sim.originates) == len(CALLS)  # housekeeping is not a call to anyone
    await second.close()


def journaled(sim: SimulatedPbx) -> set[str]:
    """The attempts Asterisk's journal holds (AstDB keys dialer/<attempt>/...)."""
    return {key.split("/")[2] for key in sim.core.astdb.entries if key.startswith("/dialer/")}


async def until_journal_empty(sim: SimulatedPbx) -> None:
    for _ in range(60):
        if not sim.core.astdb.entries:
            break
        await asyncio.sleep(0.05)
    assert sim.core.astdb.entries == {}


async def test_given_calls_closed_but_never_written_when_adopted_then_the_journal_still_tells(
    sim: SimulatedPbx,
) -> None:
    """A process that heard its calls end but stopped before writing their outcomes (a
    drain that timed out, a store that refused): the journal outlives it."""
    first = make_link(sim.port)
    await first.start()
    heard = Listener()
    for index, number in enumerate(CALLS):
        await first.originate(request(f"att-{index}", number), heard)
    started = {o.channel_id: o.time for o in sim.originates}
    await heard.wait_for(len(CALLS))
    await first.close()  # nothing settled: no outcome was written

    second = make_link(sim.port)
    await second.start()
    adopted = Listener()
    await second.adopt([(a, datetime.fromtimestamp(t, UTC)) for a, t in started.items()], adopted)
    await adopted.wait_for(len(CALLS))
    want = {f"att-{i}": outcome for i, (_, outcome) in enumerate(CALLS.values())}
    assert {e.attempt_id: e.outcome for e in adopted.ended.values()} == want
    assert {e.attempt_id: e.outcome for e in heard.ended.values()} == want
    for attempt_id in want:
        second.settled(attempt_id)
    await until_journal_empty(sim)
    await second.close()


async def test_given_outcomes_written_while_ami_is_down_then_their_journals_go_once_it_is_back(
    sim: SimulatedPbx,
) -> None:
    link = make_link(sim.port)
    await link.start()
    heard = Listener()
    for index, number in enumerate(CALLS):
        await link.originate(request(f"att-{index}", number), heard)
    await heard.wait_for(len(CALLS))
    sim.drop_connections()  # the store took its time; AMI dropped meanwhile
    await asyncio.sleep(0.05)
    for attempt_id in heard.ended:
        link.settled(attempt_id)
    assert journaled(sim) == set(heard.ended)
    for _ in range(100):  # the link reconnects, then sends the batch
        if not sim.core.astdb.entries:
            break
        await asyncio.sleep(0.05)
    assert sim.core.astdb.entries == {}
    await link.close()


async def test_given_adopted_call_still_up_when_it_ends_then_its_queue_history_is_journaled(
    sim: SimulatedPbx,
) -> None:
    first = make_link(sim.port)
    await first.start()
    await first.originate(request("att-q", "+79120000010"), Listener())
    while sim.calls.get("att-q") is None or sim.calls["att-q"].operator == "":
        await asyncio.sleep(0.02)
    await kill_link(first)  # the operator has taken the call; it is still going on
    second = make_link(sim.port)
    await second.start()
    adopted = Listener()
    await second.adopt([("att-q", datetime.now(UTC))], adopted)
    await adopted.wait_for(1)
    ended = adopted.ended["att-q"]
    assert ended.outcome is Outcome.TRANSFERRED
    assert ended.answered_at is not None
    assert ended.answered_at.timestamp() == pytest.approx(sim.calls["att-q"].answered or 0, abs=1)
    await second.close()


async def test_given_asterisk_crashed_with_calls_up_then_they_are_pbx_failures_not_abandons(
    sim: SimulatedPbx,
) -> None:
    link = make_link(sim.port)
    await link.start()
    listener = Listener()
    for index, number in enumerate(CUT):
        await link.originate(request(f"cut-{index}", number), listener)
    while sum(1 for r in sim.calls.values() if r.answered) < len(CUT):
        await asyncio.sleep(0.01)
    # Killed while both hear the message: before, they were closed as "answered" (final).
    assert sim.crash_and_restart() == len(CUT)
    await listener.wait_for(len(CUT))
    assert {e.outcome for e in listener.ended.values()} == {Outcome.PBX_FAILURE}
    assert link.pbx_restarts == 1
    await link.close()


async def test_given_asterisk_crash_mid_campaign_then_cut_calls_are_retried_and_reported(
    store: ContactStore,
) -> None:
    timing = FAST.__class__(**{**FAST.__dict__, "message": 1.5, "talk": 1.0})
    sim = SimulatedPbx(SimConfig(secret=SECRET, timing=timing, operators=2, seed=3))
    await sim.start()
    try:
        await fill_list(store, "spring", 40)
        retry = {**campaign_dict(sim.port)["retry"], "pbx_failure": {"delay": "100ms", "max": 1}}
        campaign = make_campaign(sim.port, retry=retry)
        run = asyncio.create_task(run_campaign(campaign, store, SECRET, asyncio.Event()))
        while sum(1 for r in sim.calls.values() if r.answered and r.result is None) < 10:
            await asyncio.sleep(0.01)
        cut = sim.crash_and_restart()
        snapshot = await asyncio.wait_for(run, 60)
    finally:
        await sim.stop()
    assert snapshot.state == "finished"
    record = await store.get_campaign("spring-promo")
    assert record is not None
    attempts = await store.attempts(record.id)
    cut_ids = {cid for cid, r in sim.calls.items() if r.result == "cut"}  # the PBX's record
    assert len(cut_ids) == cut >= 10
    outcomes = {a.attempt_id: a.outcome for a in attempts}
    assert {outcomes[cid] for cid in cut_ids} == {Outcome.PBX_FAILURE}
    # ...and no other: a pbx_failure the PBX did not cut is an Originate lost in the crash.
    failures = {a for a, o in outcomes.items() if o is Outcome.PBX_FAILURE}
    assert {a for a in failures - cut_ids if a in sim.calls} == set()
    # Each contact a crash cut was called again (the pbx_failure rule), and finished.
    lines = {line.number: line for line in await store.contact_report(record.id)}
    for cid in cut_ids:
        line = lines[sim.calls[cid].number]
        assert line.attempts >= 2 and line.status is ContactStatus.DONE
    console = Console(record=True, width=120)
    await print_report_streamed(console, store, "spring-promo", 0)
    assert f"{len(failures)} call(s) cut by a PBX failure" in console.export_text()


async def test_given_ami_not_up_when_outcomes_are_settled_then_the_journal_waits_for_it(
    sim: SimulatedPbx,
) -> None:
    """Journals of settled attempts are deleted once AMI is up, however long that takes
    (they were dropped when the batch found AMI down); unsettled ones stay."""
    for attempt_id in ("att-a", "att-b", "att-c"):
        sim.core.astdb.put(f"dialer/{attempt_id}", "ended", "1796000000")
    settings = AmiConnectionSettings(
        "127.0.0.1", sim.port, "dialer", SECRET, action_timeout=2.0, reconnect_min_delay=0.05
    )
    client = AmiClient(settings)  # not connected yet: AMI down
    journal = CallJournal(client)
    for attempt_id in ("att-a", "att-b", "att-c"):
        journal.closed(attempt_id)
    journal.settled("att-a")
    journal.settled("att-b")
    journal.settled("att-unknown")  # never closed here: not ours to delete
    await asyncio.sleep(1.5)  # past the batch's wait
    assert journaled(sim) == {"att-a", "att-b", "att-c"}
    await client.connect()
    for _ in range(60):
        if journaled(sim) == {"att-c"}:
            break
        await asyncio.sleep(0.05)
    assert journaled(sim) == {"att-c"}  # closed but never written: kept for an adopter
    await journal.drain()
    await client.close()
