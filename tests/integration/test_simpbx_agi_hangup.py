"""Hangups during a FastAGI session of the simulated PBX, as fastagi-session.txt and a
real Asterisk 22.10.1 show them: the running command answers result=-1, an unsolicited
HANGUP line follows, channel commands get 511 while variables still work, and the
originated channel's Hangup event waits until the FastAGI server closes the socket."""

from __future__ import annotations

import asyncio
import time
import wave
from dataclasses import replace
from pathlib import Path

import pytest

from tests.integration.test_simpbx_agi_support import AgiConnection, fastagi_stub, ivr_originate
from tests.simpbx_helpers import FAST, AmiTestClient, ami_client, running_pbx
from tests.traces import segments, trace_path

TIMING = replace(FAST, prompt=0.2, keypress=0.02, record=0.3, silence_cap=0.3)
NUMBER = "+79000000000"
DEAD = "511 Command Not Permitted on a dead channel or intercept routine\n"


def channel_events(client: AmiTestClient, *names: str) -> list[tuple[str, str, str]]:
    return [
        (m.event, m.get("Uniqueid"), m.get("Cause"))
        for m in client.messages
        if m.event in names and m.get("Uniqueid") in ("X", "X;2")
    ]


async def test_hangup_mid_prompt_gives_minus_one_then_hangup_then_511() -> None:
    replies: list[tuple[float, str]] = []
    events_before_close: list[tuple[str, str, str]] = []

    async with (
        running_pbx(timing=TIMING, personas={NUMBER: "hangup_mid_prompt"}) as pbx,
        ami_client(pbx) as client,
    ):

        async def script(conn: AgiConnection) -> None:
            replies.append((time.monotonic(), await conn.command('STREAM FILE welcome ""')))
            replies.append((time.monotonic(), await conn.reply()))  # unsolicited
            for command in ('STREAM FILE beep ""', "GET VARIABLE DIALER_ATTEMPT", "NOOP"):
                replies.append((time.monotonic(), await conn.command(command)))
            assert await conn.silent_for(0.3), "Asterisk never closes the FastAGI socket"
            events_before_close.extend(
                channel_events(client, "SoftHangupRequest", "HangupRequest", "Hangup")
            )

        async with fastagi_stub(script) as stub:
            await client.action("o", *ivr_originate(NUMBER, "X", agi=stub.address))
            conn = await stub.wait_done()
            hangup = await client.wait_event("Hangup", Uniqueid="X")
            arrived = time.monotonic()
    texts = [text for _, text in replies]
    assert texts[0].startswith("200 result=-1 endpos=")
    assert 0 < int(texts[0].split("endpos=")[1]) < 0.2 * 8000  # cut off mid-prompt
    assert texts[1:] == ["HANGUP\n", DEAD, "200 result=1 (42)\n", "200 result=0\n"]
    assert replies[1][0] - replies[0][0] >= 0.03  # ~40 ms later, as in the trace
    # The far end is gone at once; the originated channel waits for the socket.
    assert events_before_close == [
        ("SoftHangupRequest", "X;2", "16"),
        ("HangupRequest", "X", "16"),
        ("Hangup", "X;2", "16"),
    ]
    assert conn.closed_at is not None and arrived >= conn.closed_at
    assert hangup.get("Cause") == "16"
    assert channel_events(client, "SoftHangupRequest", "Hangup")[-2:] == [
        ("SoftHangupRequest", "X", "16"),
        ("Hangup", "X", "16"),
    ]
    record = pbx.calls["X"]
    assert (record.agi_status, record.result, record.cause, record.other_cause) == (
        "HANGUP",
        "answered",
        16,
        16,
    )


def test_the_trace_shows_the_same_sequence() -> None:
    """The expectations above, read from the real recording."""
    agi = [s for s in segments(trace_path("fastagi-session.txt")) if s.connection == "agi"]
    received = [s.payload for s in agi if s.direction == "<"]
    hung = received.index(b"200 result=-1\n")
    assert received[hung + 1 : hung + 3] == [b"HANGUP\n", DEAD.encode()]
    times = [s.t for s in agi if s.direction == "<"]
    assert 0.03 < times[hung + 1] - times[hung] < 0.1


@pytest.mark.parametrize(
    ("command", "expected_prefix"),
    [
        ("GET DATA long-prompt 5000 4", "200 result=-1\n"),
        ("WAIT FOR DIGIT -1", "200 result=-1\n"),
        ('STREAM FILE long-prompt "1"', "200 result=-1 endpos="),
        ("EXEC Playback long-prompt", "200 result=-1\n"),
    ],
)
async def test_caller_hangup_during_each_kind_of_command(
    command: str, expected_prefix: str
) -> None:
    timing = replace(TIMING, early_hangup_after=0.1, prompt=1.0, silence_cap=None)
    async with (
        running_pbx(timing=timing, personas={NUMBER: "early_hangup"}) as pbx,
        ami_client(pbx) as client,
    ):
        replies: list[str] = []

        async def script(conn: AgiConnection) -> None:
            replies.append(await conn.command(command))
            replies.append(await conn.reply())

        async with fastagi_stub(script) as stub:
            await client.action("o", *ivr_originate(NUMBER, "X", agi=stub.address))
            await stub.wait_done()
            await client.wait_event("Hangup", Uniqueid="X")
    assert replies[0].startswith(expected_prefix)
    assert replies[1] == "HANGUP\n"
    assert pbx.calls["X"].agi_status == "HANGUP"


async def test_caller_hangup_during_record_file(tmp_path: Path) -> None:
    timing = replace(TIMING, early_hangup_after=0.1, record=1.0)
    async with (
        running_pbx(timing=timing, personas={NUMBER: "early_hangup"}) as pbx,
        ami_client(pbx) as client,
    ):
        replies: list[str] = []

        async def script(conn: AgiConnection) -> None:
            path = tmp_path / "answer"
            replies.append(await conn.command(f'RECORD FILE {path} wav "#" 5000 0 s=2'))
            replies.append(await conn.reply())

        async with fastagi_stub(script) as stub:
            await client.action("o", *ivr_originate(NUMBER, "X", agi=stub.address))
            await stub.wait_done()
            await client.wait_event("Hangup", Uniqueid="X")
    assert replies[0].startswith("200 result=-1 (hangup) endpos=")
    assert replies[1] == "HANGUP\n"
    assert pbx.calls["X"].agi_status == "HANGUP"
    # What was recorded before the hangup is kept, as a valid (silent) wav file.
    with wave.open(str(tmp_path / "answer.wav"), "rb") as audio:
        frames = audio.getnframes()
    assert 0 < frames == int(replies[0].rsplit("=", 1)[1])
    assert pbx.calls["X"].recordings == [tmp_path / "answer.wav"]


async def test_caller_hangup_between_commands_is_announced_at_once() -> None:
    timing = replace(TIMING, early_hangup_after=0.05)
    async with (
        running_pbx(timing=timing, personas={NUMBER: "early_hangup"}) as pbx,
        ami_client(pbx) as client,
    ):
        replies: list[str] = []

        async def script(conn: AgiConnection) -> None:
            replies.append(await conn.reply(timeout=2.0))  # the server sent nothing yet
            for command in (
                "ANSWER",
                "EXEC Playback beep",
                "GET FULL VARIABLE ${DIALER_ATTEMPT}-x",
            ):
                replies.append(await conn.command(command))
            replies.append(await conn.command("VERBOSE still-here 1"))
            replies.append(await conn.command('RECORD FILE /tmp/x wav "#" 1000'))

        async with fastagi_stub(script) as stub:
            await client.action("o", *ivr_originate(NUMBER, "X", agi=stub.address))
            await stub.wait_done()
            await client.wait_event("Hangup", Uniqueid="X")
    # Dead-channel commands (EXEC, GET FULL VARIABLE, VERBOSE) still run, like Asterisk.
    assert replies == [
        "HANGUP\n",
        DEAD,
        "200 result=0\n",
        "200 result=1 (42-x)\n",
        "200 result=1\n",
        DEAD,
    ]
    assert pbx.calls["X"].agi_status == "HANGUP"


async def test_agi_hangup_command_hangs_up_with_cause_zero_once_the_socket_closes() -> None:
    async with running_pbx(timing=TIMING) as pbx, ami_client(pbx) as client:
        replies: list[str] = []

        async def script(conn: AgiConnection) -> None:
            replies.append(await conn.command("HANGUP"))
            replies.append(await conn.reply())
            replies.append(await conn.command("NOOP"))
            replies.append(await conn.command("GET DATA beep"))
            await asyncio.sleep(0.1)
            assert channel_events(client, "SoftHangupRequest", "Hangup") == [
                ("SoftHangupRequest", "X", "32")  # AST_SOFTHANGUP_EXPLICIT, at once
            ]

        async with fastagi_stub(script) as stub:
            await client.action("o", *ivr_originate(NUMBER, "X", agi=stub.address))
            await stub.wait_done()
            await client.wait_event("Hangup", Uniqueid="X")
    assert replies == ["200 result=1\n", "HANGUP\n", "200 result=0\n", DEAD]
    # Seen on a real Asterisk: no hangup cause is set, so both halves report 0.
    assert channel_events(client, "SoftHangupRequest", "HangupRequest", "Hangup")[1:] == [
        ("SoftHangupRequest", "X", "16"),
        ("HangupRequest", "X;2", "0"),
        ("Hangup", "X", "0"),
        ("SoftHangupRequest", "X;2", "16"),
        ("Hangup", "X;2", "0"),
    ]
    assert (pbx.calls["X"].agi_status, pbx.calls["X"].result) == ("HANGUP", "answered")


async def test_dialer_hangup_action_during_the_ivr_waits_for_the_socket() -> None:
    async with running_pbx(timing=TIMING) as pbx, ami_client(pbx) as client:
        replies: list[str] = []

        async def script(conn: AgiConnection) -> None:
            replies.append(await conn.command("ANSWER"))
            reply = await client.action(
                "h", ("Action", "Hangup"), ("Channel", conn.env["agi_channel"])
            )
            replies.append(reply.get("Message"))
            replies.append(await conn.reply())
            await asyncio.sleep(0.05)
            assert not [e for e in channel_events(client, "Hangup") if e[1] == "X"]

        async with fastagi_stub(script) as stub:
            await client.action("o", *ivr_originate(NUMBER, "X", agi=stub.address))
            await stub.wait_done()
            hangup = await client.wait_event("Hangup", Uniqueid="X")
    assert replies == ["200 result=0\n", "Channel Hungup", "HANGUP\n"]
    assert hangup.get("Cause") == "0"  # the Hangup action without Cause: 0 (actions.txt)
    assert pbx.calls["X"].agi_status == "HANGUP"
