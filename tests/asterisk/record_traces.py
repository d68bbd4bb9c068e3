"""Record the raw, byte-exact AMI and FastAGI traces in tests/fixtures/asterisk-traces/.

    scripts/record-traces [--out DIR] [scenario ...]

It starts a private Asterisk (tests/asterisk/private_asterisk.py: its own temp folder,
AMI on a free loopback port) from the `asterisk` on PATH, with the test-only dialplan
and queues of traces-extensions.conf and traces-queues.conf appended to the project's
configuration, Cdr events on, and the AMI user `dialer` given read = all / write = all,
no event filters and the secret `dialer` (so the traces carry every event). Then it runs
each scenario, one after another, as a plain asyncio AMI client (and FastAGI server on
127.0.0.1:4573): no AMI library, so the files hold exactly the bytes Asterisk sent and
the recorder wrote.
The file format is described in tests/fixtures/asterisk-traces/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.asterisk.private_asterisk import ExtraConfig, RealAsterisk, start_private_asterisk

HERE = Path(__file__).resolve().parent
FIXTURES_DIR = HERE.parents[1] / "tests" / "fixtures" / "asterisk-traces"

AMI_USER, AMI_SECRET = "dialer", "dialer"
AGI_HOST, AGI_PORT = "127.0.0.1", 4573  # as in traces-extensions.conf [trace-agi]

CALLER_ID = '"Иван Петров" <+79123456789>'
VARIABLES = "DIALER_ATTEMPT=42,DIALER_CAMPAIGN=spring"

# Fixed ChannelIds (uuid4 form) so the README and the tests can quote them.
CHANNEL_IDS = {
    "originate-answered-dtmf": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c01",
    "originate-busy": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c02",
    "originate-busy-hangup17": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c03",
    "originate-no-answer": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c04",
    "originate-congestion": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c05",
    "originate-congestion-hangup34": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c06",
    "originate-unallocated": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c07",
    "originate-no-such-extension": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c08",
    "originate-callee-hangs-up-early": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c09",
    "queue-agent-connect": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c10",
    "queue-agent-hangs-up": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c11",
    "queue-abandon": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c12",
    "queue-timeout": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c13",
    "amd-human": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c14",
    "amd-machine": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c15",
    "actions-held-call": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c16",
    "actions-queued-call": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c17",
    "fastagi-session": "5f0c6a2e-8d3b-4c1e-9a47-2b6f1d3e8c18",
}

Msg = dict[str, Any]


def extra_config() -> ExtraConfig:
    """The test-only additions the recording needs (dialplan, queues, dialer user)."""
    return ExtraConfig(
        appends={
            "extensions.conf": (HERE / "traces-extensions.conf").read_text(),
            "queues.conf": (HERE / "traces-queues.conf").read_text(),
            # Cdr events on AMI (unanswered calls too), as on the host the first traces
            # were recorded on.
            "cdr_manager.conf": "[general]\nenabled = yes\n",
            "cdr.conf": "[general]\nunanswered = yes\n",
        },
        dialer={"secret": AMI_SECRET, "read": "all", "write": "all"},
        drop_eventfilters=True,
    )


# --------------------------------------------------------------------------
# Trace container
# --------------------------------------------------------------------------
@dataclass
class Recording:
    """What the scenarios need from the running Asterisk."""

    pbx: RealAsterisk
    outdir: Path

    def version(self) -> str:
        return self.pbx.cli("core show version").strip()

    def channels_count(self) -> int:
        for line in self.pbx.cli("core show channels count").splitlines():
            if "active channel" in line:
                return int(line.split()[0])
        return -1

    async def wait_idle(self, maxwait: float = 90.0) -> None:
        end = time.monotonic() + maxwait
        while time.monotonic() < end:
            if self.channels_count() == 0:
                return
            await asyncio.sleep(0.5)
        raise RuntimeError("Asterisk still has channels up")


FORMAT_HELP = [
    "#@ format: after these header lines the file is a sequence of segments. A segment is a",
    "#@   marker line ending in LF, then (for #< and #>) exactly len=N payload bytes copied",
    "#@   verbatim from the socket. '#< C' = bytes read from connection C (sent by Asterisk),",
    "#@   '#> C' = bytes the recorder wrote to C, '#= C' = connection event (no payload),",
    "#@   '#: ' = recorder note (no payload). t= seconds since trace start. A payload that",
    "#@   does not end in LF is followed by one extra LF that is not part of it (flag noeol).",
    "#@   Concatenating the '#<' payloads of one connection gives its exact received stream.",
]


class Trace:
    def __init__(self, name: str, description: str, connections: list[str]) -> None:
        self.name = name
        self.description = description
        self.connections = connections  # "label: what" strings
        self.t0 = time.monotonic()
        self.started = datetime.datetime.now(datetime.UTC)
        self.segments: list[tuple[str, str, float, Any]] = []

    def rel(self) -> float:
        return time.monotonic() - self.t0

    def recv(self, conn: str, data: bytes, t: float) -> None:
        self.segments.append(("<", conn, t, data))

    def sent(self, conn: str, data: bytes) -> None:
        self.segments.append((">", conn, self.rel(), data))

    def event(self, conn: str, text: str, t: float | None = None) -> None:
        self.segments.append(("=", conn, self.rel() if t is None else t, text))

    def note(self, text: str) -> None:
        self.segments.append((":", "", self.rel(), text))

    def write(self, rec: Recording) -> Path:
        path = rec.outdir / f"{self.name}.txt"
        head = [
            "#@ asterisk-trace v1",
            f"#@ name: {self.name}",
            "#@ recorded: " + self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            f"#@ asterisk: {rec.version()}",
            f"#@ scenario: {self.description}",
            *(f"#@ connection {c}" for c in self.connections),
            *FORMAT_HELP,
        ]
        out = [("\n".join(head) + "\n").encode()]
        for kind, conn, t, data in self.segments:
            if kind in "<>":
                flag = "" if data.endswith(b"\n") else " noeol"
                out.append(f"#{kind} {conn} t={t:.4f} len={len(data)}{flag}\n".encode())
                out.append(data + (b"\n" if flag else b""))
            elif kind == "=":
                out.append(f"#= {conn} t={t:.4f} {data}\n".encode())
            else:
                out.append(f"#: t={t:.4f} {data}\n".encode())
        path.write_bytes(b"".join(out))
        return path


def parse_message(raw: bytes) -> Msg:
    """AMI message bytes -> dict of the first value of each key."""
    d: Msg = {}
    for line in raw.decode("utf-8", errors="replace").split("\r\n"):
        if not line:
            continue
        if ": " in line:
            k, v = line.split(": ", 1)
        elif line.endswith(":"):
            k, v = line[:-1], ""
        else:
            k, v = line, None
        d.setdefault(k, v)
    return d


# --------------------------------------------------------------------------
# AMI client
# --------------------------------------------------------------------------
class Ami:
    def __init__(self, trace: Trace, host: str, port: int, label: str = "ami") -> None:
        self.trace = trace
        self.host, self.port = host, port
        self.label = label
        self.msgs: list[Msg] = []  # parsed, in arrival order
        self.new = asyncio.Event()
        self.eof = False
        self.closed_by_us = False
        self.active: set[str] = set()
        self.last_rx = time.monotonic()

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        # The port is a free one picked per run: the note does not name it.
        self.trace.event(self.label, "connected to the private test Asterisk's AMI")
        self.task = asyncio.create_task(self._read_loop())

    def _eof(self, buf: bytes, t: float) -> None:
        if buf:
            self.trace.recv(self.label, buf, t)
        self.trace.event(
            self.label,
            "EOF after the recorder closed the connection"
            if self.closed_by_us
            else "EOF (Asterisk closed the connection)",
            t,
        )
        self.eof = True
        self.new.set()

    def _message(self, seg: bytes) -> None:
        d = parse_message(seg)
        if d.get("Event") == "Newchannel":
            self.active.add(d["Channel"])
        elif d.get("Event") == "Hangup":
            self.active.discard(d["Channel"])
        self.msgs.append(d)

    async def _read_loop(self) -> None:
        buf = b""
        banner = False
        while True:
            try:
                data = await self.reader.read(65536)
            except ConnectionError as exc:
                self.trace.event(self.label, f"read error {exc!r}")
                data = b""
            t = self.trace.rel()
            if not data:
                self._eof(buf, t)
                return
            self.last_rx = time.monotonic()
            buf += data
            while True:
                end = buf.find(b"\r\n" if not banner else b"\r\n\r\n")
                if end < 0:
                    break
                end += 2 if not banner else 4
                seg, buf = buf[:end], buf[end:]
                self.trace.recv(self.label, seg, t)
                if banner:
                    self._message(seg)
                else:
                    banner = True
                    self.msgs.append({"_banner": seg.decode()})
            self.new.set()

    async def action(self, fields: list[tuple[str, str]]) -> None:
        data = "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n"
        self.trace.sent(self.label, data.encode("utf-8"))
        self.writer.write(data.encode("utf-8"))
        await self.writer.drain()

    def mark(self) -> int:
        return len(self.msgs)

    async def expect(
        self, pred: Callable[[Msg], bool], start: int = 0, timeout: float = 30.0
    ) -> Msg:
        deadline = time.monotonic() + timeout
        i = start
        while True:
            while i < len(self.msgs):
                if pred(self.msgs[i]):
                    return self.msgs[i]
                i += 1
            if self.eof:
                raise EOFError("EOF while waiting")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timeout waiting in {self.trace.name}")
            self.new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.new.wait(), left)

    async def linger(self, timeout: float) -> None:
        """Record whatever arrives for `timeout` seconds (or until EOF)."""
        with contextlib.suppress(EOFError, TimeoutError):
            await self.expect(lambda m: False, timeout=timeout)

    async def response(self, action_id: str, timeout: float = 10.0) -> Msg:
        return await self.expect(
            lambda m: m.get("ActionID") == action_id and "Response" in m, timeout=timeout
        )

    async def quiet(self, secs: float = 1.5, maximum: float = 10.0) -> None:
        end = time.monotonic() + maximum
        while time.monotonic() < end:
            if time.monotonic() - self.last_rx >= secs:
                return
            await asyncio.sleep(0.05)

    async def login(self, secret: str = AMI_SECRET, action_id: str = "login-1") -> Msg:
        await self.expect(lambda m: "_banner" in m, timeout=5)
        await self.action(
            [
                ("Action", "Login"),
                ("ActionID", action_id),
                ("Username", AMI_USER),
                ("Secret", secret),
            ]
        )
        return await self.response(action_id)

    async def logoff(self, action_id: str = "logoff-1") -> None:
        await self.action([("Action", "Logoff"), ("ActionID", action_id)])
        await self.linger(3)
        self.close()

    def close(self) -> None:
        if not self.eof:
            self.closed_by_us = True
            self.trace.event(self.label, "recorder closes the connection")
        self.writer.close()

    async def wait_hungup(self, maxtime: float) -> None:
        end = time.monotonic() + maxtime
        while self.active and time.monotonic() < end:
            await asyncio.sleep(0.1)


def originate_fields(
    scenario: str,
    channel: str,
    context: str,
    timeout: int = 30000,
    action_id: str | None = None,
) -> list[tuple[str, str]]:
    return [
        ("Action", "Originate"),
        ("ActionID", action_id or f"orig-{scenario}"),
        ("Channel", channel),
        ("Context", context),
        ("Exten", "s"),
        ("Priority", "1"),
        ("Timeout", str(timeout)),
        ("CallerID", CALLER_ID),
        ("Variable", VARIABLES),
        ("ChannelId", CHANNEL_IDS[scenario]),
        ("Async", "true"),
    ]


def ami_connection() -> str:
    return f"ami: AMI client -> private test Asterisk (user {AMI_USER})"


async def logged_in(rec: Recording, tr: Trace, label: str = "ami") -> Ami:
    ami = Ami(tr, rec.pbx.host, rec.pbx.port, label)
    await ami.connect()
    await ami.login()
    await ami.expect(lambda m: m.get("Event") == "FullyBooted", timeout=5)
    await ami.quiet(0.5, 3)
    return ami


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Simple:
    description: str
    channel: str
    context: str
    timeout: int = 30000


SIMPLE = {
    "originate-answered-dtmf": Simple(
        "Originate Local/100@trace-callee-dtmf (answers, Wait(1), SendDTMF(1), Wait(2), Hangup) "
        "into trace-answered,s,1 (Answer, Read 1 digit, UserEvent DialerDigit, Hangup)",
        "Local/100@trace-callee-dtmf",
        "trace-answered",
    ),
    "originate-busy": Simple(
        "Originate Local/100@trace-callee-busy (Busy(5)); never answered",
        "Local/100@trace-callee-busy",
        "trace-answered",
    ),
    "originate-busy-hangup17": Simple(
        "Originate Local/100@trace-callee-busy17 (Hangup(17)); never answered",
        "Local/100@trace-callee-busy17",
        "trace-answered",
    ),
    "originate-no-answer": Simple(
        "Originate Local/100@trace-callee-noanswer (Ringing, Wait(60)) with Timeout: 5000",
        "Local/100@trace-callee-noanswer",
        "trace-answered",
        5000,
    ),
    "originate-congestion": Simple(
        "Originate Local/100@trace-callee-congestion (Congestion(5)); never answered",
        "Local/100@trace-callee-congestion",
        "trace-answered",
    ),
    "originate-congestion-hangup34": Simple(
        "Originate Local/100@trace-callee-congestion34 (Hangup(34)); never answered",
        "Local/100@trace-callee-congestion34",
        "trace-answered",
    ),
    "originate-unallocated": Simple(
        "Originate Local/100@trace-callee-unallocated (Hangup(1) = unallocated/invalid number)",
        "Local/100@trace-callee-unallocated",
        "trace-answered",
    ),
    "originate-no-such-extension": Simple(
        "Originate Local/999@trace-callee-empty (context exists, extension 999 does not)",
        "Local/999@trace-callee-empty",
        "trace-answered",
    ),
    "originate-callee-hangs-up-early": Simple(
        "Originate Local/100@trace-callee-early-hangup (Answer, Wait(1), Hangup(16)) into "
        "trace-play-long (Answer, Playback(demo-instruct) 73 s; h-exten UserEvent DialerHangup)",
        "Local/100@trace-callee-early-hangup",
        "trace-play-long",
    ),
    "queue-agent-connect": Simple(
        "Originate Local/100@trace-callee-talk (Answer, Wait(12), Hangup(16)) into trace-queue "
        "(Answer, Queue(operators,,,,30)); member Local/op1@operator-sim/n answers at once; "
        "the customer (callee) hangs up after 12 s",
        "Local/100@trace-callee-talk",
        "trace-queue",
    ),
    "queue-agent-hangs-up": Simple(
        "Originate Local/100@trace-callee-talk (Answer, Wait(12), Hangup(16)) into "
        "trace-queue-short (Answer, Queue(operators-short,c,,,30)); member "
        "Local/op2@trace-operator-short/n answers, talks 4 s and hangs up; Queue() has option "
        "c, so the caller continues in the dialplan (UserEvent DialerQueueResult, Hangup)",
        "Local/100@trace-callee-talk",
        "trace-queue-short",
    ),
    "queue-abandon": Simple(
        "Originate Local/100@trace-callee-wait-queue (Answer, Wait(6), Hangup(16)) into "
        "trace-queue-busy (Answer, Queue(operators-busy,,,,30)); the only member rings "
        "forever; the customer hangs up while waiting",
        "Local/100@trace-callee-wait-queue",
        "trace-queue-busy",
    ),
    "queue-timeout": Simple(
        "Originate Local/100@trace-callee-talk (Answer, Wait(12), Hangup(16)) into "
        "trace-queue-timeout (Answer, Queue(operators-busy,,,,5), UserEvent "
        "DialerQueueResult with QUEUESTATUS, Hangup)",
        "Local/100@trace-callee-talk",
        "trace-queue-timeout",
    ),
    "amd-human": Simple(
        "Originate Local/100@trace-callee-human (Answer, Playback(hello-world), "
        "Playback(silence/5)) into trace-amd (Answer, AMD(), UserEvent AMDResult with "
        "AMDSTATUS/AMDCAUSE, Hangup)",
        "Local/100@trace-callee-human",
        "trace-amd",
    ),
    "amd-machine": Simple(
        "Originate Local/100@trace-callee-machine (Answer, Playback(demo-congrats) 30 s) "
        "into trace-amd (Answer, AMD(), UserEvent AMDResult with AMDSTATUS/AMDCAUSE, Hangup)",
        "Local/100@trace-callee-machine",
        "trace-amd",
    ),
}


async def originate_scenario(rec: Recording, name: str) -> Path:
    spec = SIMPLE[name]
    await rec.wait_idle()
    tr = Trace(name, spec.description, [ami_connection()])
    ami = await logged_in(rec, tr)
    fields = originate_fields(name, spec.channel, spec.context, timeout=spec.timeout)
    aid = dict(fields)["ActionID"]
    start = ami.mark()
    await ami.action(fields)
    await ami.response(aid)
    await ami.expect(
        lambda m: m.get("Event") == "OriginateResponse" and m.get("ActionID") == aid,
        start=start,
        timeout=60,
    )
    await ami.wait_hungup(60)  # every channel seen has hung up
    await ami.quiet(2.0, 15)
    await ami.logoff()
    await asyncio.sleep(0.2)
    return tr.write(rec)


def _originate_bad(action_id: str, channel: str, asynchronous: bool) -> list[tuple[str, str]]:
    fields = [
        ("Action", "Originate"),
        ("ActionID", action_id),
        ("Channel", channel),
        ("Context", "trace-answered"),
        ("Exten", "s"),
        ("Priority", "1"),
        ("Timeout", "30000"),
        ("CallerID", CALLER_ID),
    ]
    return [*fields, ("Async", "true")] if asynchronous else fields


def _channel_of(ami: Ami, uniqueid: str) -> str:
    return next(
        m["Channel"]
        for m in ami.msgs
        if m.get("Event") == "Newchannel" and m.get("Uniqueid") == uniqueid
    )


async def _simple_actions(ami: Ami) -> None:
    """Ping, an unknown action, Originates that fail."""
    await ami.action([("Action", "Ping"), ("ActionID", "ping-1")])
    await ami.response("ping-1")
    await ami.action([("Action", "FooBar"), ("ActionID", "unknown-1")])
    await ami.response("unknown-1")
    for aid, channel, asynchronous in (
        ("orig-badtech-async", "Foo/100", True),  # a channel type that does not exist
        ("orig-badtech-sync", "Foo/100", False),
        ("orig-noexten-sync", "Local/999@trace-callee-empty", False),  # missing extension
    ):
        await ami.action(_originate_bad(aid, channel, asynchronous))
        await ami.response(aid)
        await ami.quiet(1.0, 3)


async def _bad_connections(rec: Recording, tr: Trace) -> None:
    """A Login with a wrong secret, and actions before Login, on their own connections."""
    bad = Ami(tr, rec.pbx.host, rec.pbx.port, "ami-badlogin")
    await bad.connect()
    await bad.login(secret="wrong-secret", action_id="login-bad")
    await bad.linger(3)
    if not bad.eof:  # is the session still usable?
        await bad.action([("Action", "Ping"), ("ActionID", "ping-after-badlogin")])
        await bad.linger(2)
        bad.close()

    nol = Ami(tr, rec.pbx.host, rec.pbx.port, "ami-nologin")
    await nol.connect()
    await nol.expect(lambda m: "_banner" in m, timeout=5)
    await nol.action([("Action", "Ping"), ("ActionID", "ping-nologin")])
    await nol.linger(2)
    await nol.action([("Action", "CoreShowChannels"), ("ActionID", "csc-nologin")])
    await nol.linger(2)
    nol.close()


async def scenario_actions(rec: Recording) -> Path:
    name = "actions"
    await rec.wait_idle()
    tr = Trace(
        name,
        "Assorted AMI actions and their responses: Ping, CoreShowChannels with calls up, "
        "QueueStatus / QueueSummary with a caller waiting, Hangup of a live channel and of a "
        "missing one, an unknown action, Originate to a channel type that does not exist "
        "(Async true and false), Originate to a missing extension without Async; a second "
        "connection logs in with a wrong secret, a third sends an action before logging in.",
        [
            "ami: AMI client, logged in correctly",
            "ami-badlogin: AMI client, Login with a wrong secret",
            "ami-nologin: AMI client, action before Login",
        ],
    )
    ami = await logged_in(rec, tr)
    await _simple_actions(ami)

    # Put up a held call and a call waiting in a queue
    held = originate_fields(
        "actions-held-call", "Local/100@trace-callee-long", "trace-hold", action_id="orig-held"
    )
    await ami.action(held)
    await ami.response("orig-held")
    await ami.expect(
        lambda m: m.get("Event") == "OriginateResponse" and m.get("ActionID") == "orig-held",
        timeout=10,
    )
    queued = originate_fields(
        "actions-queued-call",
        "Local/100@trace-callee-long",
        "trace-queue-busy",
        action_id="orig-queued",
    )
    await ami.action(queued)
    await ami.response("orig-queued")
    await ami.expect(lambda m: m.get("Event") == "QueueCallerJoin", timeout=10)
    await ami.quiet(1.0, 4)

    tr.note("CoreShowChannels with two calls up (held call + queued call with a ringing member)")
    for action, aid, complete in (
        ("CoreShowChannels", "csc-1", "CoreShowChannelsComplete"),
        ("QueueStatus", "qstatus-1", "QueueStatusComplete"),
        ("QueueSummary", "qsummary-1", "QueueSummaryComplete"),
    ):
        await ami.action([("Action", action), ("ActionID", aid)])
        await ami.expect(lambda m, c=complete: m.get("Event") == c, timeout=10)
        await ami.quiet(0.5, 3)

    # Hangup of a live channel (the held call's ;1 side), by name
    channel = _channel_of(ami, CHANNEL_IDS["actions-held-call"])
    await ami.action([("Action", "Hangup"), ("ActionID", "hangup-1"), ("Channel", channel)])
    await ami.response("hangup-1")
    await ami.quiet(1.5, 5)
    # Hangup of a channel that does not exist
    await ami.action(
        [
            ("Action", "Hangup"),
            ("ActionID", "hangup-2"),
            ("Channel", "Local/100@nowhere-00000000;1"),
        ]
    )
    await ami.response("hangup-2")
    await ami.quiet(0.5, 3)

    await _bad_connections(rec, tr)

    # Hang up the queued call too (Hangup with a Cause)
    channel = _channel_of(ami, CHANNEL_IDS["actions-queued-call"])
    await ami.action(
        [("Action", "Hangup"), ("ActionID", "hangup-3"), ("Channel", channel), ("Cause", "16")]
    )
    await ami.response("hangup-3")
    await ami.wait_hungup(20)
    await ami.quiet(2.0, 10)
    await ami.logoff()
    await asyncio.sleep(0.2)
    return tr.write(rec)


def split_agi_unit(buf: bytes, env_done: bool) -> tuple[bytes | None, bytes]:
    """The next protocol unit in buf (environment block, reply line, whole 520 reply)."""
    if not env_done:
        end = buf.find(b"\n\n")
        return (buf[: end + 2], buf[end + 2 :]) if end >= 0 else (None, buf)
    if buf.startswith(b"520-"):
        pos = 0
        while (j := buf.find(b"\n", pos)) >= 0:
            if buf[pos:].startswith(b"520 "):
                return buf[: j + 1], buf[j + 1 :]
            pos = j + 1
        return None, buf
    j = buf.find(b"\n")
    return (buf[: j + 1], buf[j + 1 :]) if j >= 0 else (None, buf)


class AgiSession:
    def __init__(
        self,
        trace: Trace,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        label: str = "agi",
    ) -> None:
        self.trace = trace
        self.label = label
        self.reader = reader
        self.writer = writer
        self.units: list[bytes] = []
        self.new = asyncio.Event()
        self.eof = False
        self.closed_by_us = False
        self.task = asyncio.create_task(self._read_loop())

    async def _read_loop(self) -> None:
        buf = b""
        env_done = False
        while True:
            try:
                data = await self.reader.read(65536)
            except ConnectionError as exc:
                self.trace.event(self.label, f"read error {exc!r}")
                data = b""
            t = self.trace.rel()
            if not data:
                if buf:
                    self.trace.recv(self.label, buf, t)
                self.trace.event(
                    self.label,
                    "EOF after the recorder closed the connection"
                    if self.closed_by_us
                    else "EOF (Asterisk closed the connection)",
                    t,
                )
                self.eof = True
                self.new.set()
                return
            buf += data
            while True:
                seg, buf = split_agi_unit(buf, env_done)
                if seg is None:
                    break
                env_done = True
                self.trace.recv(self.label, seg, t)
                self.units.append(seg)
            self.new.set()

    async def next_unit(self, start: int, pred: Callable[[bytes], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        i = start
        while True:
            while i < len(self.units):
                if pred(self.units[i]):
                    return
                i += 1
            left = deadline - time.monotonic()
            if self.eof or left <= 0:
                return
            self.new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.new.wait(), left)

    async def cmd(self, line: str, timeout: float = 30) -> None:
        start = len(self.units)
        data = (line + "\n").encode("utf-8")
        self.trace.sent(self.label, data)
        self.writer.write(data)
        await self.writer.drain()
        await self.next_unit(start, lambda u: u[:3].isdigit(), timeout)


AGI_SCRIPT = [
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
]
AGI_DEAD_CHANNEL = ['STREAM FILE beep ""', "GET VARIABLE DIALER_RESULT", "NOOP"]


def agi_handler(
    tr: Trace, done: asyncio.Event
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("peername")[:2]
        tr.event("agi", f"accepted connection from {host}:{port}")
        s = AgiSession(tr, reader, writer)
        await s.next_unit(0, lambda u: True, 10)  # environment block
        for line in AGI_SCRIPT:
            await s.cmd(line)
        tr.note("callee hung up during WAIT FOR DIGIT; further commands on the dead channel")
        await asyncio.sleep(0.3)
        for line in AGI_DEAD_CHANNEL:
            if s.eof:
                break
            await s.cmd(line, timeout=3)
        tr.note("recorder waits 3 s to see whether Asterisk closes the socket")
        await s.next_unit(len(s.units), lambda u: True, 3)
        if not s.eof:
            s.closed_by_us = True
            tr.event("agi", "recorder closes the connection")
            writer.close()
        await asyncio.sleep(0.2)
        done.set()

    return handle


async def scenario_fastagi(rec: Recording) -> Path:
    name = "fastagi-session"
    await rec.wait_idle()
    tr = Trace(
        name,
        "Originate Local/100@trace-callee-agi into trace-agi,s,1 which runs "
        "AGI(agi://127.0.0.1:4573/ivr?campaign=spring); the recorder is both the AMI client "
        "and the FastAGI server. Callee: Answer, Wait(1.5), SendDTMF(2), Wait(1), "
        "SendDTMF(34), Playback(silence/4), Wait(6), Hangup(16) (hangs up while the AGI is in "
        "WAIT FOR DIGIT).",
        [
            ami_connection(),
            f"agi: FastAGI server {AGI_HOST}:{AGI_PORT}, connection accepted from Asterisk",
        ],
    )
    done = asyncio.Event()
    server = await asyncio.start_server(agi_handler(tr, done), AGI_HOST, AGI_PORT)
    ami = await logged_in(rec, tr)
    await ami.action(originate_fields(name, "Local/100@trace-callee-agi", "trace-agi"))
    await ami.response(f"orig-{name}")
    await asyncio.wait_for(done.wait(), 60)
    await ami.wait_hungup(20)
    await ami.quiet(2.0, 10)
    await ami.logoff()
    server.close()
    await server.wait_closed()
    await asyncio.sleep(0.2)
    return tr.write(rec)


# Every scenario, in recording order; each writes <name>.txt.
SCENARIOS = [*SIMPLE, "actions", "fastagi-session"]


async def record(rec: Recording, names: list[str]) -> None:
    for name in names:
        print("recording", name, flush=True)
        if name in SIMPLE:
            path = await originate_scenario(rec, name)
        elif name == "actions":
            path = await scenario_actions(rec)
        else:
            path = await scenario_fastagi(rec)
        print("  wrote", path, path.stat().st_size, "bytes", flush=True)


@contextlib.contextmanager
def private_asterisk(binary: Path) -> Iterator[RealAsterisk]:
    # Short path: the control socket <tmpdir>/run/asterisk.ctl must fit 108 bytes.
    tmpdir = Path(tempfile.mkdtemp(prefix="dialer-traces-", dir="/tmp"))
    try:
        with start_private_asterisk(binary, tmpdir, extra_config()) as pbx:
            yield pbx
    except BaseException:
        print(f"Asterisk's files are kept in {tmpdir}", file=sys.stderr)
        raise
    shutil.rmtree(tmpdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FIXTURES_DIR, help="output folder")
    parser.add_argument("scenarios", nargs="*", metavar="scenario", help=", ".join(SCENARIOS))
    args = parser.parse_args(argv)
    unknown = sorted(set(args.scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    binary = shutil.which("asterisk")
    if binary is None:
        parser.error("no asterisk binary on PATH")
    args.out.mkdir(parents=True, exist_ok=True)
    # SIGTERM unwinds like Ctrl-C, so the private Asterisk is stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    # A fresh Asterisk per run: the channel sequence numbers start at -00000000.
    with private_asterisk(Path(binary)) as pbx:
        asyncio.run(record(Recording(pbx, args.out), args.scenarios or SCENARIOS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
