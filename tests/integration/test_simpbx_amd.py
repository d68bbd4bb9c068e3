"""Answering-machine detection in the simulated PBX: with DIALER_AMD=1 the dialplan's
`UserEvent DialerAMD` arrives about SimTiming.amd after the answer, laid out like the
AMDResult UserEvent of amd-human.txt / amd-machine.txt; a machine gets the voicemail
message or an immediate hangup, never the IVR or the queue."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from dialer.simpbx import SimulatedPbx
from tests.integration.test_simpbx_agi_support import AgiConnection, fastagi_stub, ivr_originate
from tests.simpbx_helpers import FAST, AmiTestClient, Msg, ami_client, running_pbx, trace_messages
from tests.traces import trace_path

TIMING = replace(FAST, amd=0.15, message=0.1, prompt=0.02, silence_cap=0.02)
# What each stands for on a real Asterisk 22 (tests/asterisk/test_amd_lines_real.py):
PERSONAS = {
    "+79000000010": "answer",  # a Local callee that sends no frames: NOTSURE TOOLONG
    "+79000000011": "machine",  # a recorded greeting: MACHINE MAXWORDS
    "+79000000012": "silent",  # a real line nobody speaks on: MACHINE INITIALSILENCE
    "+79000000013": "press:1",  # a person who says "hello": HUMAN
}


def trace_user_event(name: str) -> Msg:
    for msg in trace_messages(trace_path(name)):
        if msg.event == "UserEvent" and msg.get("UserEvent") == "AMDResult":
            return msg
    raise AssertionError(f"no AMDResult UserEvent in {name}")


async def amd_call(
    number: str, channel_id: str = "X", *, extra: str = "", agi: str = "", queue: str = ""
) -> tuple[SimulatedPbx, AmiTestClient, Msg | None]:
    """Place one call with DIALER_AMD=1 and return the DialerAMD UserEvent (if any)."""
    async with running_pbx(timing=TIMING, personas=PERSONAS) as pbx, ami_client(pbx) as client:
        fields = ivr_originate(number, channel_id, amd=True, extra=extra, agi=agi, queue=queue)
        await client.action("o", *fields)
        await client.wait_event("Hangup", timeout=5.0, Uniqueid=channel_id)
        found = [m for m in client.events("UserEvent") if m.get("UserEvent") == "DialerAMD"]
    return pbx, client, (found[0] if found else None)


@pytest.mark.parametrize("trace", ["amd-human.txt", "amd-machine.txt"])
async def test_dialer_amd_user_event_has_the_layout_of_the_real_one(trace: str) -> None:
    _, _, event = await amd_call("+79000000010")
    assert event is not None
    assert event.names == trace_user_event(trace).names
    assert event.get("Privilege") == "user,all"


async def test_a_person_is_human_after_the_amd_time_then_hears_the_message() -> None:
    started = time.monotonic()
    async with running_pbx(timing=TIMING, personas=PERSONAS) as pbx, ami_client(pbx) as client:
        await client.action("o", *ivr_originate("+79000000013", "X", amd=True))
        answered = await client.wait_event("Newstate", Uniqueid="X", ChannelStateDesc="Up")
        up_at = time.monotonic()
        event = await client.wait_event("UserEvent", UserEvent="DialerAMD")
        amd_at = time.monotonic()
        await client.wait_event("Hangup", Uniqueid="X")
        hangup_at = time.monotonic()
    assert answered and up_at - started < 1
    assert 0.1 < amd_at - up_at < 0.5  # SimTiming.amd = 0.15
    assert hangup_at - amd_at >= 0.08  # then DIALER_MESSAGE (0.1 s)
    fields = {k: event.get(k) for k in ("AMDStatus", "AMDCause", "Attempt", "Uniqueid")}
    assert fields == {
        "AMDStatus": "HUMAN",
        "AMDCause": "HUMAN-801-800",  # amd-human.txt
        "Attempt": "42",
        "Uniqueid": "X",
    }
    assert event.get("Priority") == "5"  # the UserEvent line of [dialer-answered]
    assert (pbx.calls["X"].amd_status, pbx.calls["X"].result) == ("HUMAN", "answered")


async def test_a_machine_is_hung_up_at_once_without_ivr_or_queue() -> None:
    connections: list[AgiConnection] = []

    async def script(conn: AgiConnection) -> None:
        connections.append(conn)

    async with fastagi_stub(script) as stub:
        pbx, client, event = await amd_call(
            "+79000000011", agi=stub.address, queue="dialer-operators"
        )
    assert event is not None
    assert (event.get("AMDStatus"), event.get("AMDCause")) == (
        "MACHINE",
        "MAXWORDS-3-2",  # a recorded greeting on Asterisk 22 (amd.conf: 2 words at most)
    )
    assert connections == []
    assert client.events("QueueCallerJoin") == []
    hangups = [m for m in client.events("Hangup") if m.get("Uniqueid") == "X"]
    assert hangups and hangups[0].get("Cause") == "16"
    record = pbx.calls["X"]
    assert (record.result, record.amd_status, record.agi_status) == ("machine", "MACHINE", "")


async def test_a_machine_gets_the_voicemail_message_first() -> None:
    async with running_pbx(timing=TIMING, personas=PERSONAS) as pbx, ami_client(pbx) as client:
        fields = ivr_originate("+79000000011", "X", amd=True, extra="DIALER_VM_MESSAGE=promo-vm")
        await client.action("o", *fields)
        await client.wait_event("UserEvent", UserEvent="DialerAMD")
        amd_at = time.monotonic()
        await client.wait_event("Hangup", Uniqueid="X")
        hangup_at = time.monotonic()
    assert hangup_at - amd_at >= 0.08  # the message (SimTiming.message = 0.1 s)
    assert pbx.calls["X"].result == "machine"


async def test_custom_amd_settings_show_in_the_cause() -> None:
    extra = (
        "DIALER_AMD_AFTER_GREETING_SILENCE=1000,DIALER_AMD_INITIAL_SILENCE=3000,"
        "DIALER_AMD_TOTAL=6000"
    )
    _, _, human = await amd_call("+79000000013", extra=extra)
    _, _, silent = await amd_call("+79000000012", extra=extra)
    _, _, no_frames = await amd_call("+79000000010", extra=extra)
    assert human is not None and human.get("AMDCause") == "HUMAN-1001-1000"
    assert silent is not None and silent.get("AMDCause") == "INITIALSILENCE-3000-3000"
    assert no_frames is not None and no_frames.get("AMDCause") == "TOOLONG-5900"


async def test_silent_real_line_is_a_machine_by_initial_silence() -> None:
    pbx, _, event = await amd_call("+79000000012")
    assert event is not None
    # A real line sends frames of silence: AMD counts them as the initial silence.
    assert (event.get("AMDStatus"), event.get("AMDCause")) == (
        "MACHINE",
        "INITIALSILENCE-2500-2500",
    )
    assert pbx.calls["X"].result == "machine"


@pytest.mark.parametrize(("notsure", "result"), [("", "answered"), ("machine", "machine")])
async def test_local_callee_without_frames_is_notsure_and_follows_dialer_amd_notsure(
    notsure: str, result: str
) -> None:
    pbx, _, event = await amd_call("+79000000010", extra=f"DIALER_AMD_NOTSURE={notsure}")
    assert event is not None
    # What a real Asterisk 22 says for a Local callee that answers and sends nothing.
    assert (event.get("AMDStatus"), event.get("AMDCause")) == ("NOTSURE", "TOOLONG-4900")
    assert pbx.calls["X"].result == result


async def test_a_human_goes_on_to_the_ivr_after_amd() -> None:
    async def script(conn: AgiConnection) -> None:
        await conn.command("GET VARIABLE AMDSTATUS")

    async with fastagi_stub(script) as stub:
        pbx, _, event = await amd_call("+79000000013", agi=stub.address)
        conn = await stub.wait_done()
    assert event is not None and event.get("AMDStatus") == "HUMAN"
    assert conn.transcript == [("GET VARIABLE AMDSTATUS", "200 result=1 (HUMAN)\n")]
    assert pbx.calls["X"].agi_status == "SUCCESS"


async def test_without_dialer_amd_there_is_no_amd_event() -> None:
    async with running_pbx(timing=TIMING, personas=PERSONAS) as pbx, ami_client(pbx) as client:
        await client.action("o", *ivr_originate("+79000000011", "X"))
        await client.wait_event("Hangup", Uniqueid="X")
        await asyncio.sleep(0.05)
    assert [m for m in client.events("UserEvent") if m.get("UserEvent") == "DialerAMD"] == []
    assert (pbx.calls["X"].result, pbx.calls["X"].amd_status) == ("answered", "")
