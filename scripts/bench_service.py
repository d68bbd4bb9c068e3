"""Service benchmark: 20 campaigns in one `dialer serve` process through the simulated
PBX, all on one AMI link and one shared trunk, while a client asks a campaign's status
over the HTTP API ten times a second.

Three processes: the simulator (its CPU is not billed to the dialer), `dialer serve`
(whose CPU and memory are read from /proc), and this one (the API client, in a thread).
Then, for comparison on the same machine, `bench_engine`'s single campaign with the
same calls. Prints a table, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

import yaml
from bench_engine import SECRET, cpu_seconds_of, start_simulator
from bench_engine import bench as bench_engine
from bench_report import print_figures

from dialer.control.app import opened_store
from dialer.store.base import NewContact


def campaign_file(name: str, port: int, channels: int, rate: float, trunk: int) -> str:
    return yaml.safe_dump(
        {
            "name": name,
            "list": name,
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": {"port": port, "secret_env": "DIALER_AMI_SECRET"},
            "dial": {
                "channel": "Local/{number}@dialer-test-callees",
                "trunk": {"name": "bench-trunk", "max_channels": trunk},
            },
            "pacing": {"max_channels": channels, "calls_per_second": rate},
            "retry": {"max_attempts": 1},
        }
    )


class Api:
    """One keep-alive HTTP connection to the service, with a token."""

    def __init__(self, url: str, token: str) -> None:
        where = urllib.parse.urlsplit(url)
        self._conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
        self._headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = dict(self._headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self._conn.request(method, path, payload, headers)
            response = self._conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self._conn.close()  # uvicorn closes a keep-alive connection idle for 5 s
            self._conn.request(method, path, payload, headers)
            response = self._conn.getresponse()
        return response.status, json.loads(response.read() or b"null")


class Prober(threading.Thread):
    """GET /campaigns/<name> every `interval` seconds, round the campaigns; latencies."""

    def __init__(self, url: str, token: str, names: list[str], interval: float) -> None:
        super().__init__(daemon=True)
        self._api = Api(url, token)
        self._names = names
        self._interval = interval
        self.latencies: list[float] = []
        self.errors = 0
        self.stop = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop.wait(self._interval):
            name = self._names[i % len(self._names)]
            i += 1
            start = time.perf_counter()
            try:
                code, _ = self._api.call("GET", f"/campaigns/{name}")
            except (OSError, http.client.HTTPException):
                self.errors += 1
                continue
            self.latencies.append(time.perf_counter() - start)
            self.errors += code != 200


def memory_mb(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return fields


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def dialer_cli(db: Path | str, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer", "--db", str(db), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"dialer {' '.join(args)} failed: {err.decode()}")
    return out.decode()


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    sim, port = await start_simulator(args.ring, args.message)
    assert sim.stdin is not None
    names = [f"bench-{i:02d}" for i in range(args.campaigns)]
    per_campaign = args.calls // args.campaigns
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        async with opened_store(db) as store:
            for k, name in enumerate(names):  # numbers ending in 0: answered, message, hang up
                contacts = [NewContact(number=f"+79{k:02d}{i:06d}0") for i in range(per_campaign)]
                await store.import_contacts(name, contacts)
        token = (await dialer_cli(db, "tokens", "create", "--role", "admin")).split()[-1]
        env = {**os.environ, "DIALER_AMI_SECRET": SECRET}
        serve = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "dialer", "--db", str(db), "serve", "--listen", "127.0.0.1:0",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, env=env,
        )  # fmt: skip
        assert serve.stdout is not None
        url = (await serve.stdout.readline()).decode().rsplit(" ", 1)[1].strip()
        api = Api(url, token)
        channels = max(1, 2 * args.channels // args.campaigns)  # the trunk is what binds
        for name in names:
            content = campaign_file(
                name, port, channels, args.rate / args.campaigns * 2, args.channels
            )
            code, answer = api.call("POST", "/campaigns", {"content": content, "source": name})
            assert code == 201, answer
        idle = Prober(url, token, names, args.probe_interval)  # the same asks, no calls
        idle_cpu = cpu_seconds_of(serve.pid)
        idle.start()
        await asyncio.sleep(5.0)
        idle.stop.set()
        idle.join()
        # What the API's asks cost the dialer, to tell the calls' CPU from theirs.
        cpu_per_ask = (cpu_seconds_of(serve.pid) - idle_cpu) / max(1, len(idle.latencies))
        prober = Prober(url, token, names, args.probe_interval)
        rss_idle = memory_mb(serve.pid)["VmRSS"]
        cpu_before, wall_before = cpu_seconds_of(serve.pid), time.perf_counter()
        for name in names:
            code, answer = api.call("POST", f"/campaigns/{name}/start")
            assert code == 200, answer
        prober.start()
        listed: list[float] = []  # GET /campaigns (every campaign's row), every 2 s
        while True:
            await asyncio.sleep(2.0)
            start = time.perf_counter()
            code, rows = await asyncio.to_thread(api.call, "GET", "/campaigns")
            listed.append(time.perf_counter() - start)
            if all(r["contacts"] and r["final"] == r["contacts"] for r in rows):
                break
        wall = time.perf_counter() - wall_before
        dialer_cpu = cpu_seconds_of(serve.pid) - cpu_before
        prober.stop.set()
        prober.join()
        memory = memory_mb(serve.pid)
        serve.terminate()
        await serve.wait()
        async with opened_store(db) as store:
            starts = []
            for name in names:
                record = await store.get_campaign(name)
                assert record is not None
                starts += [a.started_at for a in await store.attempts(record.id)]
    sim.stdin.close()
    await sim.wait()
    starts.sort()
    span = (starts[-1] - starts[0]).total_seconds() or 1e-9
    return {
        "campaigns": args.campaigns,
        "calls": len(starts),
        "trunk_channels": args.channels,
        "wall_s": round(wall, 2),
        "originate_rate_per_s": round((len(starts) - 1) / span, 1),
        "dialer_cpu_s": round(dialer_cpu, 2),
        "dialer_cpu_s_per_1000_calls": round(1000 * dialer_cpu / max(1, len(starts)), 3),
        "api_cpu_ms_per_status": round(1000 * cpu_per_ask, 2),
        "dialer_cpu_s_per_1000_calls_without_status_asks": round(
            1000 * (dialer_cpu - cpu_per_ask * len(prober.latencies)) / max(1, len(starts)), 3
        ),
        "status_requests": len(prober.latencies),
        "status_errors": prober.errors,
        "status_p50_ms": round(1000 * percentile(prober.latencies, 0.50), 1),
        "status_p99_ms": round(1000 * percentile(prober.latencies, 0.99), 1),
        "status_p99_idle_ms": round(1000 * percentile(idle.latencies, 0.99), 1),
        "list_max_ms": round(1000 * max(listed), 1),
        "dialer_rss_idle_mb": rss_idle,
        "dialer_rss_mb": memory.get("VmRSS"),
        "dialer_peak_rss_mb": memory.get("VmHWM"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--campaigns", type=int, default=20)
    parser.add_argument("--calls", type=int, default=5000, help="in all, split evenly")
    parser.add_argument("--channels", type=int, default=500, help="the shared trunk's limit")
    parser.add_argument("--rate", type=float, default=250.0, help="calls_per_second, all together")
    parser.add_argument("--ring", type=float, default=0.2)
    parser.add_argument("--message", type=float, default=1.8)
    parser.add_argument("--probe-interval", type=float, default=0.1, help="between status GETs")
    parser.add_argument("--no-engine", action="store_true", help="skip bench-engine's run")
    args = parser.parse_args()
    figures = asyncio.run(bench(args))
    goals = {
        "dialer_rss_mb": ("<= 250", (figures["dialer_rss_mb"] or 0) <= 250),
        "status_p99_ms": ("<= 50", figures["status_p99_ms"] <= 50),
    }
    if not args.no_engine:
        single = asyncio.run(
            bench_engine(args.calls, args.channels, args.rate, args.ring, args.message)
        )
        one = single["dialer_cpu_s_per_1000_calls"]
        figures["engine_single_campaign_cpu_s_per_1000_calls"] = one
        figures["engine_single_campaign_originate_rate_per_s"] = single["originate_rate_per_s"]
        many = figures["dialer_cpu_s_per_1000_calls"]
        figures["cpu_per_call_vs_single_campaign"] = round(many / one, 2) if one else None
        goals["dialer_cpu_s_per_1000_calls"] = (
            "<= single campaign's",
            many <= one,
        )
    print_figures(
        "Service benchmark: 20 campaigns in one dialer serve (simulated PBX)", figures, goals
    )


if __name__ == "__main__":
    main()
