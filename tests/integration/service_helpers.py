"""`dialer serve` as a real process for the service tests: started on a free loopback
port (it prints the address it listens on), tokens made with `dialer tokens create`,
requests over real HTTP."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialer.simpbx import SimulatedPbx
from tests.integration.conftest import SECRET
from tests.integration.test_cli import run_dialer


@dataclass
class Service:
    proc: asyncio.subprocess.Process
    url: str
    db: Path | str
    _log: list[str]
    _reader: asyncio.Task[None]

    async def stop(self, timeout: float = 60) -> int:
        if self.proc.returncode is None:
            self.proc.terminate()
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def stderr(self) -> str:
        """What the service wrote on stderr (all of it once it has exited)."""
        if self.proc.returncode is not None:
            await self._reader
        return "".join(self._log)


async def _keep_reading(stream: asyncio.StreamReader, into: list[str]) -> None:
    """Read the service's stderr as it comes: a full pipe would freeze the service."""
    while line := await stream.readline():
        into.append(line.decode(errors="replace"))


async def start_service(db: Path | str, *extra: str, ami_secret: str = SECRET) -> Service:
    env = {**os.environ, "DIALER_AMI_SECRET": ami_secret}
    env.pop("DIALER_SERVER", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer", "--db", str(db), "serve", "--listen", "127.0.0.1:0",
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    assert proc.stderr is not None
    log: list[str] = []
    reader = asyncio.create_task(_keep_reading(proc.stderr, log))
    assert line.startswith("dialer service listening on http://"), line
    return Service(proc, line.rsplit(" ", 1)[1].strip(), db, log, reader)


async def make_token(db: Path | str, role: str) -> str:
    code, out, err = await run_dialer("--db", str(db), "tokens", "create", "--role", role)
    assert code == 0, err
    return out.strip().splitlines()[-1]


def request(
    url: str, method: str, path: str, token: str | None = None, body: Any = None
) -> tuple[int, Any]:
    """(status, decoded JSON or text) of one real HTTP request."""
    where = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, payload, headers)
        response = conn.getresponse()
        data = response.read().decode()
    finally:
        conn.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data


async def api(
    url: str, method: str, path: str, token: str | None = None, body: Any = None
) -> tuple[int, Any]:
    return await asyncio.to_thread(request, url, method, path, token, body)


async def until(condition: Callable[[], bool | Awaitable[bool]], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def logins(pbx: SimulatedPbx) -> int:
    """AMI sessions logged in at the simulator now."""
    return sum(1 for session in pbx.sessions if session.authenticated)


def originated_by(pbx: SimulatedPbx, campaign: str) -> list[str]:
    return [o.channel_id for o in pbx.originates if o.variables.get("DIALER_CAMPAIGN") == campaign]


async def dialer_cli(url: str, token: str, *args: str) -> tuple[int, str, str]:
    """A `dialer` command pointed at the service through the environment."""
    env = {**os.environ, "DIALER_SERVER": url, "DIALER_TOKEN": token, "COLUMNS": "200"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
