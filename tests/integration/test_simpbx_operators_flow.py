"""Simulated operators at work, over a real AMI socket: callers wait while every operator
is busy, paused or unreachable operators are never rung, a busy operator logs out after
the call, talk times follow a seeded distribution, wrap-up delays the next call."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any

from dialer.simpbx import SimulatedPbx
from tests.simpbx_helpers import FAST, AmiTestClient, Msg, ami_client, originate_fields, running_pbx

QUEUE = "dialer-operators"
LOCAL = "Local/{}@dialer-test-callees"
TAKEN = "+79000000006"  # queue_taken persona: the operator ends the talk
OP = "Local/op{}@dialer-test-operators/n"


def operators_pbx(**overrides: Any) -> AbstractAsyncContextManager[SimulatedPbx]:
    settings: dict[str, Any] = {
        "queues": (QUEUE,),
        "operators": 0,
        "operator_context": "dialer-test-operators",
    }
    return running_pbx(**{**settings, **overrides})


async def call_queue(client: AmiTestClient, cid: str, number: str = TAKEN) -> None:
    await client.action(f"o-{cid}", *originate_fields(LOCAL.format(number), cid, queue=QUEUE))


def at(msg: Msg) -> float:
    return float(msg.get("Timestamp"))


def by_caller(client: AmiTestClient, event: str) -> dict[str, Msg]:
    return {m.get("Uniqueid"): m for m in client.events(event)}


async def test_callers_wait_while_the_operator_talks_and_are_taken_in_turn() -> None:
    timing = replace(FAST, talk=0.3, operator_answer_delay=0.2)
    async with operators_pbx(timing=timing, operators=1) as pbx, ami_client(pbx) as client:
        for cid in ("W1", "W2", "W3"):
            await call_queue(client, cid)
        for cid in ("W1", "W2", "W3"):
            await client.wait_event("QueueCallerJoin", Uniqueid=cid)
        await client.wait_event("AgentConnect", Uniqueid="W1")
        await client.action("qs", ("Action", "QueueStatus"), ("Queue", QUEUE))
        await client.wait_event("QueueStatusComplete")
        await client.action("qsum", ("Action", "QueueSummary"), ("Queue", QUEUE))
        summary = await client.wait_event("QueueSummary")
        await client.wait_event("Hangup", Uniqueid="W3")
    joins = by_caller(client, "QueueCallerJoin")
    assert [joins[c].get("Count") for c in ("W1", "W2", "W3")] == ["1", "2", "3"]
    member = client.events("QueueMember")[0]
    assert (member.get("InCall"), member.get("Status")) == ("1", "2")
    assert [e.get("Uniqueid") for e in client.events("QueueEntry")] == ["W2", "W3"]
    assert [summary.get(k) for k in ("LoggedIn", "Available", "Callers")] == ["1", "0", "2"]
    connects, completes = by_caller(client, "AgentConnect"), by_caller(client, "AgentComplete")
    assert list(connects) == ["W1", "W2", "W3"]
    for before, nxt in (("W1", "W2"), ("W2", "W3")):
        assert at(connects[nxt]) >= at(completes[before])  # one conversation at a time
    assert int(completes["W3"].get("HoldTime")) >= 1  # W1's and W2's rings and talks
    assert len(client.events("AgentCalled")) == 3
    assert [m.calls_taken for m in pbx.members(QUEUE)] == [3]


async def test_callers_join_an_empty_queue_and_the_first_login_takes_them() -> None:
    async with operators_pbx() as pbx, ami_client(pbx) as client:
        for cid in ("E1", "E2"):
            await call_queue(client, cid)
            await client.wait_event("QueueCallerJoin", Uniqueid=cid)
        await client.action("qsum", ("Action", "QueueSummary"), ("Queue", QUEUE))
        summary = await client.wait_event("QueueSummary")
        await asyncio.sleep(0.1)
        assert client.events("AgentCalled") == []
        assert pbx.login(QUEUE) == [OP.format(1)]
        await client.wait_event("Hangup", Uniqueid="E2")
    assert [summary.get(k) for k in ("LoggedIn", "Available", "Callers")] == ["0", "0", "2"]
    added = client.events("QueueMemberAdded")[0]
    assert (added.get("MemberName"), added.get("Membership")) == ("Operator 1", "dynamic")
    assert list(by_caller(client, "AgentConnect")) == ["E1", "E2"]
    assert client.messages.index(added) < client.messages.index(client.events("AgentCalled")[0])


async def test_paused_and_unreachable_operators_are_never_rung() -> None:
    async with operators_pbx(operators=3) as pbx, ami_client(pbx) as client:
        pbx.pause(QUEUE, OP.format(1), reason="lunch")
        pbx.set_unavailable(QUEUE, OP.format(3))
        for cid in ("P1", "P2", "P3"):
            await call_queue(client, cid)
        for cid in ("P1", "P2", "P3"):
            await client.wait_event("Hangup", Uniqueid=cid)
        assert {m.get("Interface") for m in client.events("AgentCalled")} == {OP.format(2)}

        pbx.pause(QUEUE, OP.format(2))
        await call_queue(client, "P4")
        await client.wait_event("QueueCallerJoin", Uniqueid="P4")
        await asyncio.sleep(0.15)
        assert "P4" not in by_caller(client, "AgentCalled")
        states = [m.state for m in pbx.members(QUEUE)]
        pbx.set_unavailable(QUEUE, OP.format(3), unavailable=False)  # back: takes P4
        called = await client.wait_event("AgentCalled", Uniqueid="P4")
        await client.wait_event("Hangup", Uniqueid="P4")
    assert states == ["paused", "paused", "unavailable"]
    assert called.get("Interface") == OP.format(3)
    statuses = [m.get("Status") for m in client.events("QueueMemberStatus")]
    assert statuses[0] == "5" and "5" not in statuses[1:]


async def test_a_busy_operator_logs_out_after_the_call_and_may_log_in_again() -> None:
    timing = replace(FAST, talk=0.3)
    async with operators_pbx(timing=timing) as pbx, ami_client(pbx) as client:
        op1, op2 = pbx.login(QUEUE, 2)
        assert pbx.logout(QUEUE) == op2  # the last one to log in, idle: at once
        await client.wait_event("QueueMemberRemoved", Interface=op2)
        await call_queue(client, "L1")
        await client.wait_event("AgentConnect", Uniqueid="L1")
        assert pbx.logout(QUEUE) == op1  # on a call: it finishes it first
        [leaving] = pbx.members(QUEUE)
        await call_queue(client, "L2")
        await client.wait_event("QueueCallerJoin", Uniqueid="L2")
        removed = await client.wait_event("QueueMemberRemoved", Interface=op1)
        assert pbx.members(QUEUE) == [] and "L2" not in by_caller(client, "AgentCalled")
        assert pbx.login(QUEUE) == [op1]  # the lowest free number again
        await client.wait_event("Hangup", Uniqueid="L2")
    assert (leaving.state, leaving.leaving, leaving.in_call) == ("in_use", True, True)
    complete = by_caller(client, "AgentComplete")["L1"]
    between = client.messages[client.messages.index(complete) : client.messages.index(removed)]
    statuses = [m.get("Status") for m in between if m.event == "QueueMemberStatus"]
    assert statuses == ["1"]  # AgentComplete, QueueMemberStatus 1, then QueueMemberRemoved
    assert removed.get("CallsTaken") == "1"
    assert by_caller(client, "AgentConnect")["L2"].get("Interface") == op1


async def test_queue_remove_of_a_talking_operator_is_immediate_and_the_call_goes_on() -> None:
    timing = replace(FAST, talk=0.2)
    async with operators_pbx(timing=timing) as pbx, ami_client(pbx) as client:
        [op1] = pbx.login(QUEUE)
        await call_queue(client, "R1")
        await client.wait_event("AgentConnect", Uniqueid="R1")
        await client.action("rm", ("Action", "QueueRemove"), ("Queue", QUEUE), ("Interface", op1))
        removed = await client.wait_event("QueueMemberRemoved")
        assert pbx.members(QUEUE) == []
        complete = await client.wait_event("AgentComplete", Uniqueid="R1")
        await client.wait_event("Hangup", Uniqueid="R1")
    assert client.messages.index(removed) < client.messages.index(complete)
    assert removed.get("InCall") == "1"
    after = client.messages[client.messages.index(complete) :]
    assert [m for m in after if m.event == "QueueMemberStatus"] == []  # no longer a member


async def talk_times(seed: int, spread: float, calls: int = 4) -> tuple[list[float], list[float]]:
    """Talk times drawn by the simulator, and measured between AgentConnect and
    AgentComplete on the wire, for `calls` conversations one after another."""
    timing = replace(FAST, talk=0.1, talk_spread=spread)
    async with (
        operators_pbx(timing=timing, operators=1, seed=seed) as pbx,
        ami_client(pbx) as client,
    ):
        for n in range(calls):
            await call_queue(client, f"T{n}")
            await client.wait_event("Hangup", Uniqueid=f"T{n}")
        drawn = [pbx.calls[f"T{n}"].talk_time or 0.0 for n in range(calls)]
    connects, completes = by_caller(client, "AgentConnect"), by_caller(client, "AgentComplete")
    measured = [at(completes[f"T{n}"]) - at(connects[f"T{n}"]) for n in range(calls)]
    return drawn, measured


async def test_talk_spread_draws_different_talk_times_reproducibly_from_the_seed() -> None:
    (drawn, measured), (again, _), (other, _), (constant, _) = await asyncio.gather(
        talk_times(seed=11, spread=0.6),
        talk_times(seed=11, spread=0.6),
        talk_times(seed=12, spread=0.6),
        talk_times(seed=11, spread=0.0, calls=2),
    )
    assert drawn == again and drawn != other
    assert len(set(drawn)) == len(drawn) and all(t > 0 for t in drawn)
    # The simulator talks for the drawn time: never shorter, and longer only by how late
    # a loaded machine runs its timers (not a timing goal: the draw is what is checked).
    assert all(d - 0.01 <= m < d + 0.5 for m, d in zip(measured, drawn, strict=True)), (
        measured,
        drawn,
    )
    assert constant == [0.1, 0.1]


async def test_wrapup_keeps_the_operator_from_the_next_call() -> None:
    timing = replace(FAST, talk=0.05, wrapup=0.4)
    async with operators_pbx(timing=timing, operators=1) as pbx, ami_client(pbx) as client:
        for cid in ("U1", "U2"):
            await call_queue(client, cid)
        complete = await client.wait_event("AgentComplete", Uniqueid="U1")
        [member] = pbx.members(QUEUE)
        await client.action("qsum", ("Action", "QueueSummary"), ("Queue", QUEUE))
        summary = await client.wait_event("QueueSummary")
        called = await client.wait_event("AgentCalled", Uniqueid="U2")
        await client.wait_event("Hangup", Uniqueid="U2")
    assert member.state == "wrapup" and member.wrapup == 0.4
    assert at(called) - at(complete) >= 0.39
    # As app_queue: a member in wrap-up is not in use, so QueueSummary counts it available.
    assert [summary.get(k) for k in ("Available", "Callers")] == ["1", "1"]
    statuses = client.events("QueueMemberStatus")
    assert {m.get("Wrapuptime") for m in statuses} == {"1"}  # whole seconds, rounded up
    idle = [m for m in statuses if m.get("Status") == "1"]
    assert idle and at(idle[0]) - at(complete) < 0.1  # idle at once, rung only later


async def test_callers_joining_at_once_ring_different_idle_operators_at_once() -> None:
    # Asterisk 22.10.1 with autofill = yes and leastrecent (asterisk-config/queues.conf,
    # tests/asterisk/test_queue_autofill.py): 6 callers and 8 idle operators give 6
    # connects, each after one ring, none waiting for the caller before it.
    timing = replace(FAST, operator_answer_delay=0.3, talk=1.0)
    callers = [f"A{n}" for n in range(6)]
    async with operators_pbx(timing=timing, operators=8) as pbx, ami_client(pbx) as client:
        for cid in callers:
            await call_queue(client, cid)
        for cid in callers:
            await client.wait_event("AgentConnect", Uniqueid=cid)
    connects = by_caller(client, "AgentConnect")
    assert len({m.get("Interface") for m in connects.values()}) == 6
    assert max(int(m.get("HoldTime")) for m in connects.values()) == 0  # one ring each
    assert len(client.events("AgentCalled")) == 6  # no caller rang twice
