"""The FastAGI server over real TCP, against a fake Asterisk client that answers with
the bytes a real Asterisk 22 sent (tests/fixtures/asterisk-traces): connections, the environment
block, closing sockets, stopping, a failing handler."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import sys

import pytest

from ivr.agi_session import AgiSession, SessionClosed
from tests.integration.test_fastagi_fake import (
    FakeAsterisk,
    from_table,
    outcome,
    run_call,
    running,
    until,
)

# --- closing the socket -------------------------------------------------------------------


async def test_given_handler_returns_then_socket_is_closed_at_once() -> None:
    async def script(ch: AgiSession) -> None:
        await ch.command("NOOP")

    call = await run_call(script, from_table({"NOOP": b"200 result=0\n"}))
    assert call.fake.closed_at is not None and call.fake.last_answer_at is not None
    assert call.fake.closed_at - call.fake.last_answer_at < 0.1
    assert call.session.closed and not call.session.hung_up  # the dialplan goes on


async def test_given_stop_while_command_pending_then_handler_gets_session_closed() -> None:
    got: list[object] = []
    waiting = asyncio.Event()

    async def handler(ch: AgiSession) -> None:
        waiting.set()
        got.append(await outcome(ch.read_digits(None, 20000, 1)))

    server_cm = running(handler)
    server = await server_cm.__aenter__()
    fake = await FakeAsterisk.connect(server.port)
    answering = asyncio.create_task(fake.answer_all(lambda _: None))  # never answers
    await asyncio.wait_for(waiting.wait(), 1.0)
    await until(lambda: fake.commands == ["WAIT FOR DIGIT 20000"])
    await asyncio.wait_for(server_cm.__aexit__(None, None, None), 1.0)
    await asyncio.wait_for(answering, 1.0)
    fake.close()
    assert len(got) == 1 and isinstance(got[0], SessionClosed)
    assert fake.closed_at is not None


# --- the environment block ---------------------------------------------------------------


async def test_given_cyrillic_caller_name_then_headers_are_intact() -> None:
    async def script(ch: AgiSession) -> AgiSession:
        return ch

    call = await run_call(script, from_table({}))
    ch = call.session
    assert ch.headers["calleridname"] == "Иван Петров"
    assert ch.headers["callerid"] == "+79123456789"
    assert ch.headers["accountcode"] == ""
    assert ch.headers["uniqueid"] == "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c18"
    assert ch.script == "ivr" and ch.params == {"campaign": "spring"}


async def test_given_bad_and_stalled_clients_then_good_client_is_served_meanwhile() -> None:
    served: list[str] = []

    async def handler(ch: AgiSession) -> None:
        await ch.command("NOOP")
        served.append(ch.uniqueid)

    async with running(handler, header_timeout=0.3) as server:
        partial = b"agi_network: yes\nagi_network_script: ivr\n"
        quitter = await FakeAsterisk.connect(server.port, partial)
        quitter.half_close()  # gone before the blank line
        staller = await FakeAsterisk.connect(server.port, partial)  # never finishes
        good = await FakeAsterisk.connect(server.port)
        await asyncio.wait_for(good.answer_all(from_table({"NOOP": b"200 result=0\n"})), 1.0)
        assert served == ["5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c18"]
        assert await quitter.closed_by_server(0.2)
        assert await staller.closed_by_server(0.6)  # dropped after header_timeout
        assert quitter.commands == staller.commands == []
        await until(lambda: server.sessions_served == 1)
        for fake in (quitter, staller, good):
            fake.close()


# --- errors ---------------------------------------------------------------------------------


async def test_given_handler_raises_then_logged_socket_closed_and_server_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls = 0

    async def handler(ch: AgiSession) -> None:
        nonlocal calls
        calls += 1
        await ch.command("NOOP")
        if calls == 1:
            raise RuntimeError("script bug")

    caplog.set_level(logging.DEBUG, logger="ivr.fastagi")
    caplog.set_level(logging.DEBUG, logger="ivr.agi_session")
    async with running(handler) as server:
        for _ in range(2):
            fake = await FakeAsterisk.connect(server.port)
            await asyncio.wait_for(fake.answer_all(from_table({"NOOP": b"200 result=0\n"})), 1.0)
            fake.close()
        await until(lambda: server.sessions_served == 2)

    failed = [r for r in caplog.records if r.getMessage() == "fastagi.handler_failed"]
    assert len(failed) == 1 and failed[0].levelno == logging.ERROR
    assert failed[0].agi_uniqueid == "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c18"  # type: ignore[attr-defined]
    for record in caplog.records:
        if record.levelno >= logging.INFO:
            text = record.getMessage() + repr(record.__dict__)
            assert "79123456789" not in text and "Иван" not in text


# --- floods -------------------------------------------------------------------------------


FLOOD = """
import socket, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
held = []
for _ in range(count):
    try:
        held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
    except OSError:
        pass
print(len(held), flush=True)
sys.stdin.read()  # hold them until the test is done
"""


async def test_given_a_flood_of_silent_connections_then_a_real_call_still_runs_its_script(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """2,000 connections that never speak, against a dialer allowed 300 open files (a
    typical service limit is 1,024): the real call that comes after them still runs its
    script, and the log gets a few lines, not thousands."""
    opted_out: list[str] = []

    async def handler(ch: AgiSession) -> None:
        await ch.command("NOOP")
        opted_out.append(ch.uniqueid)  # what an opt-out step would record

    caplog.set_level(logging.WARNING, logger="ivr.fastagi")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    async with running(handler, header_timeout=30.0) as server:
        flood = await asyncio.create_subprocess_exec(
            sys.executable, "-c", FLOOD, str(server.port), "2000",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        open_now = len(os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (open_now + 300, hard))
        try:
            assert flood.stdout is not None and flood.stdin is not None
            connected = int((await asyncio.wait_for(flood.stdout.readline(), 60)).decode())
            assert connected >= 1000
            call = await FakeAsterisk.connect(server.port)
            await asyncio.wait_for(call.answer_all(from_table({"NOOP": b"200 result=0\n"})), 5)
            assert opted_out == ["5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c18"]
            assert server.silent_dropped >= connected - 64
            call.close()
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            if flood.stdin is not None:
                flood.stdin.close()
            await flood.wait()
    ours = [r for r in caplog.records if r.name == "ivr.fastagi" and r.levelno >= logging.WARNING]
    assert len(ours) <= 4, [r.getMessage() for r in ours]
    assert ours[0].getMessage() == "fastagi.silent_connection_dropped"


async def test_given_the_session_limit_then_more_calls_are_refused_and_counted() -> None:
    release = asyncio.Event()

    async def handler(ch: AgiSession) -> None:
        await release.wait()

    async with running(handler, max_sessions=2) as server:
        calls = [await FakeAsterisk.connect(server.port) for _ in range(3)]
        await until(lambda: server.sessions_refused == 1)
        assert await calls[2].closed_by_server(1.0)
        release.set()
        for call in calls:
            call.close()
