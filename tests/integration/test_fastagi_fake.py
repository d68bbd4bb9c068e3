"""A socket-level stand-in for Asterisk's side of a FastAGI connection, the command ->
reply table recorded from a real Asterisk (tests/fixtures/asterisk-traces/fastagi-session.txt),
and the harness the other test_fastagi_* modules run calls with.

Asterisk is the client in FastAGI: it connects to our server, sends the environment block
and answers each command line. FakeAsterisk does the same over real TCP on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from ivr.agi_session import AgiSession
from ivr.fastagi import FastAgiServer
from tests.traces import segments, trace_path

TRACE = "fastagi-session.txt"

# The environment block of the trace, byte for byte (raw UTF-8 name, the empty
# `agi_accountcode: ` with its trailing space), so most tests run without the traces.
ENV_LINES = [
    "agi_network: yes",
    "agi_network_script: ivr?campaign=spring",
    "agi_request: agi://127.0.0.1:4573/ivr?campaign=spring",
    "agi_channel: Local/100@trace-callee-agi-00000017;1",
    "agi_language: en",
    "agi_type: Local",
    "agi_uniqueid: 5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c18",
    "agi_version: 22.10.1",
    "agi_callerid: +79123456789",
    "agi_calleridname: Иван Петров",
    "agi_callingpres: 0",
    "agi_callingani2: 0",
    "agi_callington: 0",
    "agi_callingtns: 0",
    "agi_dnid: unknown",
    "agi_rdnis: unknown",
    "agi_context: trace-agi",
    "agi_extension: s",
    "agi_priority: 1",
    "agi_enhanced: 0.0",
    "agi_accountcode: ",
    "agi_threadid: 140713132533440",
]
TRACE_ENV = ("\n".join(ENV_LINES) + "\n\n").encode()


def env_block(**replace: str) -> bytes:
    """The trace's environment block with some `agi_<key>` values replaced."""
    lines = []
    for line in ENV_LINES:
        key = line.split(":", 1)[0].removeprefix("agi_")
        lines.append(f"agi_{key}: {replace[key]}" if key in replace else line)
    return ("\n".join(lines) + "\n\n").encode()


@dataclass(frozen=True)
class Exchange:
    """One command from the trace and what Asterisk sent until the next command."""

    command: str
    chunks: tuple[tuple[float, bytes], ...]  # (trace time, bytes) as recorded


def trace_env() -> bytes:
    return next(
        s.payload
        for s in segments(trace_path(TRACE))
        if s.connection == "agi" and s.direction == "<"
    )


def trace_exchanges() -> list[Exchange]:
    exchanges: list[Exchange] = []
    command: str | None = None
    chunks: list[tuple[float, bytes]] = []
    for seg in segments(trace_path(TRACE)):
        if seg.connection != "agi":
            continue
        if seg.direction == ">":
            if command is not None:
                exchanges.append(Exchange(command, tuple(chunks)))
            command, chunks = seg.payload.decode().removesuffix("\n"), []
        elif command is not None:  # replies; the environment block comes before any command
            chunks.append((seg.t, seg.payload))
    if command is not None:
        exchanges.append(Exchange(command, tuple(chunks)))
    return exchanges


@dataclass(frozen=True)
class Answer:
    """What the fake sends for one command."""

    data: bytes = b""
    delay: float = 0.0  # seconds before answering (a command that takes time)
    then: bytes = b""  # sent `gap` seconds after `data`, e.g. Asterisk's HANGUP line
    gap: float = 0.0
    eof: bool = False  # half-close afterwards: Asterisk's side of the socket is gone


Answers = Callable[[str], Answer | bytes | None]  # None: read the command, never answer


class FakeAsterisk:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.commands: list[str] = []
        self.closed_at: float | None = None  # loop time the server closed the socket
        self.last_answer_at: float | None = None
        self._eof_sent = False

    @classmethod
    async def connect(cls, port: int, env: bytes | None = TRACE_ENV) -> FakeAsterisk:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        fake = cls(reader, writer)
        if env:
            await fake.send(env)
        return fake

    async def send(self, data: bytes) -> None:
        if data and not self._eof_sent:
            self.writer.write(data)
            await self.writer.drain()
            self.last_answer_at = asyncio.get_running_loop().time()

    def half_close(self) -> None:
        if not self._eof_sent:
            self._eof_sent = True
            self.writer.write_eof()

    async def next_command(self) -> str | None:
        """The next command line; None once the server has closed the connection."""
        try:
            line = await self.reader.readline()
        except ConnectionError:
            line = b""
        if not line.endswith(b"\n"):
            self.closed_at = asyncio.get_running_loop().time()
            return None
        command = line.decode().removesuffix("\n")
        self.commands.append(command)
        return command

    async def answer_all(self, answers: Answers) -> None:
        """Answer every command until the server closes the connection."""
        while (command := await self.next_command()) is not None:
            answer = answers(command)
            if answer is None:
                continue
            if isinstance(answer, bytes):
                answer = Answer(answer)
            if answer.delay:
                await asyncio.sleep(answer.delay)
            await self.send(answer.data)
            if answer.then:
                await asyncio.sleep(answer.gap)
                await self.send(answer.then)
            if answer.eof:
                self.half_close()

    async def closed_by_server(self, timeout: float = 1.0) -> bool:
        """Whether the server closes its side within `timeout` (commands are recorded)."""
        try:
            async with asyncio.timeout(timeout):
                while await self.next_command() is not None:
                    pass
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.writer.close()


def from_table(table: dict[str, bytes | Answer]) -> Answers:
    """Answer each command from a fixed table; an unknown command gets Asterisk's 510."""

    def answer(command: str) -> Answer | bytes:
        return table.get(command, b"510 Invalid or unknown command\n")

    return answer


@asynccontextmanager
async def running(handler: Callable[[AgiSession], Any], **kw: Any) -> AsyncIterator[FastAgiServer]:
    server = FastAgiServer(handler, port=0, **kw)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def until(predicate: Callable[[], bool], timeout: float = 1.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


@dataclass
class Call:
    """What happened on one call run through the real server."""

    outcome: object  # what the script returned, or the exception it raised
    session: AgiSession
    fake: FakeAsterisk

    @property
    def commands(self) -> list[str]:
        return self.fake.commands


async def run_call(
    script: Callable[[AgiSession], Awaitable[object]],
    answers: Answers,
    env: bytes = TRACE_ENV,
    **server_kw: Any,
) -> Call:
    """Serve one call: the fake answers until the server closes the socket, which the
    server must do once `script` has returned (checked here for every test)."""
    box: dict[str, Any] = {}

    async def handler(session: AgiSession) -> None:
        box["session"] = session
        try:
            box["outcome"] = await script(session)
        except Exception as exc:  # the test inspects it
            box["outcome"] = exc

    async with running(handler, **server_kw) as server:
        fake = await FakeAsterisk.connect(server.port, env)
        try:
            await asyncio.wait_for(fake.answer_all(answers), 3.0)
        finally:
            fake.close()
        await until(lambda: server.sessions_served == 1)
    assert fake.closed_at is not None
    return Call(box["outcome"], box["session"], fake)


async def outcome(awaitable: Awaitable[object]) -> object:
    """The result, or the exception raised: lets a handler go on after an expected error."""
    try:
        return await awaitable
    except Exception as exc:
        return exc


# --- the fixtures themselves ----------------------------------------------------------


def test_given_trace_when_reading_env_block_then_it_matches_the_literal_copy() -> None:
    # agi_threadid is the id of the channel's thread: a different number in each recording.
    recorded = trace_env()
    threadid = recorded.rsplit(b"agi_threadid: ", 1)[1].removesuffix(b"\n\n").decode()
    assert threadid.isdigit()
    assert recorded == env_block(threadid=threadid)


def test_given_trace_when_pairing_commands_and_replies_then_each_command_has_its_reply() -> None:
    exchanges = trace_exchanges()
    assert [e.command for e in exchanges] == [
        "ANSWER",
        "GET VARIABLE DIALER_ATTEMPT",
        'STREAM FILE beep "0123456789*#"',
        "WAIT FOR DIGIT 3000",
        "GET DATA beep 3000 2",
        'RECORD FILE /tmp/rec-test wav "#" 3000 0 s=1',
        "SET VARIABLE DIALER_RESULT warm",
        "EXEC Playback beep",
        "FOO BAR",
        "STREAM FILE",
        "WAIT FOR DIGIT 20000",
        'STREAM FILE beep ""',
        "GET VARIABLE DIALER_RESULT",
        "NOOP",
    ]
    assert all(e.chunks for e in exchanges)
    hangup = next(e for e in exchanges if e.command == "WAIT FOR DIGIT 20000")
    assert [c for _, c in hangup.chunks] == [b"200 result=-1\n", b"HANGUP\n"]
    assert 0.03 < hangup.chunks[1][0] - hangup.chunks[0][0] < 0.06  # the ~42 ms gap


def test_given_env_block_override_then_only_that_line_changes() -> None:
    block = env_block(network_script="ivr?campaign=spring&attempt=x")
    assert b"agi_network_script: ivr?campaign=spring&attempt=x\n" in block
    assert block.replace(b"&attempt=x", b"") == TRACE_ENV
