"""A private, throw-away redis-server for tests: a free loopback port, its own temporary
folder, no persistence (no RDB snapshots, no append-only file), removed after.

    with start_private_redis(workdir) as server:
        server.url            # redis://127.0.0.1:<port>/0
        server.restart()      # stop it (its data is lost, like a crashed Redis) and
                              # start it again on the same port
        server.stop(); server.start()   # a longer outage, in two steps

Used by tests/coord/conftest.py. `scripts/setup --test` installs Debian's redis-server;
without it the tests that need one are skipped, saying so.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

REDIS_BINARY = shutil.which("redis-server") or (
    "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
)
SKIP_REASON = "no redis-server installed (scripts/setup --test installs it as root)"
START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    def __init__(self, workdir: Path, binary: str) -> None:
        self.workdir = workdir
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = workdir / "redis.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.process is None, "already running"
        command = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.workdir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--logfile",
            str(self.log),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                self.process = None
                raise RuntimeError(f"redis-server exited at start: {error}{self._log_tail()}")
            if self._answers():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {START_TIMEOUT_S} s")

    def stop(self) -> None:
        """Killed (SIGKILL): what a crashed Redis does; with no persistence its data is gone."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def flush(self) -> None:
        self._command(b"*1\r\n$8\r\nFLUSHALL\r\n")

    def _answers(self) -> bool:
        try:
            return self._command(b"*1\r\n$4\r\nPING\r\n").startswith(b"+PONG")
        except OSError:
            return False

    def _command(self, raw: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(raw)
            return sock.recv(1024)

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text()[-2000:]
        return ""


@contextlib.contextmanager
def start_private_redis(workdir: Path, binary: str | None = REDIS_BINARY) -> Iterator[PrivateRedis]:
    if binary is None:
        raise RuntimeError(SKIP_REASON)
    server = PrivateRedis(workdir, binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()
