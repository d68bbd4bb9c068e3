"""The simulated PBX as a FastAGI client, over real TCP against a tiny FastAGI server in
the test: the environment block and the replies follow fastagi-session.txt, keys and
recordings follow the persona, and a hangup is handled the way a real Asterisk 22 does
(result=-1, an unsolicited HANGUP, 511 afterwards, the socket left to the server)."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import replace

import pytest

from tests.integration.test_simpbx_agi_support import (
    AgiConnection,
    fastagi_stub,
    ivr_originate,
)
from tests.simpbx_helpers import FAST, ami_client, running_pbx
from tests.traces import segments, trace_path

TIMING = replace(FAST, prompt=0.08, keypress=0.02, record=0.06, silence_cap=0.05, amd=0.03)
NUMBER = "+79000000000"


def trace_agi() -> list[tuple[str, bytes]]:
    """(direction, payload) of the FastAGI connection in fastagi-session.txt."""
    path = trace_path("fastagi-session.txt")
    return [(s.direction, s.payload) for s in segments(path) if s.connection == "agi"]


def trace_reply(command: str) -> str:
    items = trace_agi()
    for (direction, payload), (_, answer) in itertools.pairwise(items):
        if direction == ">" and payload == command.encode() + b"\n":
            return answer.decode()
    raise AssertionError(f"{command!r} is not in the trace")


async def run_ivr(
    persona: str, script_steps: list[str], **pbx_settings: object
) -> tuple[AgiConnection, list[str]]:
    """Call NUMBER with `persona`, send the commands, return the connection and replies."""
    replies: list[str] = []

    async def script(conn: AgiConnection) -> None:
        for step in script_steps:
            replies.append(await conn.command(step))

    settings: dict[str, object] = {"timing": TIMING, "personas": {NUMBER: persona}}
    settings.update(pbx_settings)
    async with (
        running_pbx(**settings) as pbx,
        ami_client(pbx) as client,
        fastagi_stub(script) as stub,
    ):
        await client.action("o", *ivr_originate(NUMBER, "X", agi=stub.address))
        conn = await stub.wait_done()
        await client.wait_event("Hangup", Uniqueid="X")
    return conn, replies


# ---- the environment block -------------------------------------------------------------


async def test_environment_block_has_the_lines_of_a_real_asterisk_in_order() -> None:
    async with (
        running_pbx(timing=TIMING) as pbx,
        ami_client(pbx) as client,
        fastagi_stub(lambda conn: asyncio.sleep(0)) as stub,
    ):
        address = stub.address
        await client.action("o", *ivr_originate(NUMBER, "X", agi=address))
        conn = await stub.wait_done()
        await client.wait_event("Hangup", Uniqueid="X")
        channel = client.events("Newchannel")[0].get("Channel")
    real = trace_agi()[0][1].decode()  # the first thing Asterisk sent
    real_keys = [line.split(": ")[0] for line in real.splitlines() if line]
    assert list(conn.env) == real_keys
    assert conn.env_raw.endswith(
        b"agi_accountcode: \nagi_threadid: " + conn.env["agi_threadid"].encode() + b"\n\n"
    )
    assert conn.env["agi_threadid"].isdigit()
    expected = {
        "agi_network": "yes",
        "agi_network_script": "ivr?attempt=42",
        "agi_request": f"agi://{address}/ivr?attempt=42",
        "agi_channel": channel,
        "agi_language": "en",
        "agi_type": "Local",
        "agi_uniqueid": "X",
        "agi_version": "22.10.1",
        "agi_callerid": "+79123456789",
        "agi_calleridname": "Иван Петров",
        "agi_dnid": "unknown",
        "agi_rdnis": "unknown",
        "agi_context": "dialer-answered",
        "agi_extension": "s",
        "agi_priority": "9",  # the AGI() line of [dialer-answered] (checked on a real one)
        "agi_enhanced": "0.0",
        "agi_accountcode": "",
    }
    assert {k: conn.env[k] for k in expected} == expected
    assert channel.endswith(";1")
    assert "agi_calleridname: Иван Петров\n".encode() in conn.env_raw  # raw UTF-8


async def test_environment_of_a_trunk_call_names_the_technology() -> None:
    async with (
        running_pbx(timing=TIMING) as pbx,
        ami_client(pbx) as client,
        fastagi_stub(lambda conn: asyncio.sleep(0)) as stub,
    ):
        fields = ivr_originate(NUMBER, "T", agi=stub.address, dial="PJSIP/{number}@trunk")
        await client.action("o", *fields)
        conn = await stub.wait_done()
        await client.wait_event("Hangup", Uniqueid="T")
    assert conn.env["agi_type"] == "PJSIP"
    assert conn.env["agi_channel"].startswith("PJSIP/trunk-")


# ---- replies ---------------------------------------------------------------------------


async def test_replies_have_the_format_of_the_trace() -> None:
    steps = [
        "ANSWER",
        "GET VARIABLE DIALER_ATTEMPT",
        "SET VARIABLE DIALER_RESULT warm",
        "GET VARIABLE DIALER_RESULT",
        "GET VARIABLE NO_SUCH_VARIABLE",
        'STREAM FILE beep "0123456789*#"',
        'SAY NUMBER 42 ""',
        'SAY DIGITS 42 "#"',
        "EXEC Playback beep",
        "FOO BAR",
        "STREAM FILE",
        "SET VARIABLE ONLY_NAME",
        "WAIT FOR DIGIT 3000",
        "GET DATA beep 3000 2",
        "NOOP",
    ]
    _, replies = await run_ivr("silent", steps)
    got = dict(zip(steps, replies, strict=True))
    for command in ("ANSWER", "SET VARIABLE DIALER_RESULT warm", "EXEC Playback beep"):
        assert got[command] == trace_reply(command)
    for command in ("FOO BAR", "STREAM FILE"):  # byte for byte, the 520 usage text too
        assert got[command] == trace_reply(command)
    assert got["GET VARIABLE DIALER_ATTEMPT"] == "200 result=1 (42)\n"
    assert got["GET VARIABLE DIALER_RESULT"] == "200 result=1 (warm)\n"
    assert got["GET VARIABLE NO_SUCH_VARIABLE"] == "200 result=0\n"
    assert got['STREAM FILE beep "0123456789*#"'] == "200 result=0 endpos=640\n"
    assert got['SAY NUMBER 42 ""'] == got['SAY DIGITS 42 "#"'] == "200 result=0\n"
    assert got["SET VARIABLE ONLY_NAME"].startswith("520-Invalid command syntax.")
    assert got["SET VARIABLE ONLY_NAME"].endswith("\n520 End of proper usage.\n")
    assert got["WAIT FOR DIGIT 3000"] == "200 result=0\n"
    assert got["GET DATA beep 3000 2"] == "200 result= (timeout)\n"
    assert got["NOOP"] == "200 result=0\n"


async def test_commands_are_case_insensitive_and_quotes_group_words() -> None:
    steps = ['set variable GREETING "hello world"', "get variable GREETING", "exec playback beep"]
    _, replies = await run_ivr("silent", steps)
    assert replies == ["200 result=1\n", "200 result=1 (hello world)\n", "200 result=0\n"]


# ---- keys ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "steps", "expected", "dtmf"),
    [
        ("press:1", ['STREAM FILE menu "0123456789"'], ["200 result=49 endpos=160\n"], "1"),
        (
            "press:2,9",
            ["WAIT FOR DIGIT 1000", "GET DATA menu 1000 1"],
            ["200 result=50\n", "200 result=9\n"],
            "29",
        ),
        ("press:10#", ["GET DATA menu 1000 5"], ["200 result=10\n"], "10#"),
        ("press:12", ["GET DATA menu 1000 5"], ["200 result=12 (timeout)\n"], "12"),
        ("press:#", ["GET DATA menu 1000 5"], ["200 result=\n"], "#"),
        (  # max digits reached: the rest of the answer goes to the next read
            "press:345",
            ["GET DATA menu 1000 2", "WAIT FOR DIGIT 100"],
            ["200 result=34\n", "200 result=53\n"],
            "345",
        ),
        (  # a key the prompt does not accept waits for the next read
            "press:7",
            ['STREAM FILE intro "12"', "WAIT FOR DIGIT 1000"],
            ["200 result=0 endpos=640\n", "200 result=55\n"],
            "7",
        ),
        (  # a key that stops the prompt, then GET DATA reads the rest of the same answer
            "press:42#",
            ['STREAM FILE menu "0123456789"', "GET DATA more 1000 5"],
            ["200 result=52 endpos=160\n", "200 result=2\n"],
            "42#",
        ),
        ("answer", ["WAIT FOR DIGIT 1000"], ["200 result=0\n"], ""),  # silent in an IVR
    ],
)
async def test_keys_follow_the_persona(
    persona: str, steps: list[str], expected: list[str], dtmf: str
) -> None:
    async with (
        running_pbx(timing=TIMING, personas={NUMBER: persona}) as pbx,
        ami_client(pbx) as client,
    ):
        replies: list[str] = []

        async def script(conn: AgiConnection) -> None:
            for step in steps:
                replies.append(await conn.command(step))

        async with fastagi_stub(script) as stub:
            await client.action("o", *ivr_originate(NUMBER, "X", agi=stub.address))
            await stub.wait_done()
            await client.wait_event("Hangup", Uniqueid="X")
    assert replies == expected
    assert pbx.calls["X"].dtmf == dtmf


async def test_pressed_keys_show_as_dtmf_events_on_the_first_channel() -> None:
    classes = frozenset({"system", "call", "agent", "user", "dtmf"})
    async with (
        running_pbx(timing=TIMING, personas={NUMBER: "press:5"}, read_classes=classes) as pbx,
        ami_client(pbx) as client,
    ):

        async def script(conn: AgiConnection) -> None:
            await conn.command("WAIT FOR DIGIT 1000")

        async with fastagi_stub(script) as stub:
            await client.action("o", *ivr_originate(NUMBER, "X", agi=stub.address))
            await stub.wait_done()
            await client.wait_event("Hangup", Uniqueid="X")
    begin, end = client.events("DTMFBegin"), client.events("DTMFEnd")
    assert [(m.get("Uniqueid"), m.get("Digit"), m.get("Direction")) for m in begin] == [
        ("X", "5", "Received")
    ]
    assert [(m.get("Digit"), m.get("DurationMs")) for m in end] == [("5", "100")]


# ---- after the IVR: the socket, the queue, the Hangup ----------------------------------


async def test_socket_stays_open_until_the_server_closes_it_then_the_call_hangs_up() -> None:
    async with (
        running_pbx(timing=TIMING) as pbx,
        ami_client(pbx) as client,
    ):

        async def script(conn: AgiConnection) -> None:
            await conn.command("ANSWER")
            assert await conn.silent_for(0.3), "the PBX must wait for the server"
            assert not client.events("Hangup"), "no Hangup while the script runs"

        async with fastagi_stub(script) as stub:
            await client.action("o", *ivr_originate(NUMBER, "X", agi=stub.address))
            conn = await stub.wait_done()
            hangup = await client.wait_event("Hangup", Uniqueid="X")
            arrived = time.monotonic()
    assert conn.closed_at is not None and arrived >= conn.closed_at
    assert hangup.get("Cause") == "16"
    assert (pbx.calls["X"].agi_status, pbx.calls["X"].result) == ("SUCCESS", "answered")


async def test_set_variable_dialer_queue_sends_the_call_to_the_queue_after_the_ivr() -> None:
    async with (
        running_pbx(timing=TIMING) as pbx,
        ami_client(pbx) as client,
    ):

        async def script(conn: AgiConnection) -> None:
            await conn.command("SET VARIABLE DIALER_QUEUE dialer-operators")
            await conn.command("SET VARIABLE DIALER_QUEUE_TIMEOUT 20")
            await asyncio.sleep(0.05)
            assert not client.events("QueueCallerJoin"), "the queue waits for the close"

        async with fastagi_stub(script) as stub:
            await client.action("o", *ivr_originate(NUMBER, "X", agi=stub.address))
            await stub.wait_done()
            join = await client.wait_event("QueueCallerJoin", Uniqueid="X")
            await client.wait_event("AgentConnect", Uniqueid="X")
            await client.wait_event("Hangup", Uniqueid="X")
    assert join.get("Queue") == "dialer-operators"
    record = pbx.calls["X"]
    assert (record.result, record.queue, record.agi_status) == (
        "transferred",
        "dialer-operators",
        "SUCCESS",
    )


async def test_unreachable_fastagi_server_fails_the_agi_and_the_dialplan_goes_on() -> None:
    async with fastagi_stub(lambda conn: asyncio.sleep(0)) as stub:
        closed = stub.address
    async with (
        running_pbx(timing=TIMING) as pbx,
        ami_client(pbx) as client,
    ):
        await client.action("o", *ivr_originate(NUMBER, "X", agi=closed))
        await client.action("o2", *ivr_originate(NUMBER, "Q", agi=closed, queue="sales"))
        hangup = await client.wait_event("Hangup", Uniqueid="X")
        await client.wait_event("QueueCallerJoin", Uniqueid="Q")
    assert hangup.get("Cause") == "16"
    assert (pbx.calls["X"].agi_status, pbx.calls["X"].result) == ("FAILURE", "answered")
    assert pbx.calls["Q"].agi_status == "FAILURE"
