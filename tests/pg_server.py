"""A private PostgreSQL server for the tests and benchmarks: initdb in a temporary folder,
pg_ctl start on a free loopback port (its unix socket in that folder too), one fresh
database per test, everything stopped and removed at the end.

The binaries come from Debian's postgresql package (/usr/lib/postgresql/*/bin), which
`scripts/setup --test` installs. initdb refuses to run as root: as root the server runs
as the `postgres` user that package creates (runuser), its folder owned by that user.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SUPERUSER = "dialer"


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin folder, None when none is installed."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


def why_unavailable() -> str | None:
    """None when a private server can be started, else the reason (for a skip)."""
    if find_bin_dir() is None:
        return "PostgreSQL is not installed (scripts/setup --test installs Debian's postgresql)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root needs runuser to start PostgreSQL as the postgres user"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivatePostgres:
    """One server of our own; `url(db)` names a database on it."""

    def __init__(self) -> None:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise RuntimeError(why_unavailable() or "no PostgreSQL")
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="dialer-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
            self.root.chmod(0o700)

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            [*self._as_user, *args], capture_output=True, text=True, check=False, cwd=self.root
        )
        if result.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {result.stdout}{result.stderr}")

    def start(self) -> PrivatePostgres:
        """Create the cluster on first start, then start the server (again)."""
        if not self.data.exists():
            self._run(
                str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync",
            )  # fmt: skip
        # Fast and throwaway: nothing here must survive a crash of the machine.
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port}"
            f" -c unix_socket_directories={self.root} -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh empty database; returns its URL."""
        name = f"t{next(self._names)}"
        self._run(
            str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port),
            "-U", SUPERUSER, "-d", "postgres", "-q", "-c", f"CREATE DATABASE {name}",
        )  # fmt: skip
        return self.url(name)

    def halt(self, mode: str = "fast") -> None:
        """Stop the server, its sessions cut, keeping its data to start again (not
        "immediate" then: with synchronous_commit off, the last commits would be lost)."""
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode,
                      "-w", "stop")  # fmt: skip

    def stop(self) -> None:
        """Stop the server and remove everything it had."""
        try:
            self.halt("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
