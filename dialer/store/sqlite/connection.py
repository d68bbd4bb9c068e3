"""The SQLite file under every role: opening it, WAL, migrations, transactions.

Why it is shaped this way:
- One connection serves every role, and each role method is one short transaction on
  it. Plain sqlite3 calls inside async methods are fine: each is sub-millisecond (WAL,
  synchronous=NORMAL), cheaper than a thread hop.
- The exception is a read that visits a whole campaign (the dashboard's lead funnel):
  read_apart runs it on a connection of its own in a worker thread, so that calls in
  progress are served while it steps (SQLite lets go of the GIL; WAL: it blocks no one).
- Every write transaction is BEGIN IMMEDIATE: it takes the write lock up front, so two
  processes on one file wait for each other (busy_timeout) instead of failing half way
  when a read lock cannot be upgraded. That is also what makes lease_due atomic.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from dialer.private_files import create_private
from dialer.store.base import StoreBusy, StoreError
from dialer.store.migrations import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000
T = TypeVar("T")


class SqliteConnection:
    """One open database file, with its schema current."""

    def __init__(self, db: sqlite3.Connection, path: str, busy_timeout_ms: int) -> None:
        self.db = db
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._closed = False

    @classmethod
    def open(cls, path: str | Path, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> SqliteConnection:
        """Open (creating if needed) the database and bring its schema up to date."""
        target = str(path)
        if target != ":memory:":
            # Created 0600 before SQLite opens it: its -wal and -shm files copy the mode.
            create_private(Path(target))
        try:
            db = sqlite3.connect(target, isolation_level=None, timeout=busy_timeout_ms / 1000)
            db.row_factory = sqlite3.Row
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open database {target}: {exc}") from exc
        try:
            _configure(db, busy_timeout_ms)
            _migrate(db, target)
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreError(f"cannot use database {target}: {exc}") from exc
        except BaseException:
            db.close()
            raise
        return cls(db, target, busy_timeout_ms)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            # Cheap, keeps the planner's statistics fresh; best effort: it may find
            # another process writing (SQLITE_BUSY), and that must not fail a shutdown.
            self.db.execute("PRAGMA optimize")
        except sqlite3.OperationalError:
            log.debug("PRAGMA optimize skipped on close of %s", self.path)
        finally:
            self.db.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the file's write lock from its first statement.

        Raises StoreBusy when another process kept the lock past the busy timeout: the
        caller decides whether to wait and retry (the engine does, with back-off)."""
        with _busy_as_store_busy(self.path):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for reads that take more than one statement."""
        with _busy_as_store_busy(self.path):
            self.db.execute("BEGIN")
            try:
                yield self.db
            finally:
                self.db.execute("COMMIT")

    async def read_apart(self, reads: Callable[[sqlite3.Connection], T]) -> T:
        """reads(db) in one read transaction on a read-only connection of its own, in a
        worker thread (a long read: the event loop goes on meanwhile). An in-memory base
        has no file to share: there it runs on the shared connection."""
        if self.path == ":memory:":
            with self.read() as db:
                return reads(db)
        return await asyncio.to_thread(self._read_apart, reads)

    def _read_apart(self, reads: Callable[[sqlite3.Connection], T]) -> T:
        uri = f"file:{urllib.parse.quote(str(Path(self.path).resolve()))}?mode=ro"
        with _busy_as_store_busy(self.path):
            db = sqlite3.connect(
                uri, uri=True, isolation_level=None, timeout=self._busy_timeout_ms / 1000
            )
            try:
                db.row_factory = sqlite3.Row
                db.execute("BEGIN")
                return reads(db)
            finally:
                db.close()  # ends the read transaction too


@contextmanager
def _busy_as_store_busy(path: str) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        message = str(exc)
        if "locked" in message or "busy" in message:
            raise StoreBusy(f"database {path} is busy (another process writing): {exc}") from exc
        raise


class SqliteRole:
    """What each role's implementation stands on: the shared connection."""

    def __init__(self, conn: SqliteConnection) -> None:
        self._conn = conn


def _configure(db: sqlite3.Connection, busy_timeout_ms: int) -> None:
    db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]  # readers never block writers
    if mode not in ("wal", "memory"):
        log.warning("SQLite journal mode is %s, not WAL (network file system?)", mode)
    db.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at checkpoints, no fsync per commit
    # Measured on a million-contact import: a 32 MB page cache and checkpoints every
    # ~40 MB of WAL (instead of 2 MB and 4 MB) cut the store's time by a quarter, since
    # index pages stay cached and are written back once instead of at every checkpoint.
    db.execute("PRAGMA cache_size = -32768")
    db.execute("PRAGMA wal_autocheckpoint = 10000")
    db.execute("PRAGMA foreign_keys = ON")
    try:
        db.execute("SELECT json_patch('{}', '{}')")
    except sqlite3.OperationalError as exc:
        raise StoreError(
            f"this SQLite ({sqlite3.sqlite_version}) has no JSON functions: use SQLite >= 3.38"
        ) from exc


def _migrate(db: sqlite3.Connection, target: str) -> None:
    """Apply the missing migrations in one write transaction (two processes opening a new
    file at once: the second waits, then finds the schema current)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            " version INTEGER PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        current = db.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"database {target} has schema version {current}, newer than this dialer"
                f" understands (up to {SCHEMA_VERSION}): upgrade the dialer"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in _statements(MIGRATIONS[version - 1]):
                db.execute(statement)
            db.execute("INSERT INTO schema_version VALUES (?, ?)", (version, time.time()))
            log.info("database %s: schema migrated to version %d", target, version)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _statements(script: str) -> Iterator[str]:
    """Split a migration into statements (executescript would COMMIT our transaction)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:60]}")
