"""Every message the simulated PBX sends has the field names, in the same order, as the
same message type in the recordings of a real Asterisk 22 (values are not compared)."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import replace

import pytest

from tests.simpbx_helpers import (
    FAST,
    AmiTestClient,
    Msg,
    ami_client,
    originate_fields,
    running_pbx,
    trace_files,
    trace_messages,
    wait_call_over,
)

# The scenario below must make the simulator send each of these at least once.
EXPECTED_EVENTS = {
    "FullyBooted",
    "Newchannel",
    "NewCallerid",
    "NewConnectedLine",
    "Newstate",
    "LocalBridge",
    "DialBegin",
    "DialState",
    "DialEnd",
    "HangupRequest",
    "SoftHangupRequest",
    "Hangup",
    "OriginateResponse",
    "MusicOnHoldStart",
    "MusicOnHoldStop",
    "BridgeCreate",
    "BridgeEnter",
    "BridgeLeave",
    "BridgeDestroy",
    "QueueCallerJoin",
    "QueueCallerLeave",
    "QueueCallerAbandon",
    "AgentCalled",
    "AgentConnect",
    "AgentComplete",
    "AgentRingNoAnswer",
    "QueueMemberStatus",
    "UserEvent",
    "CoreShowChannel",
    "CoreShowChannelsComplete",
    "QueueParams",
    "QueueMember",
    "QueueEntry",
    "QueueStatusComplete",
    "QueueSummary",
    "QueueSummaryComplete",
}


class TraceShapes:
    """Field-name sequences per message type, and the Privilege of each event type."""

    def __init__(self) -> None:
        self.shapes: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        self.privilege: dict[str, str] = {}
        for path in trace_files():
            for msg in trace_messages(path):
                key = self.key(msg)
                self.shapes[key].add(tuple(msg.names))
                if msg.event and msg.get("Privilege"):
                    self.privilege[msg.event] = msg.get("Privilege")

    @staticmethod
    def key(msg: Msg) -> str:
        return f"Event: {msg.event}" if msg.event else f"Response: {msg.get('Response')}"


@pytest.fixture(scope="module")
def traces() -> TraceShapes:
    return TraceShapes()


async def run_everything(client: AmiTestClient) -> None:
    """Drive every call flow and list action once."""
    await client.action("ping-1", ("Action", "Ping"))
    await client.action("unknown-1", ("Action", "FooBar"))
    local = "Local/{}@dialer-test-callees"
    flows = [
        (local.format("+79000000000"), "A0", "sales"),  # answered, queued, caller ends
        (local.format("+79000000006"), "A6", "sales"),  # operator ends the talk
        (local.format("+79000000007"), "A7", "sales"),  # abandons while ringing
        (local.format("+79000000001"), "A1", ""),
        (local.format("+79000000002"), "A2", ""),
        (local.format("+79000000003"), "A3", ""),
        (local.format("+79000000004"), "A4", ""),
        (local.format("+79000000005"), "A5", ""),
        ("PJSIP/+79000000001@trunk", "P1", ""),
        ("PJSIP/+79000000000@trunk", "P0", ""),
    ]
    for dial, cid, queue in flows:
        await client.action(f"o-{cid}", *originate_fields(dial, cid, queue=queue, timeout_ms=200))
    await client.wait_event("QueueCallerJoin")
    await client.action("csc-1", ("Action", "CoreShowChannels"))
    await client.action("qstatus-1", ("Action", "QueueStatus"))
    await client.action("qsummary-1", ("Action", "QueueSummary"))
    for dial, cid, _ in flows:
        await wait_call_over(client, cid, local=dial.startswith("Local/"))
    await client.wait_event("AgentComplete", Reason="agent")
    await client.wait_event("AgentComplete", Reason="caller")


async def run_queue_timeout(client: AmiTestClient) -> None:
    fields = originate_fields("Local/+79000000006@x", "T6", queue="slow", queue_timeout="0.03")
    await client.action("o-T6", *fields)
    await client.wait_event("UserEvent", QueueStatus="TIMEOUT")
    await client.wait_event("Hangup", Uniqueid="T6;2")


async def test_every_message_has_the_field_order_of_real_asterisk(traces: TraceShapes) -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        await run_everything(client)
    slow_operators = replace(FAST, operator_answer_delay=5.0)
    async with running_pbx(timing=slow_operators) as pbx, ami_client(pbx) as timeout_client:
        await run_queue_timeout(timeout_client)
    messages = client.messages + timeout_client.messages

    sent = {m.event for m in messages if m.event}
    assert sent >= EXPECTED_EVENTS, f"scenario no longer covers {EXPECTED_EVENTS - sent}"
    for msg in messages:
        key = TraceShapes.key(msg)
        assert key in traces.shapes, f"{key} never appears in the traces"
        assert tuple(msg.names) in traces.shapes[key], f"{key} fields differ: {msg.names}"
        if msg.event in traces.privilege:
            assert msg.get("Privilege") == traces.privilege[msg.event], key
        if "Timestamp" in msg.names:
            assert re.fullmatch(r"\d{10}\.\d{6}", msg.get("Timestamp")), msg
