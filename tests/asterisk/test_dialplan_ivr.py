"""[dialer-answered] with AMD and the IVR over FastAGI, on a REAL Asterisk.

Each case places a call the way the dialer does (Async Originate, ChannelId, the
DIALER_* variables) and, where the IVR runs, answers the FastAGI connection with a tiny
server written here. The same facts are what the simulated PBX promises
(dialer/simpbx/dialplan.py, agi.py), so several cases also assert the simulator's
constants against what this Asterisk did. All cases run at once (about 10 s). The
voicemail drop after a beep is in test_voicemail_real.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from dialer.simpbx.dialplan import PRIORITY
from tests.asterisk.ami import AmiClient, ami_session
from tests.asterisk.calls import CallRecord
from tests.asterisk.private_asterisk import EMPTY_QUEUE, RealAsterisk, free_loopback_port
from tests.traces import segments, trace_path

QUEUE = "dialer-operators"
ANSWER = "+79123456780"  # [dialer-test-callees] digit 0: answers, silent for 60 s
EARLY_HANGUP = "+79123456785"  # digit 5: answers, hangs up after 1 s
MACHINE_DIAL = "Local/{number}@dialer-test-machine"
CALLEES_DIAL = "Local/{number}@dialer-test-callees"
DEAD = "511 Command Not Permitted on a dead channel or intercept routine\n"


@dataclass
class AgiLog:
    """What one FastAGI connection saw: the env block, replies, when it was closed."""

    env_raw: bytes = b""
    env: dict[str, str] = field(default_factory=dict)
    replies: list[str] = field(default_factory=list)
    connected: bool = False
    closed_at: float = 0.0
    hangup_seen_before_close: bool = False


AgiScript = Callable[[asyncio.StreamReader, asyncio.StreamWriter, AgiLog], Awaitable[None]]


async def read_reply(reader: asyncio.StreamReader) -> str:
    text = (await asyncio.wait_for(reader.readline(), 10)).decode()
    if text.startswith("520-"):
        while not text.endswith("520 End of proper usage.\n"):
            text += (await asyncio.wait_for(reader.readline(), 10)).decode()
    return text


async def send(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log: AgiLog, text: str
) -> None:
    writer.write(text.encode() + b"\n")
    await writer.drain()
    log.replies.append(await read_reply(reader))


@contextlib.asynccontextmanager
async def agi_listener(script: AgiScript) -> AsyncIterator[tuple[str, AgiLog]]:
    """A FastAGI server on a free loopback port; yields (address, log)."""
    log = AgiLog()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        log.connected = True
        lines = []
        while (line := await reader.readline()) not in (b"\n", b""):
            lines.append(line)
        log.env_raw = b"".join(lines) + b"\n"
        for text in log.env_raw.decode().splitlines():
            key, sep, value = text.partition(": ")
            if sep:
                log.env[key] = value
        try:
            await script(reader, writer, log)
        finally:
            log.closed_at = time.monotonic()
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}", log
    finally:
        server.close()


async def place(
    ami: AmiClient,
    number: str,
    *,
    dial: str = CALLEES_DIAL,
    agi: str = "",
    amd: bool = False,
    queue: str = "",
    queue_timeout: int = 10,
    extra: str = "",
    wait: float = 40.0,
) -> CallRecord:
    """Originate like the dialer and wait for both Hangups (then 0.5 s of stragglers)."""
    call = CallRecord(
        number=number, attempt=f"t{uuid.uuid4().hex[:10]}", channel_id=str(uuid.uuid4())
    )
    start = len(ami.messages)
    call.started = time.monotonic()
    variables = (
        f"DIALER_ATTEMPT={call.attempt},DIALER_CAMPAIGN=asterisk-tests,DIALER_MESSAGE=beep,"
        f"DIALER_QUEUE={queue},DIALER_QUEUE_TIMEOUT={queue_timeout},DIALER_AGI={agi},"
        f"DIALER_AMD={'1' if amd else ''}"
    )
    if extra:
        variables += "," + extra
    call.action_id = await ami.send(
        "Originate",
        Channel=dial.format(number=number),
        Context="dialer-answered",
        Exten="s",
        Priority="1",
        Timeout="15000",
        CallerID='"Иван Петров" <+74950000000>',
        Variable=variables,
        ChannelId=call.channel_id,
        Async="true",
    )
    for uniqueid in (call.channel_id, f"{call.channel_id};2"):
        await ami.wait_for(
            lambda m, u=uniqueid: m.get("Event") == "Hangup" and m.get("Uniqueid") == u, wait, start
        )
    call.ended = time.monotonic()
    await asyncio.sleep(0.5)
    call.events = [m for m in ami.messages[start:] if call.belongs(m)]
    return call


def hangup_time(ami: AmiClient, call: CallRecord) -> float:
    """When the Hangup of the originated channel (X) arrived."""
    for message, at in zip(ami.messages, ami.received_at, strict=True):
        if message.get("Event") == "Hangup" and message.get("Uniqueid") == call.channel_id:
            return at
    raise AssertionError(f"no Hangup for {call.channel_id}")


def var_set(call: CallRecord, name: str) -> list[str]:
    return [m["Value"] for m in call.named("VarSet") if m.get("Variable") == name]


# ---- the scenarios ---------------------------------------------------------------------


@dataclass
class Run:
    amd_answer: CallRecord
    amd_machine: CallRecord
    amd_machine_agi: AgiLog
    amd_machine_vm: CallRecord
    agi_queue: CallRecord
    agi_queue_log: AgiLog
    agi_queue_hangup_at: float
    agi_refused: CallRecord
    agi_caller_hangup: CallRecord
    agi_caller_hangup_log: AgiLog
    agi_caller_hangup_at: float
    agi_hangup_command: CallRecord
    agi_hangup_command_log: AgiLog
    agi_hangup_action: CallRecord
    agi_hangup_action_log: AgiLog
    agi_hangup_action_at: float


async def queue_script(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log: AgiLog
) -> None:
    await send(reader, writer, log, "GET VARIABLE DIALER_ATTEMPT")
    await send(reader, writer, log, f"SET VARIABLE DIALER_QUEUE {QUEUE}")
    await send(reader, writer, log, "SET VARIABLE DIALER_QUEUE_TIMEOUT 20")
    await asyncio.sleep(0.5)  # the call must wait for us: no Hangup, no queue yet


async def caller_hangup_script(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log: AgiLog
) -> None:
    await send(reader, writer, log, "WAIT FOR DIGIT 5000")  # the callee hangs up at 1 s
    log.replies.append(await read_reply(reader))  # the unsolicited HANGUP
    for command in ('STREAM FILE beep ""', "GET VARIABLE DIALER_ATTEMPT", "NOOP"):
        await send(reader, writer, log, command)
    await asyncio.sleep(0.5)


async def hangup_command_script(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log: AgiLog
) -> None:
    await send(reader, writer, log, "HANGUP")
    log.replies.append(await read_reply(reader))
    await send(reader, writer, log, "NOOP")
    await send(reader, writer, log, "GET DATA beep")
    await asyncio.sleep(0.3)


async def _run_all(pbx: RealAsterisk) -> Run:
    async def nothing(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log: AgiLog
    ) -> None:
        await asyncio.sleep(0)

    refused = f"127.0.0.1:{free_loopback_port()}"  # nothing listens there
    async with (
        ami_session(pbx.host, pbx.port, pbx.admin_username, pbx.admin_secret) as ami,
        contextlib.AsyncExitStack() as stack,
    ):

        async def hangup_action_script(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter, log: AgiLog
        ) -> None:
            await send(reader, writer, log, "ANSWER")
            reply = await ami.action("Hangup", Channel=log.env["agi_channel"])
            log.replies.append(reply["Message"])
            log.replies.append(await read_reply(reader))
            await asyncio.sleep(0.3)

        async def listener(script: AgiScript) -> tuple[str, AgiLog]:
            return await stack.enter_async_context(agi_listener(script))

        machine_agi, machine_log = await listener(nothing)
        queue_agi, queue_log = await listener(queue_script)
        hangup_agi, hangup_log = await listener(caller_hangup_script)
        command_agi, command_log = await listener(hangup_command_script)
        action_agi, action_log = await listener(hangup_action_script)
        results = await asyncio.gather(
            place(ami, ANSWER, amd=True),
            place(ami, "+79000000001", dial=MACHINE_DIAL, amd=True, agi=machine_agi, queue=QUEUE),
            place(
                ami,
                "+79000000002",
                dial=MACHINE_DIAL,
                amd=True,
                extra="DIALER_VM_MESSAGE=beep,DIALER_VM_MAX_GREETING=3",
            ),
            place(ami, ANSWER, agi=queue_agi),
            place(ami, ANSWER, agi=refused, queue=EMPTY_QUEUE, queue_timeout=1),
            place(ami, EARLY_HANGUP, agi=hangup_agi),
            place(ami, ANSWER, agi=command_agi),
            place(ami, ANSWER, agi=action_agi),
        )
        answer, machine, machine_vm, queued, refused_call, caller_hangup, command, action = results
        return Run(
            amd_answer=answer,
            amd_machine=machine,
            amd_machine_agi=machine_log,
            amd_machine_vm=machine_vm,
            agi_queue=queued,
            agi_queue_log=queue_log,
            agi_queue_hangup_at=hangup_time(ami, queued),
            agi_refused=refused_call,
            agi_caller_hangup=caller_hangup,
            agi_caller_hangup_log=hangup_log,
            agi_caller_hangup_at=hangup_time(ami, caller_hangup),
            agi_hangup_command=command,
            agi_hangup_command_log=command_log,
            agi_hangup_action=action,
            agi_hangup_action_log=action_log,
            agi_hangup_action_at=hangup_time(ami, action),
        )


@pytest.fixture(scope="module")
def run(real_asterisk: RealAsterisk) -> Run:
    return asyncio.run(_run_all(real_asterisk))


# ---- AMD -------------------------------------------------------------------------------


def test_amd_on_a_silent_callee_is_not_sure(run: Run) -> None:
    call = run.amd_answer
    info = call.summary()
    events = call.user_events("DialerAMD")
    assert len(events) == 1, info
    event = events[0]
    # The callee answers and sends no audio: AMD cannot tell. Asterisk 22.10.1 says
    # NOTSURE with cause TOOLONG-4900 after the 5000 ms total analysis time.
    assert event["AMDStatus"] in ("HUMAN", "NOTSURE"), event
    assert event["AMDStatus"] == "NOTSURE" and event["AMDCause"].startswith("TOOLONG-"), event
    assert event["Attempt"] == call.attempt and event["Uniqueid"] == call.channel_id
    assert int(event["Priority"]) == PRIORITY["amd_event"]  # what the simulator shows
    # NOTSURE counts as a person by default: the message plays, the call hangs up.
    mine = [m for m in call.named("Newexten") if m["Uniqueid"] == call.channel_id]
    message = [m for m in mine if m["Application"] == "ExecIf"]
    assert message and message[0]["AppData"].endswith("?Playback(beep)"), info
    priorities = {m["Application"]: int(m["Priority"]) for m in mine}
    assert priorities["AMD"] == PRIORITY["amd"]
    assert priorities["ExecIf"] == PRIORITY["message"]
    assert priorities["Hangup"] == PRIORITY["hangup"]
    assert call.hangup_cause(call.channel_id) == 16


def test_amd_on_an_answering_machine_says_machine_and_skips_ivr_and_queue(run: Run) -> None:
    call = run.amd_machine
    info = call.summary()
    events = call.user_events("DialerAMD")
    assert len(events) == 1 and events[0]["AMDStatus"] == "MACHINE", info
    assert not run.amd_machine_agi.connected, "no IVR for a machine"
    assert not call.named("QueueCallerJoin"), info
    assert call.duration < 6, info  # AMD ~2.6 s, then Hangup() at once
    assert call.hangup_cause(call.channel_id) == 16


def test_amd_machine_whose_greeting_outlasts_max_greeting_gets_no_message(run: Run) -> None:
    call = run.amd_machine_vm  # demo-congrats: 30 s of speech, no beep; max_greeting 3 s
    newexten = [m for m in call.named("Newexten") if m["Uniqueid"] == call.channel_id]
    apps = [(m["Application"], m["AppData"]) for m in newexten]
    assert ("WaitForSilence", "3000,1,3") in apps
    assert ("Playback", "beep") not in apps and apps[-1] == ("Hangup", "")
    assert call.user_events("DialerAMD")[0]["AMDStatus"] == "MACHINE"
    [result] = call.user_events("DialerVoicemail")
    assert result["Result"] == "greeting_too_long"
    priorities = {m["Application"]: int(m["Priority"]) for m in newexten}
    assert priorities["WaitForSilence"] == PRIORITY["wait_for_silence"]


# ---- the IVR over FastAGI --------------------------------------------------------------


def test_agi_environment_matches_the_trace_and_the_simulator(run: Run) -> None:
    log, call = run.agi_queue_log, run.agi_queue
    trace_env = next(
        s.payload
        for s in segments(trace_path("fastagi-session.txt"))
        if s.connection == "agi" and s.direction == "<"
    )
    trace_keys = [line.split(": ")[0] for line in trace_env.decode().splitlines() if line]
    assert list(log.env) == trace_keys
    assert log.env["agi_network_script"] == f"ivr?attempt={call.attempt}"
    assert log.env["agi_request"].endswith(f"/ivr?attempt={call.attempt}")
    assert log.env["agi_uniqueid"] == call.channel_id
    assert log.env["agi_channel"].endswith(";1")
    assert log.env["agi_context"] == "dialer-answered"
    assert int(log.env["agi_priority"]) == PRIORITY["agi"]
    assert log.env["agi_calleridname"] == "Иван Петров"
    assert log.replies[0] == f"200 result=1 ({call.attempt})\n"


def test_agi_sets_the_queue_and_the_call_reaches_an_operator_after_the_close(run: Run) -> None:
    call, log = run.agi_queue, run.agi_queue_log
    info = call.summary()
    assert log.replies[1:] == ["200 result=1\n", "200 result=1\n"]
    joins = call.named("QueueCallerJoin")
    assert joins and joins[0]["Queue"] == QUEUE, info
    assert call.named("AgentConnect"), info
    assert var_set(call, "AGISTATUS") == ["SUCCESS"], info
    sets = [  # the journal's hangup handler and operator gosub run Set() elsewhere
        m
        for m in call.named("Newexten")
        if m["Application"] == "Set" and m["Context"] == "dialer-answered"
    ]
    assert int(sets[-1]["Priority"]) == PRIORITY["queue_set"], info
    assert run.agi_queue_hangup_at > log.closed_at


def test_unreachable_agi_server_fails_and_the_dialplan_goes_on(run: Run) -> None:
    call = run.agi_refused
    info = call.summary()
    assert var_set(call, "AGISTATUS") == ["FAILURE"], info
    results = call.user_events("DialerQueueResult")
    assert results and results[0]["QueueStatus"] == "TIMEOUT", info


def test_caller_hangup_during_agi_matches_the_simulator(run: Run) -> None:
    call, log = run.agi_caller_hangup, run.agi_caller_hangup_log
    info = call.summary()
    assert log.replies == [
        "200 result=-1\n",
        "HANGUP\n",
        DEAD,
        f"200 result=1 ({call.attempt})\n",
        "200 result=0\n",
    ]
    # The callee's half is gone at once; the originated one waits for our close.
    assert run.agi_caller_hangup_at >= log.closed_at, info
    assert var_set(call, "AGISTATUS") == ["HANGUP"], info
    assert call.hangup_cause(call.channel_id) == 16
    assert call.hangup_cause(f"{call.channel_id};2") == 16


def test_agi_hangup_command_gives_cause_zero_as_the_simulator_does(run: Run) -> None:
    call, log = run.agi_hangup_command, run.agi_hangup_command_log
    info = call.summary()
    assert log.replies == ["200 result=1\n", "HANGUP\n", "200 result=0\n", DEAD], info
    soft = [m["Cause"] for m in call.named("SoftHangupRequest") if m["Uniqueid"] == call.channel_id]
    assert soft[0] == "32", info  # AST_SOFTHANGUP_EXPLICIT: dialer.simpbx.events.SOFTHANGUP_AGI
    # No hangup cause is set: both halves end with 0 (their order varies from run to run).
    hangups = {m["Uniqueid"]: m["Cause"] for m in call.named("Hangup")}
    assert hangups == {call.channel_id: "0", f"{call.channel_id};2": "0"}, info


def test_dialer_hangup_action_during_agi_waits_for_the_socket_as_the_simulator(run: Run) -> None:
    call, log = run.agi_hangup_action, run.agi_hangup_action_log
    info = call.summary()
    assert log.replies == ["200 result=0\n", "Channel Hungup", "HANGUP\n"], info
    assert run.agi_hangup_action_at >= log.closed_at, info
    assert call.hangup_cause(call.channel_id) == 0, info  # no Cause header: 0, as actions.txt
