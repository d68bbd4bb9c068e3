"""Queue members of the simulated PBX over AMI: QueueAdd, QueueRemove and QueuePause with
the replies and events of a real Asterisk, and QueueStatus / QueueSummary listing them.

The expected replies, field names and field order were recorded from a real Asterisk
22.10.1 (the private-Asterisk fixture of tests/asterisk, user with write=all) and match
app_queue.c (manager_add_queue_member, manager_remove_queue_member,
manager_pause_queue_member, queue_member_blob_create).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Any

import pytest

from dialer.simpbx import SimulatedPbx
from tests.simpbx_helpers import FAST, AmiTestClient, Msg, ami_client, running_pbx

QUEUE = "dialer-operators"
OP3 = "Local/op3@dialer-test-operators/n"

# Every QueueMember* event (queue_member_blob_create), after Event/Privilege/Timestamp.
MEMBER_EVENT_FIELDS = [
    "Event",
    "Privilege",
    "Timestamp",
    "Queue",
    "MemberName",
    "Interface",
    "StateInterface",
    "Membership",
    "Penalty",
    "CallsTaken",
    "LastCall",
    "LastPause",
    "LoginTime",
    "InCall",
    "Status",
    "Paused",
    "PausedReason",
    "Ringinuse",
    "Wrapuptime",
]
QUEUE_MEMBER_ITEM_FIELDS = [
    "Event",
    "Queue",
    "Name",
    "Location",
    "StateInterface",
    "Membership",
    "Penalty",
    "CallsTaken",
    "LastCall",
    "LastPause",
    "LoginTime",
    "InCall",
    "Status",
    "Paused",
    "PausedReason",
    "Wrapuptime",
    "ActionID",
]


def operators_pbx(**overrides: Any) -> AbstractAsyncContextManager[SimulatedPbx]:
    """One queue, listed in SimConfig.queues, with no operator logged in at start."""
    settings: dict[str, Any] = {
        "queues": (QUEUE,),
        "operators": 0,
        "operator_context": "dialer-test-operators",
    }
    return running_pbx(**{**settings, **overrides})


def after(client: AmiTestClient, first: Msg) -> list[Msg]:
    return client.messages[client.messages.index(first) + 1 :]


async def test_queue_add_pause_remove_answer_and_announce_like_asterisk() -> None:
    async with operators_pbx() as pbx, ami_client(pbx) as client:
        add = await client.action(
            "add-1",
            ("Action", "QueueAdd"),
            ("Queue", QUEUE),
            ("Interface", OP3),
            ("MemberName", "Operator 3"),
            ("Paused", "false"),
            ("Penalty", "0"),
        )
        added = await client.wait_event("QueueMemberAdded")
        pause = await client.action(
            "pause-1",
            ("Action", "QueuePause"),
            ("Queue", QUEUE),
            ("Interface", OP3),
            ("Paused", "true"),
            ("Reason", "lunch"),
        )
        paused = await client.wait_event("QueueMemberPause", Paused="1")
        unpause = await client.action(
            "pause-2", ("Action", "QueuePause"), ("Interface", OP3), ("Paused", "false")
        )
        unpaused = await client.wait_event("QueueMemberPause", Paused="0")
        remove = await client.action(
            "rm-1", ("Action", "QueueRemove"), ("Queue", QUEUE), ("Interface", OP3)
        )
        removed = await client.wait_event("QueueMemberRemoved")
        assert pbx.members(QUEUE) == []

    assert add.fields == [
        ("Response", "Success"),
        ("ActionID", "add-1"),
        ("Message", "Added interface to queue"),
    ]
    assert pause.fields[2] == ("Message", "Interface paused successfully")
    assert unpause.fields[2] == ("Message", "Interface unpaused successfully")
    assert remove.fields[2] == ("Message", "Removed interface from queue")
    for event in (added, paused, unpaused, removed):
        assert event.names == MEMBER_EVENT_FIELDS
        assert event.get("Privilege") == "agent,all"
        assert (event.get("Queue"), event.get("Interface")) == (QUEUE, OP3)
        assert (event.get("MemberName"), event.get("Membership")) == ("Operator 3", "dynamic")
        assert (event.get("Status"), event.get("InCall"), event.get("Ringinuse")) == ("1", "0", "0")
    # The reply comes first, then the event (as the real Asterisk sends them).
    assert added in after(client, add) and removed in after(client, remove)
    assert (added.get("Paused"), added.get("LastPause"), added.get("PausedReason")) == (
        "0",
        "0",
        "",
    )
    assert (paused.get("PausedReason"), int(paused.get("LastPause")) > 0) == ("lunch", True)
    assert (unpaused.get("PausedReason"), unpaused.get("LastPause")) == (
        "",
        paused.get("LastPause"),
    )
    assert removed.get("Paused") == "0"
    assert client.events("QueueMemberStatus") == []  # pausing changes no device state


async def test_queue_add_paused_with_reason_penalty_and_wrapuptime() -> None:
    async with operators_pbx() as pbx, ami_client(pbx) as client:
        await client.action(
            "add-4",
            ("Action", "QueueAdd"),
            ("Queue", QUEUE),
            ("Interface", "Local/op4@dialer-test-operators/n"),
            ("MemberName", "Operator 4"),
            ("Paused", "true"),
            ("Reason", "break"),
            ("Penalty", "2"),
            ("Wrapuptime", "7"),
        )
        added = await client.wait_event("QueueMemberAdded")
        await client.action(
            "add-5", ("Action", "QueueAdd"), ("Queue", QUEUE), ("Interface", "Local/5@x/n")
        )
        nameless = await client.wait_event("QueueMemberAdded", Interface="Local/5@x/n")
        again = await client.action(
            "pause-again",
            ("Action", "QueuePause"),
            ("Queue", QUEUE),
            ("Interface", "Local/op4@dialer-test-operators/n"),
            ("Paused", "yes"),
        )
        await client.wait_event("QueueMemberPause")
        members = {m.interface: m for m in pbx.members(QUEUE)}
    assert [added.get(k) for k in ("Paused", "PausedReason", "Penalty", "Wrapuptime")] == [
        "1",
        "break",
        "2",
        "7",
    ]
    assert added.get("LastPause") == added.get("LoginTime") != "0"
    assert nameless.get("MemberName") == "Local/5@x/n"  # no MemberName: the interface
    assert again.get("Message") == "Interface paused successfully"  # and sent again
    op4 = members["Local/op4@dialer-test-operators/n"]
    assert (op4.state, op4.paused, op4.penalty, op4.wrapup) == ("paused", True, 2, 7.0)


async def test_queue_member_actions_refuse_with_the_messages_of_asterisk() -> None:
    async with operators_pbx(operators=1) as pbx, ami_client(pbx) as client:
        await client.action("add", ("Action", "QueueAdd"), ("Queue", QUEUE), ("Interface", OP3))
        static = "Local/op1@dialer-test-operators/n"
        cases = {
            "add-dup": [("Action", "QueueAdd"), ("Queue", QUEUE), ("Interface", OP3)],
            "add-noq": [("Action", "QueueAdd"), ("Queue", "nope"), ("Interface", OP3)],
            "add-noi": [("Action", "QueueAdd"), ("Queue", QUEUE)],
            "add-none": [("Action", "QueueAdd")],
            "rm-unknown": [("Action", "QueueRemove"), ("Queue", QUEUE), ("Interface", "X/1")],
            "rm-static": [("Action", "QueueRemove"), ("Queue", QUEUE), ("Interface", static)],
            "rm-noq": [("Action", "QueueRemove"), ("Queue", "nope"), ("Interface", OP3)],
            "rm-noi": [("Action", "QueueRemove"), ("Queue", QUEUE)],
            "pause-unk": [
                ("Action", "QueuePause"),
                ("Queue", QUEUE),
                ("Interface", "Local/op99@x/n"),
                ("Paused", "true"),
            ],
            "pause-noq": [
                ("Action", "QueuePause"),
                ("Queue", "nope"),
                ("Interface", OP3),
                ("Paused", "true"),
            ],
            "pause-nop": [("Action", "QueuePause"), ("Queue", QUEUE), ("Interface", OP3)],
        }
        replies = {aid: await client.action(aid, *fields) for aid, fields in cases.items()}
    assert {aid: (r.get("Response"), r.get("Message")) for aid, r in replies.items()} == {
        "add-dup": ("Error", "Unable to add interface: Already there"),
        "add-noq": ("Error", "Unable to add interface to queue: No such queue"),
        "add-noi": ("Error", "'Interface' not specified."),
        "add-none": ("Error", "'Queue' not specified."),
        "rm-unknown": ("Error", "Unable to remove interface: Not there"),
        "rm-static": ("Error", "Member not dynamic"),
        "rm-noq": ("Error", "Unable to remove interface from queue: No such queue"),
        "rm-noi": ("Error", "Need 'Queue' and 'Interface' parameters."),
        "pause-unk": ("Error", "Interface not found"),
        "pause-noq": ("Error", "Interface not found"),
        "pause-nop": ("Error", "Need 'Interface' and 'Paused' parameters."),
    }
    assert all(r.names == ["Response", "ActionID", "Message"] for r in replies.values())
    assert len(client.events("QueueMemberAdded")) == 1
    assert client.events("QueueMemberRemoved") == client.events("QueueMemberPause") == []


async def test_queue_status_and_summary_list_members_and_waiting_callers() -> None:
    async with operators_pbx() as pbx, ami_client(pbx) as client:
        op1, op2, op3 = pbx.login(QUEUE, 3)
        pbx.pause(QUEUE, op2, reason="training")
        pbx.set_unavailable(QUEUE, op3)
        status = await client.wait_event("QueueMemberStatus", Interface=op3)
        await client.action("qs", ("Action", "QueueStatus"), ("Queue", QUEUE))
        done = await client.wait_event("QueueStatusComplete")
        await client.action("qsum", ("Action", "QueueSummary"))
        await client.wait_event("QueueSummaryComplete")
        await client.action(
            "qs-op1", ("Action", "QueueStatus"), ("Queue", QUEUE), ("Member", "Operator 1")
        )
        filtered = await client.wait_event("QueueStatusComplete", ActionID="qs-op1")
    assert status.get("Status") == "5"  # AST_DEVICE_UNAVAILABLE
    items = [m for m in client.events("QueueMember") if m.get("ActionID") == "qs"]
    assert [m.names for m in items] == [QUEUE_MEMBER_ITEM_FIELDS] * 3
    assert [(m.get("Location"), m.get("Name")) for m in items] == [
        (op1, "Operator 1"),
        (op2, "Operator 2"),
        (op3, "Operator 3"),
    ]
    assert [(m.get("Status"), m.get("Paused"), m.get("PausedReason")) for m in items] == [
        ("1", "0", ""),
        ("1", "1", "training"),
        ("5", "0", ""),
    ]
    assert done.get("ListItems") == "4" and filtered.get("ListItems") == "2"
    params = client.events("QueueParams")[0]
    assert (params.get("Strategy"), params.get("ServicelevelPerf")) == ("leastrecent", "0.0")
    summary = client.events("QueueSummary")[0]
    # LoggedIn leaves out the unreachable op3; Available leaves out the paused op2.
    assert [summary.get(k) for k in ("Queue", "LoggedIn", "Available", "Callers")] == [
        QUEUE,
        "2",
        "1",
        "0",
    ]


async def test_an_unconfigured_queue_exists_once_named_unless_queues_are_listed() -> None:
    async with running_pbx(operators=2) as pbx, ami_client(pbx) as client:
        await client.action("qs", ("Action", "QueueStatus"), ("Queue", "sales"))
        await client.wait_event("QueueStatusComplete")
        assert [m.interface for m in pbx.members("Sales")] == [  # case-insensitive
            "Local/op1@operator-sim/n",
            "Local/op2@operator-sim/n",
        ]
    assert [m.get("Membership") for m in client.events("QueueMember")] == ["static"] * 2
    async with operators_pbx() as pbx, ami_client(pbx) as client:
        await client.action("qs", ("Action", "QueueStatus"), ("Queue", "sales"))
        done = await client.wait_event("QueueStatusComplete")
        with pytest.raises(ValueError, match="sales"):
            pbx.login("sales")
    assert done.get("ListItems") == "0"


async def test_a_member_without_a_local_device_is_invalid_and_never_rung() -> None:
    timing = replace(FAST, talk=0.05)
    async with operators_pbx(timing=timing) as pbx, ami_client(pbx) as client:
        await client.action(
            "add", ("Action", "QueueAdd"), ("Queue", QUEUE), ("Interface", "PJSIP/1001")
        )
        added = await client.wait_event("QueueMemberAdded")
        await client.action("qsum", ("Action", "QueueSummary"), ("Queue", QUEUE))
        summary = await client.wait_event("QueueSummary")
        assert pbx.members(QUEUE)[0].state == "unavailable"
    assert added.get("Status") == "4"  # AST_DEVICE_INVALID: no such channel driver here
    assert (summary.get("LoggedIn"), summary.get("Available")) == ("0", "0")
