"""The simulated PBX as an AMI server over real sockets: login, actions, lists, link faults.

Where the trace files hold the exact bytes of a reply, the test sends the same ActionID
and compares bytes.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import pytest

from dialer.simpbx import SimConfig, serve_forever
from tests.simpbx_helpers import (
    CALLER_ID,
    FAST,
    AmiTestClient,
    ami_client,
    originate_fields,
    running_pbx,
    trace_files,
    wait_call_over,
)
from tests.traces import TRACES_DIR, segments

LOCAL = "Local/{}@dialer-test-callees"


def trace_reply(action_id: str, connection: str = "ami") -> bytes:
    """The bytes Asterisk answered to `action_id` in actions.txt."""
    trace_files()  # skips when the traces are absent
    for seg in segments(TRACES_DIR / "actions.txt"):
        marker = f"ActionID: {action_id}\r\n".encode()
        ours = seg.direction == "<" and seg.connection == connection
        if ours and seg.payload.startswith(b"Response") and marker in seg.payload:
            return seg.payload
    raise AssertionError(f"no reply to {action_id} in actions.txt")


async def test_banner_login_and_fullybooted_match_asterisk() -> None:
    async with running_pbx() as pbx:
        client = await AmiTestClient.connect(pbx.port)
        reply = await client.login()
        booted = await client.wait_event("FullyBooted")
        await client.close()
    # Asterisk's banner, plus a label a person reading the socket cannot miss.
    assert client.banner == b"Asterisk Call Manager/11.0.0 (SIMULATED PBX)\r\n"
    assert (
        reply.raw
        == b"Response: Success\r\nActionID: login-1\r\nMessage: Authentication accepted\r\n\r\n"
    )
    assert booted.names == ["Event", "Privilege", "Uptime", "LastReload", "Status"]
    assert booted.get("Privilege") == "system,all"


async def test_given_wrong_secret_when_login_then_error_then_connection_closed() -> None:
    async with running_pbx() as pbx:
        client = await AmiTestClient.connect(pbx.port)
        reply = await client.action(
            "login-bad", ("Action", "Login"), ("Username", "dialer"), ("Secret", "wrong-secret")
        )
        await asyncio.wait_for(client.closed.wait(), 2)
        await client.close()
    assert reply.raw == trace_reply("login-bad", "ami-badlogin")


async def test_given_no_login_when_action_then_permission_denied_and_link_stays_open() -> None:
    async with running_pbx() as pbx, ami_client(pbx, login=False) as client:
        ping = await client.action("ping-nologin", ("Action", "Ping"))
        csc = await client.action("csc-nologin", ("Action", "CoreShowChannels"))
        assert not client.closed.is_set()
        assert (await client.login()).get("Response") == "Success"
    assert ping.raw == trace_reply("ping-nologin", "ami-nologin")
    assert csc.raw == trace_reply("csc-nologin", "ami-nologin")


async def test_ping_unknown_action_and_logoff() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        ping = await client.action("ping-1", ("Action", "Ping"))
        unknown = await client.action("unknown-1", ("Action", "FooBar"))
        bye = await client.action("logoff-1", ("Action", "Logoff"))
        await asyncio.wait_for(client.closed.wait(), 2)
    assert ping.names == ["Response", "ActionID", "Ping", "Timestamp"]
    assert re.fullmatch(r"\d+\.\d{6}", ping.get("Timestamp"))
    assert unknown.raw == trace_reply("unknown-1")
    assert (
        bye.raw
        == b"Response: Goodbye\r\nActionID: logoff-1\r\nMessage: Thanks for all the fish.\r\n\r\n"
    )


async def test_given_unknown_technology_then_reason_0_and_unknown_uniqueid() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        fields = [
            f for f in originate_fields("Foo/100", "") if f[0] not in ("Variable", "ChannelId")
        ]
        queued = await client.action("orig-badtech-async", *fields)
        event = await client.wait_event("OriginateResponse")
        sync = [f for f in fields if f[0] != "Async"]
        failed = await client.action("orig-badtech-sync", *sync)
        assert client.events("Newchannel") == []
    assert queued.get("Message") == "Originate successfully queued"
    assert [(k, v) for k, v in event.fields if k != "Timestamp"] == [
        ("Event", "OriginateResponse"),
        ("Privilege", "call,all"),
        ("ActionID", "orig-badtech-async"),
        ("Response", "Failure"),
        ("Channel", "Foo/100"),
        ("Context", "dialer-answered"),
        ("Exten", "s"),
        ("Reason", "0"),
        ("Uniqueid", "<unknown>"),
        ("CallerIDNum", "+79123456789"),
        ("CallerIDName", "Иван Петров"),
    ]
    assert failed.raw == trace_reply("orig-badtech-sync")


async def test_given_no_async_when_originate_then_reply_waits_for_the_outcome() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        client.send(
            ("Action", "Originate"),
            ("ActionID", "sync-ok"),
            *originate_fields(LOCAL.format("+79000000000"), "S1", is_async=False)[1:],
        )
        client.send(("Action", "Ping"), ("ActionID", "after-sync"))
        await client.wait_for(lambda: client.response("after-sync") is not None)
        ok = client.response("sync-ok")
        assert ok is not None and ok.get("Message") == "Originate successfully queued"
        order = [m for m in client.messages if m.get("ActionID") in ("sync-ok", "after-sync")]
        first_event = next(i for i, m in enumerate(client.messages) if m.get("Uniqueid") == "S1")
        assert client.messages.index(ok) < first_event  # events held until the reply
        busy = await client.action(
            "sync-busy", *originate_fields(LOCAL.format("+79000000001"), "S2", is_async=False)
        )
        await client.wait_event("Hangup", Uniqueid="S1")
        assert client.events("OriginateResponse") == []
    assert [m.get("ActionID") for m in order] == ["sync-ok", "after-sync"]
    assert busy.get("Response") == "Error" and busy.get("Message") == "Originate failed"
    assert pbx.originates[0].is_async is False


async def test_hangup_action_replies_then_hangs_up_both_halves_with_the_cause() -> None:
    timing = replace(FAST, ring=0.01, message=5.0)
    async with running_pbx(timing=timing) as pbx, ami_client(pbx) as client:
        for cid in ("H1", "H2"):
            await client.action(f"o-{cid}", *originate_fields(LOCAL.format("+79000000000"), cid))
            await client.wait_event("OriginateResponse", Uniqueid=cid)
        name = (await client.wait_event("Newchannel", Uniqueid="H1")).get("Channel")
        plain = await client.action("hangup-1", ("Action", "Hangup"), ("Channel", name))
        await client.wait_event("Hangup", Uniqueid="H1;2")
        name2 = (await client.wait_event("Newchannel", Uniqueid="H2")).get("Channel")
        await client.action("hangup-3", ("Action", "Hangup"), ("Channel", name2), ("Cause", "16"))
        await client.wait_event("Hangup", Uniqueid="H2;2")
        missing = await client.action(
            "hangup-2", ("Action", "Hangup"), ("Channel", "Local/100@nowhere-00000000;1")
        )
        hangups = {m.get("Uniqueid"): m.get("Cause") for m in client.events("Hangup")}
    assert plain.raw == trace_reply("hangup-1")
    assert missing.raw == trace_reply("hangup-2")
    assert hangups == {"H1": "0", "H1;2": "0", "H2": "16", "H2;2": "16"}
    assert pbx.calls["H1"].result == "answered"


async def test_core_show_channels_lists_live_calls_with_their_uniqueids() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        for cid in ("C1", "C2"):
            await client.action(f"o-{cid}", *originate_fields(LOCAL.format("+79000000002"), cid))
        await client.action("o-C3", *originate_fields("PJSIP/+79000000002@trunk", "C3"))
        await client.wait_event("DialState", DestUniqueid="C3")
        reply = await client.action("csc-1", ("Action", "CoreShowChannels"))
        done = await client.wait_event("CoreShowChannelsComplete")
        items = client.events("CoreShowChannel")
    assert reply.names == ["Response", "ActionID", "EventList", "Message"]
    assert reply.get("Message") == "Channels will follow"
    assert sorted(m.get("Uniqueid") for m in items) == ["C1", "C1;2", "C2", "C2;2", "C3"]
    assert all(m.get("ActionID") == "csc-1" for m in items)
    assert done.get("ListItems") == "5" and done.get("EventList") == "Complete"
    trunk = next(m for m in items if m.get("Uniqueid") == "C3")
    assert trunk.get("Channel").startswith("PJSIP/trunk-")


async def test_queue_status_and_summary_are_well_formed_lists() -> None:
    timing = replace(FAST, ring=0.01, message=0.01, operator_answer_delay=5.0)
    async with running_pbx(timing=timing, operators=1) as pbx, ami_client(pbx) as client:
        for cid in ("Q1", "Q2"):
            await client.action(
                f"o-{cid}", *originate_fields(LOCAL.format("+79000000006"), cid, queue="sales")
            )
            await client.wait_event("QueueCallerJoin", Uniqueid=cid)
        await client.action("qstatus-1", ("Action", "QueueStatus"))
        await client.wait_event("QueueStatusComplete")
        await client.action("qsummary-1", ("Action", "QueueSummary"))
        summary_done = await client.wait_event("QueueSummaryComplete")
        status_done = client.events("QueueStatusComplete")[0]
        entries = client.events("QueueEntry")
        members = client.events("QueueMember")
        summary = client.events("QueueSummary")[0]
    assert [e.get("Uniqueid") for e in entries] == ["Q1", "Q2"]
    assert [e.get("Position") for e in entries] == ["1", "2"]
    assert members[0].get("Status") == "2"  # ringing for Q1
    assert status_done.get("ListItems") == "4"  # params + 1 member + 2 entries
    assert summary.get("Callers") == "2" and summary_done.get("ListItems") == "1"


async def test_drop_connections_closes_sockets_while_calls_go_on() -> None:
    timing = replace(FAST, ring=0.01, message=0.2)
    async with running_pbx(timing=timing) as pbx:
        first = await AmiTestClient.connect(pbx.port)
        await first.login()
        await first.action("o-D1", *originate_fields(LOCAL.format("+79000000000"), "D1"))
        await first.wait_event("OriginateResponse", Uniqueid="D1")
        pbx.drop_connections()
        await asyncio.wait_for(first.closed.wait(), 2)
        await first.close()
        assert pbx.calls["D1"].result is None  # still playing the message
        async with ami_client(pbx) as second:
            hangup = await second.wait_event("Hangup", Uniqueid="D1")
    assert hangup.get("Cause") == "16"
    assert pbx.calls["D1"].result == "answered"


async def test_freeze_keeps_the_socket_open_but_silent() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        pbx.freeze()
        client.send(("Action", "Ping"), ("ActionID", "frozen-ping"))
        await asyncio.sleep(0.1)
        assert client.response("frozen-ping") is None and not client.closed.is_set()
        pbx.freeze(False)
        await client.wait_for(lambda: client.response("frozen-ping") is not None)


async def test_events_off_at_login_and_read_classes_filter_events() -> None:
    async with running_pbx(read_classes=frozenset({"call"})) as pbx:
        quiet = await AmiTestClient.connect(pbx.port)
        await quiet.action(
            "l",
            ("Action", "Login"),
            ("Username", "dialer"),
            ("Secret", "dialer"),
            ("Events", "off"),
        )
        async with ami_client(pbx) as client:
            await client.action(
                "o", *originate_fields(LOCAL.format("+79000000006"), "E1", queue="q")
            )
            await client.wait_event("Hangup", Uniqueid="E1", timeout=5)
            names = {m.event for m in client.events()}
        await quiet.close()
    assert quiet.events() == []
    assert "FullyBooted" not in names and "QueueCallerJoin" not in names
    assert "OriginateResponse" in names


async def test_cyrillic_caller_name_arrives_as_raw_utf8() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        await client.action("o", *originate_fields(LOCAL.format("+79000000001"), "U1"))
        await wait_call_over(client, "U1")
        raw = b"".join(m.raw for m in client.events("NewCallerid"))
    assert "CallerIDName: Иван Петров\r\n".encode() in raw
    assert CALLER_ID == '"Иван Петров" <+79123456789>'
    assert pbx.describe().startswith("SIMULATED PBX")


async def test_hangup_action_while_ringing_ends_the_dial_as_a_failure() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        await client.action("o", *originate_fields(LOCAL.format("+79000000002"), "R1"))
        ringing = await client.wait_event("DialState", DestUniqueid="R1")
        await client.action("h", ("Action", "Hangup"), ("Channel", ringing.get("DestChannel")))
        await wait_call_over(client, "R1")
        origin = client.events("OriginateResponse")[0]
    assert (origin.get("Response"), origin.get("Reason")) == ("Failure", "0")
    assert pbx.calls["R1"].result == "no_answer" and pbx.calls["R1"].cause == 0


async def test_stop_is_idempotent_and_leaves_unfinished_calls_without_result() -> None:
    async with running_pbx() as pbx, ami_client(pbx) as client:
        await client.action("o", *originate_fields(LOCAL.format("+79000000002"), "S1"))
        await client.wait_event("DialState", DestUniqueid="S1")
        await pbx.stop()
        await pbx.stop()
        await asyncio.wait_for(client.closed.wait(), 2)
    assert pbx.calls["S1"].result is None


async def test_serve_forever_listens_until_cancelled() -> None:
    task = asyncio.create_task(serve_forever(SimConfig(port=0)))
    await asyncio.sleep(0.05)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
