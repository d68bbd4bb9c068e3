"""The PBX link against a socket-level fake of Asterisk, for faults a real one will not
produce on demand.

An Asterisk that stops answering AMI actions while its socket stays open (a stuck
manager, an event flood ahead of the replies): the link stops dialling and says so,
keeps the session (its events are the calls' fate), and settles the calls when
Asterisk answers again. Calls Asterisk still has are never closed `unknown`.

Adopted calls (left open by a killed run) end when the channel we placed ends: the `;2`
half of a Local channel can outlive it and must not keep the call (and the run) alive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from dialer.outcomes import Outcome
from dialer.pbx.ami_client import AmiClient, AmiConnectionSettings
from dialer.pbx.dialplan_contract import DialRequest
from dialer.pbx.events import CallEnded, CallMilestone
from dialer.pbx.link import PbxLink
from dialer.pbx.link_state import LinkState
from tests.fake_ami import FakeAmi, frame

pytestmark = pytest.mark.timeout(30)


class Listener:
    wants_milestones = False

    def __init__(self) -> None:
        self.ended: list[CallEnded] = []

    def call_ended(self, event: CallEnded) -> None:
        self.ended.append(event)

    def call_milestone(self, event: CallMilestone) -> None:
        pass


def request(n: int) -> DialRequest:
    return DialRequest(
        attempt_id=f"att-{n}",
        campaign="c",
        number=f"+7912000000{n}",
        channel_template="Local/{number}@callees",
        context="dialer-answered",
        exten="s",
        priority=1,
        ring_timeout=timedelta(seconds=15),
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    server.port = await server.start()  # type: ignore[attr-defined]
    yield server
    await server.stop()


@pytest.fixture
async def link(fake: FakeAmi) -> AsyncIterator[PbxLink]:
    settings = AmiConnectionSettings(
        "127.0.0.1",
        fake.port,  # type: ignore[attr-defined]
        "dialer",
        "s3cret",
        ping_interval=0.2,
        action_timeout=0.3,
        reconnect_min_delay=0.05,
    )
    pbx = PbxLink(AmiClient(settings), sweep_interval=0.1)
    await pbx.start()
    await until(lambda: pbx.ready)
    yield pbx
    await pbx.close()


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def end_calls(fake: FakeAmi, count: int) -> None:
    """What Asterisk sends once each call ends: OriginateResponse, Hangup."""
    for n in range(count):
        await fake.send_raw(
            frame(
                ("Event", "OriginateResponse"),
                ("ActionID", f"orig-att-{n}"),
                ("Response", "Success"),
                ("Reason", "4"),
                ("Uniqueid", f"att-{n}"),
            ),
            frame(("Event", "Hangup"), ("Uniqueid", f"att-{n}"), ("Cause", "16")),
            pause=0.0,
        )


async def test_given_originates_unanswered_while_events_flow_then_dialling_pauses(
    fake: FakeAmi, link: PbxLink
) -> None:
    listener = Listener()
    fake.hold_replies = True
    chatter = asyncio.create_task(fake.chatter())
    originates = [asyncio.create_task(link.originate(request(n), listener)) for n in range(3)]
    await asyncio.gather(*originates)  # each times out: fate unknown
    await until(lambda: link.state is LinkState.UNRESPONSIVE)
    assert link.ready is False
    fake.channels = [(f"att-{n}", "6") for n in range(3)]  # Asterisk has the calls
    await asyncio.sleep(1.0)  # several ping intervals without a reply
    assert link.ready is False and listener.ended == []
    fake.release()
    await until(lambda: link.ready)
    await end_calls(fake, 3)
    await until(lambda: len(listener.ended) == 3)
    chatter.cancel()
    assert [e.outcome for e in listener.ended] == [Outcome.ANSWERED] * 3
    assert fake.connections == 1  # the session and its events were kept


async def test_given_flood_delays_every_reply_when_calls_are_placed_then_none_is_closed_unknown(
    fake: FakeAmi, link: PbxLink
) -> None:
    listener = Listener()
    fake.reply_delay = 0.8  # past the 0.3 s action timeout: the Pong comes late too
    chatter = asyncio.create_task(fake.chatter())
    await asyncio.gather(*(link.originate(request(n), listener) for n in range(5)))
    seen_unresponsive = link.state is LinkState.UNRESPONSIVE
    fake.reply_delay = 0.0
    await until(lambda: link.ready)
    await asyncio.sleep(0.5)  # the sweeps and reconciliations that follow
    # Asterisk had not created the channels yet (CoreShowChannels lists none); their
    # events come now.
    await end_calls(fake, 5)
    await until(lambda: len(listener.ended) == 5)
    chatter.cancel()
    assert seen_unresponsive
    outcomes = [e.outcome for e in listener.ended]
    assert outcomes.count(Outcome.UNKNOWN) == 0, [e.detail for e in listener.ended]
    assert fake.connections == 1


async def test_given_adopted_call_whose_placed_half_is_gone_when_adopted_then_it_ends_at_once(
    fake: FakeAmi, link: PbxLink
) -> None:
    listener = Listener()
    fake.channels = [("att-0;2", "6")]  # ;1 hung up, ;2 still runs its h extension
    started = datetime.now(UTC) - timedelta(minutes=1)
    await link.adopt([("att-0", started)], listener)
    await until(lambda: len(listener.ended) == 1, timeout=5)
    assert link.in_flight == 0
    assert listener.ended[0].attempt_id == "att-0"


async def test_given_adopted_live_call_when_placed_half_hangs_up_then_it_ends_with_its_outcome(
    fake: FakeAmi, link: PbxLink
) -> None:
    listener = Listener()
    fake.channels = [("att-1", "6"), ("att-1;2", "6")]
    await link.adopt([("att-1", datetime.now(UTC) - timedelta(minutes=1))], listener)
    await asyncio.sleep(0.3)  # several sweeps: the call is up, it stays
    assert listener.ended == [] and link.in_flight == 1
    fake.channels = [("att-1;2", "6")]
    await fake.send_raw(frame(("Event", "Hangup"), ("Uniqueid", "att-1"), ("Cause", "16")))
    await until(lambda: len(listener.ended) == 1, timeout=5)
    assert listener.ended[0].outcome is Outcome.ANSWERED
    assert listener.ended[0].cause == 16


async def test_given_asterisk_shutting_down_when_it_refuses_a_call_then_dialling_pauses_until_back(
    fake: FakeAmi, link: PbxLink
) -> None:
    # For about a second after `core restart now`, Asterisk 22 refuses every Originate
    # with this reply; the Shutdown event comes only as the socket closes.
    fake.originate_error = "Asterisk is shutting down"
    listener = Listener()
    await link.originate(request(0), listener)
    assert [e.outcome for e in listener.ended] == [Outcome.FAILED]
    assert link.state is LinkState.SHUTTING_DOWN and not link.ready
    fake.originate_error = ""
    fake.drop_all()  # the restart closes the socket; the new session starts afresh
    await until(lambda: fake.connections == 2 and link.ready)
