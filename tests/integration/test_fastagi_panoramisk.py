"""Why ivr.fastagi exists: the four panoramisk 1.4 FastAGI defects, each reproduced on
panoramisk itself, next to a test of our server in the same situation.

1. A client gone before the blank header line freezes the whole event loop (its header
   loop spins on empty reads): shown in a subprocess, killed after a timeout.
2. After the caller hung up (EOF), `send_command` raises ValueError, not a hangup error.
3. A multi-line `520-` usage reply is read partly; the rest poisons the next command.
4. A plain-function route cannot even be added on Python 3.11 (`asyncio.coroutine`).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from panoramisk.fast_agi import Application, Request

from ivr.agi_session import AgiSession
from ivr.channel import CallerHungUp, ChannelError
from tests.integration.test_fastagi_fake import (
    Answer,
    FakeAsterisk,
    from_table,
    outcome,
    run_call,
    running,
    trace_exchanges,
)

PARTIAL_ENV = b"agi_network: yes\nagi_network_script: ivr\n"  # no blank line yet

# Runs panoramisk's server and one client in a child process, so that a frozen event
# loop freezes only the child. "alive" is printed only if the loop still runs 0.2 s
# after the client left; "bad" leaves mid-header, "good" sends a complete block.
FREEZE_PROBE = r"""
import asyncio, sys
from panoramisk.fast_agi import Application

async def main(mode):
    app = Application(loop=asyncio.get_running_loop())
    server = await asyncio.start_server(app.handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    env = b"agi_network: yes\nagi_network_script: ivr\n"
    writer.write(env if mode == "bad" else env + b"\n")
    await writer.drain()
    writer.close()
    print("ready", flush=True)
    await asyncio.sleep(0.2)
    print("alive", flush=True)

asyncio.run(main(sys.argv[1]))
"""


async def run_freeze_probe(mode: str) -> list[str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        FREEZE_PROBE,
        mode,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        for timeout in (10.0, 0.8):  # interpreter start-up, then the 0.2 s heartbeat
            try:
                line = await asyncio.wait_for(proc.stdout.readline(), timeout)
            except TimeoutError:
                break
            lines.append(line.decode().strip())
    finally:
        if proc.returncode is None:
            proc.kill()  # a frozen loop never exits by itself
        await proc.wait()
    return lines


async def start_panoramisk(path: str, route: Callable[[Request], Awaitable[None]]) -> Any:
    app = Application(loop=asyncio.get_running_loop())
    app.add_route(path, route)
    return await asyncio.start_server(app.handler, "127.0.0.1", 0)


# --- 1. a client gone mid-header ------------------------------------------------------


async def test_panoramisk_defect_given_client_gone_mid_header_then_event_loop_freezes() -> None:
    assert await run_freeze_probe("good") == ["ready", "alive"]  # the probe itself works
    assert await run_freeze_probe("bad") == ["ready"]  # the loop never ran again


async def test_ours_given_client_gone_mid_header_then_loop_runs_and_others_are_served() -> None:
    served: list[str] = []

    async def handler(ch: AgiSession) -> None:
        served.append(ch.script)

    async with running(handler, header_timeout=1.0) as server:
        quitter = await FakeAsterisk.connect(server.port, PARTIAL_ENV)
        quitter.half_close()
        assert await quitter.closed_by_server(0.5)  # dropped at once, not at the timeout
        await asyncio.wait_for(asyncio.sleep(0.01), 0.5)  # the loop still runs
        good = await FakeAsterisk.connect(server.port)
        assert await good.closed_by_server(0.5)
        for fake in (quitter, good):
            fake.close()
    assert served == ["ivr"]


# --- 2. a command after the hangup ------------------------------------------------------


async def test_panoramisk_defect_given_caller_gone_then_next_command_raises_value_error() -> None:
    results: list[object] = []

    async def route(request: Request) -> None:
        results.append(await outcome(request.send_command("ANSWER")))
        results.append(await outcome(request.send_command('STREAM FILE beep ""')))

    # panoramisk routes on the whole `agi_network_script`, query string included.
    server = await start_panoramisk("ivr?campaign=spring", route)
    try:
        fake = await FakeAsterisk.connect(server.sockets[0].getsockname()[1])
        table = {"ANSWER": Answer(b"200 result=0\n", eof=True)}  # then Asterisk is gone
        await asyncio.wait_for(fake.answer_all(from_table(table)), 1.0)
        fake.close()
    finally:
        server.close()
        await server.wait_closed()
    assert isinstance(results[1], ValueError)  # int(""): the empty read parsed as a reply


async def test_ours_given_caller_gone_then_next_command_raises_caller_hung_up() -> None:
    async def script(ch: AgiSession) -> object:
        await ch.command("ANSWER")
        return await outcome(ch.play(["beep"]))

    call = await run_call(script, from_table({"ANSWER": Answer(b"200 result=0\n", eof=True)}))
    assert type(call.outcome) is CallerHungUp


# --- 3. a multi-line 520 usage reply ------------------------------------------------------


def usage_reply() -> bytes:
    """The 706 bytes Asterisk sent for a bare `STREAM FILE`."""
    exchange = next(e for e in trace_exchanges() if e.command == "STREAM FILE")
    return exchange.chunks[0][1]


async def test_panoramisk_defect_given_520_usage_reply_then_next_command_is_poisoned() -> None:
    results: list[object] = []

    async def route(request: Request) -> None:
        results.append(await outcome(request.send_command("STREAM FILE")))
        results.append(await outcome(request.send_command("NOOP")))

    server = await start_panoramisk("ivr?campaign=spring", route)
    try:
        fake = await FakeAsterisk.connect(server.sockets[0].getsockname()[1])
        table = {"STREAM FILE": usage_reply(), "NOOP": b"200 result=0\n"}
        await asyncio.wait_for(fake.answer_all(from_table(table)), 1.0)
        fake.close()
    finally:
        server.close()
        await server.wait_closed()
    noop = results[1]
    # NOOP was answered `200 result=0`, but panoramisk read a usage line in its place.
    assert not (isinstance(noop, dict) and noop.get("status_code") == 200), noop


async def test_ours_given_520_usage_reply_then_channel_error_and_next_command_works() -> None:
    async def script(ch: AgiSession) -> tuple[object, object]:
        return await outcome(ch.command("STREAM FILE")), await ch.command("NOOP")

    table = {"STREAM FILE": usage_reply(), "NOOP": b"200 result=0\n"}
    call = await run_call(script, from_table(table))
    usage, noop = call.outcome  # type: ignore[misc]
    assert isinstance(usage, ChannelError) and "PLAYBACKSTATUS" in str(usage)
    assert noop.result == "0"


# --- 4. a plain-function route --------------------------------------------------------------


async def test_panoramisk_defect_given_plain_function_route_then_python_311_fails() -> None:
    app = Application(loop=asyncio.get_running_loop())
    with pytest.raises(AttributeError, match="coroutine"):
        app.add_route("ivr", lambda request: None)


async def test_ours_given_plain_function_handlers_then_they_run_and_socket_closes() -> None:
    seen: list[str] = []

    def plain(ch: AgiSession) -> None:
        seen.append(f"plain {ch.script}")

    async def later(ch: AgiSession, tag: str) -> None:
        seen.append(f"{tag} {await ch.get_variable('X')}")

    handlers: list[Callable[[AgiSession], Any]] = [plain, lambda ch: later(ch, "lambda")]
    for handler in handlers:
        async with running(handler) as server:
            fake = await FakeAsterisk.connect(server.port)
            table = {"GET VARIABLE X": b"200 result=1 (x)\n"}
            await asyncio.wait_for(fake.answer_all(from_table(table)), 1.0)  # until closed
            fake.close()
    assert seen == ["plain ivr", "lambda x"]
