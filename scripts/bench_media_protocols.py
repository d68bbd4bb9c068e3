"""AudioSocket against chan_websocket on the real Asterisk: why the media stream uses
AudioSocket (docs/architecture.md).

A private Asterisk (tests/asterisk harness) with both modules loaded; N calls at once
(default 10), each a Local channel whose far end runs Echo(). For SECONDS (10) the
dialer's side sends a 20 ms frame every 20 ms, silence except a 1 kHz tone every 500 ms,
and times the tone's return: the echo round trip. Also measured: the gaps between the
frames Asterisk sends, and Asterisk's CPU (/proc) over the run.

- AudioSocket: `Answer(); AudioSocket(<uuid>,127.0.0.1:<port>)` to a plain TCP server;
- chan_websocket: `Answer(); Dial(WebSocket/bench/c(slin))`, websocket_client.conf
  pointing at a Python `websockets` server.

Prints a table, then one JSON object of figures as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import struct
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import websockets

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the tests' private Asterisk

from bench_report import print_figures  # noqa: E402

from ivr.audiosocket import Kind, encode, read_message  # noqa: E402
from tests.asterisk.ami import ami_session  # noqa: E402
from tests.asterisk.private_asterisk import ExtraConfig, start_private_asterisk  # noqa: E402

SECONDS = 10
TONE = b"".join(
    struct.pack("<h", int(8000 * math.sin(2 * math.pi * 1000 * i / 8000))) for i in range(160)
)
SILENCE = bytes(320)
MODULES = (
    "res_audiosocket.so",
    "app_audiosocket.so",
    "chan_audiosocket.so",
    "chan_websocket.so",
    "res_websocket_client.so",
)


def loud(frame: bytes) -> bool:
    samples = struct.unpack(f"<{len(frame) // 2}h", frame)
    return bool(samples) and max(abs(x) for x in samples) > 2000


class Probe:
    def __init__(self) -> None:
        self.rtt: list[float] = []
        self.gaps: list[float] = []
        self.sent_at: float | None = None
        self.last: float | None = None

    def on_frame(self, frame: bytes) -> None:
        now = time.monotonic()
        if self.last is not None:
            self.gaps.append((now - self.last) * 1000)
        self.last = now
        if self.sent_at is not None and loud(frame):
            self.rtt.append((now - self.sent_at) * 1000)
            self.sent_at = None

    async def send_loop(self, send: Callable[[bytes], Awaitable[None]]) -> None:
        start = time.monotonic()
        for i in range(SECONDS * 50):
            mark = i % 25 == 10
            if mark and self.sent_at is None:
                self.sent_at = time.monotonic()
            await send(TONE if mark else SILENCE)
            await asyncio.sleep(max(0.0, start + (i + 1) * 0.02 - time.monotonic()))


probes: list[Probe] = []


async def audiosocket_peer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await read_message(reader)  # the UUID
    probe = Probe()
    probes.append(probe)

    async def send(frame: bytes) -> None:
        writer.write(encode(Kind.AUDIO, frame))

    async def receive() -> None:
        while (message := await read_message(reader)) is not None:
            if message.kind == Kind.AUDIO:
                probe.on_frame(message.payload)

    task = asyncio.create_task(receive())
    await probe.send_loop(send)
    writer.write(encode(Kind.HANGUP))
    await writer.drain()
    task.cancel()
    writer.close()


async def websocket_peer(ws: websockets.ServerConnection) -> None:
    probe = Probe()
    probes.append(probe)

    async def send(frame: bytes) -> None:
        await ws.send(frame)

    async def receive() -> None:
        async for message in ws:
            if isinstance(message, bytes):
                for at in range(0, len(message), 320):
                    probe.on_frame(message[at : at + 320])

    task = asyncio.create_task(receive())
    await probe.send_loop(send)
    await ws.send("HANGUP")
    task.cancel()
    await ws.close()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def quantile(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None


async def measure(pbx: object, context: str, port: int, calls: int) -> dict[str, object]:
    probes.clear()
    assert hasattr(pbx, "process")
    pid = pbx.process.pid
    async with ami_session(pbx.host, pbx.port, pbx.admin_username, pbx.admin_secret) as ami:  # type: ignore[attr-defined]
        cpu0, wall0 = cpu_seconds(pid), time.monotonic()
        for _ in range(calls):
            await ami.send(
                "Originate",
                Channel="Local/s@bench-echo",
                Context=context,
                Exten="s",
                Priority="1",
                Variable=f"SID={uuid.uuid4()},PORT={port}",
                Async="true",
            )
        await asyncio.sleep(SECONDS + 3)
        cpu, wall = cpu_seconds(pid) - cpu0, time.monotonic() - wall0
    rtt = [x for p in probes for x in p.rtt]
    gaps = [x for p in probes for x in p.gaps]
    return {
        "streams": len(probes),
        "echo_rtt_p50_ms": quantile(rtt, 0.5),
        "echo_rtt_p95_ms": quantile(rtt, 0.95),
        "gap_p50_ms": quantile(gaps, 0.5),
        "gap_p99_ms": quantile(gaps, 0.99),
        "asterisk_cpu_pct": round(100 * cpu / wall, 1),
    }


async def main(binary: Path, calls: int) -> None:
    audio = await asyncio.start_server(audiosocket_peer, "127.0.0.1", 0)
    audio_port = audio.sockets[0].getsockname()[1]
    ws = await websockets.serve(websocket_peer, "127.0.0.1", 0, subprotocols=["media"])  # type: ignore[list-item]
    ws_port = next(iter(ws.sockets)).getsockname()[1]
    dialplan = (
        "[bench-echo]\nexten => s,1,Answer()\n same => n,Echo()\n"
        "[bench-as]\nexten => s,1,Answer()\n"
        " same => n,AudioSocket(${SID},127.0.0.1:${PORT})\n same => n,Hangup()\n"
        "[bench-ws]\nexten => s,1,Answer()\n"
        " same => n,Dial(WebSocket/bench/c(slin))\n same => n,Hangup()\n"
    )
    client = (
        "[bench]\ntype = websocket_client\nconnection_type = per_call_config\n"
        f"uri = ws://127.0.0.1:{ws_port}\nprotocols = media\n"
    )
    extra = ExtraConfig(
        appends={"extensions.conf": dialplan, "websocket_client.conf": client}, load=MODULES
    )
    figures: dict[str, object] = {"calls": calls, "seconds": SECONDS}
    tmp = Path(tempfile.mkdtemp(prefix="ast-", dir="/tmp"))  # short: a socket path
    with start_private_asterisk(binary, tmp / "ast", extra=extra) as pbx:
        for name, context, port in (
            ("audiosocket", "bench-as", audio_port),
            ("websocket", "bench-ws", ws_port),
        ):
            found = await measure(pbx, context, port, calls)
            figures.update({f"{name}_{k}": v for k, v in found.items()})
    shutil.rmtree(tmp, ignore_errors=True)
    print_figures("media stream: AudioSocket vs chan_websocket (real Asterisk)", figures, {})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--asterisk", default="/work/shared/asterisk/sbin/asterisk")
    parser.add_argument("--calls", type=int, default=10)
    args = parser.parse_args()
    os.environ["PATH"] = f"{Path(args.asterisk).parent}:{os.environ['PATH']}"
    asyncio.run(main(Path(args.asterisk), args.calls))
