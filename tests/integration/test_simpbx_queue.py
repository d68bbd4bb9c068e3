"""Queue() flows of the answered-call dialplan: taken by an operator, abandoned, timed out."""

from __future__ import annotations

from dataclasses import replace

from tests.simpbx_helpers import FAST, AmiTestClient, ami_client, originate_fields, running_pbx

QUEUE_EVENTS = {
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "AgentRingNoAnswer",
    "UserEvent",
}


def sequence(client: AmiTestClient, channel_id: str) -> list[str]:
    """Queue events and DialEnds of the caller channel X, in arrival order."""
    out = []
    for m in client.events():
        if m.get("Uniqueid") != channel_id:
            continue
        if m.event in QUEUE_EVENTS:
            out.append(m.event)
        elif m.event == "DialEnd" and m.get("Channel"):
            out.append(f"DialEnd {m.get('DialStatus')}")
    return out


async def test_queue_taken_operator_answers_talks_and_hangs_up() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        fields = originate_fields("Local/+79000000006@x", "Q", queue="sales", queue_timeout="5")
        await client.action("o", *fields)
        await client.wait_event("Hangup", Uniqueid="Q")
        await client.wait_event("QueueMemberStatus", Status="1")
        complete = client.events("AgentComplete")[0]
        connect = client.events("AgentConnect")[0]
        join = client.events("QueueCallerJoin")[0]
        bridge = [m.get("BridgeNumChannels") for m in client.events("BridgeEnter")]
    assert sequence(client, "Q") == [
        "QueueCallerJoin",
        "AgentCalled",
        "DialEnd ANSWER",
        "QueueCallerLeave",
        "AgentConnect",
        "AgentComplete",
    ]
    assert (join.get("Queue"), join.get("Position"), join.get("Count")) == ("sales", "1", "1")
    assert complete.get("Reason") == "agent"
    assert connect.get("Interface") == "Local/op1@operator-sim/n"
    assert connect.get("DestLinkedid") == "Q"  # operator legs are tied to the attempt
    assert bridge == ["1", "2"]
    record = pbx.calls["Q"]
    assert (record.result, record.queue, record.cause) == ("transferred", "sales", 16)


async def test_answer_persona_in_queue_hangs_up_itself() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        await client.action("o", *originate_fields("Local/+79000000000@x", "Q", queue="sales"))
        complete = await client.wait_event("AgentComplete")
        await client.wait_event("Hangup", Uniqueid="Q")
    assert complete.get("Reason") == "caller"
    assert pbx.calls["Q"].result == "transferred"


async def test_queue_abandon_hangs_up_while_the_operator_rings() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        await client.action("o", *originate_fields("Local/+79000000007@x", "Q", queue="sales"))
        await client.wait_event("Hangup", Uniqueid="Q")
        abandon = client.events("QueueCallerAbandon")[0]
        user_events = client.events("UserEvent")
        member_hangups = [
            m.get("Cause") for m in client.events("Hangup") if "operator-sim" in m.get("Channel")
        ]
    assert sequence(client, "Q") == [
        "QueueCallerJoin",
        "AgentCalled",
        "DialEnd CANCEL",
        "DialEnd CANCEL",
        "QueueCallerAbandon",
        "QueueCallerLeave",
    ]
    assert (abandon.get("Position"), abandon.get("OriginalPosition")) == ("1", "1")
    assert user_events == []  # Queue() never returned: the caller was gone
    assert member_hangups == ["0", "0"]
    assert pbx.calls["Q"].result == "abandoned"


async def test_queue_timeout_reports_timeout_through_a_user_event() -> None:
    timing = replace(FAST, operator_answer_delay=5.0)
    async with running_pbx(timing=timing, operators=1) as pbx, ami_client(pbx) as client:
        fields = originate_fields("Local/+79000000006@x", "Q", queue="sales", queue_timeout="0.05")
        await client.action("o", *fields)
        await client.wait_event("Hangup", Uniqueid="Q")
        result = client.events("UserEvent")[0]
        no_answer = client.events("AgentRingNoAnswer")[0]
    assert sequence(client, "Q") == [
        "QueueCallerJoin",
        "AgentCalled",
        "AgentRingNoAnswer",
        "DialEnd NOANSWER",
        "DialEnd CANCEL",
        "QueueCallerAbandon",
        "QueueCallerLeave",
        "UserEvent",
    ]
    assert [result.get(k) for k in ("UserEvent", "QueueStatus", "Attempt")] == [
        "DialerQueueResult",
        "TIMEOUT",
        "42",
    ]
    assert result.get("Privilege") == "user,all"
    assert int(no_answer.get("RingTime")) >= 40  # milliseconds
    record = pbx.calls["Q"]
    assert (record.result, record.queue_status) == ("abandoned", "TIMEOUT")


async def test_a_busy_operator_serves_the_next_caller_after_the_talk() -> None:
    async with running_pbx(operators=1) as pbx, ami_client(pbx) as client:
        for cid in ("Q1", "Q2"):
            await client.action(
                f"o-{cid}", *originate_fields("Local/+79000000006@x", cid, queue="s")
            )
        await client.wait_event("Hangup", Uniqueid="Q2", timeout=5)
        joins = {m.get("Uniqueid"): m.get("Position") for m in client.events("QueueCallerJoin")}
        connects = [m.get("Uniqueid") for m in client.events("AgentConnect")]
    assert joins["Q1"] == "1"  # Q2 joins second (position 2 unless Q1 was already served)
    assert connects == ["Q1", "Q2"]
    assert pbx.calls["Q1"].result == pbx.calls["Q2"].result == "transferred"


async def test_dialer_hangup_of_a_queued_caller_is_an_abandon() -> None:
    timing = replace(FAST, operator_answer_delay=5.0, abandon_patience=5.0)
    async with running_pbx(timing=timing) as pbx, ami_client(pbx) as client:
        await client.action("o", *originate_fields("Local/+79000000006@x", "Q", queue="sales"))
        await client.wait_event("AgentCalled")
        name = client.events("Newchannel")[0].get("Channel")
        await client.action("h", ("Action", "Hangup"), ("Channel", name), ("Cause", "16"))
        await client.wait_event("Hangup", Uniqueid="Q;2")
    assert "QueueCallerAbandon" in sequence(client, "Q")
    assert pbx.calls["Q"].result == "abandoned" and pbx.calls["Q"].cause == 16
