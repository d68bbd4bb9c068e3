"""Closing an attempt is never lost: while its store write fails (another connection
holds the real SQLite file's write lock past the busy timeout, or a trigger makes the
write itself fail) the attempt stays in flight and open, and it is closed once the store
takes the write."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from dialer.engine import runner as runner_module
from dialer.store.base import NewContact
from dialer.store.sqlite import SqliteStore
from tests.unit.test_runner import MemoryPbx, answer_everything, campaign, runner_for

pytestmark = pytest.mark.timeout(20)


async def test_given_the_close_write_fails_once_then_the_attempt_stays_in_flight_until_closed(
    tmp_path: Path,
) -> None:
    store = await SqliteStore.open(tmp_path / "unit.db", busy_timeout=0.05)
    try:
        await store.import_contacts("people", [NewContact(f"+7912000000{i}") for i in range(3)])
        pbx = MemoryPbx()
        runner = runner_for(store, pbx, campaign(retry={"max_attempts": 1}), idle_poll=3600.0)
        run = asyncio.create_task(runner.run(asyncio.Event()))
        await pbx.wait_up(3)
        first = pbx.requests[0].attempt_id

        other = sqlite3.connect(store.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        pbx.end(first)
        while runner.snapshot.store_waiting is None:
            await asyncio.sleep(0.01)  # the close met the lock and waits it out
        assert runner.snapshot.in_flight == 3
        assert first in runner._in_flight
        other.execute("ROLLBACK")
        other.close()

        answerer = asyncio.create_task(answer_everything(pbx))
        snapshot = await run
        answerer.cancel()
        assert snapshot.state == "finished"
        record = await store.get_campaign("unit")
        assert record is not None
        attempts = {a.attempt_id: a for a in await store.attempts(record.id)}
        assert attempts[first].ended_at is not None
        assert all(a.ended_at is not None for a in attempts.values())
        assert snapshot.closed == 3 and snapshot.store_waiting is None
    finally:
        await store.close()


async def test_given_the_store_refuses_a_close_for_a_while_then_it_is_written_once_it_can_be(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Not a busy lock: the store fails the write itself (a trigger aborts it, as a full
    disk or a corrupt page would). The attempt stays in flight, the run does not end
    with it unwritten, and it is closed as soon as the store takes the write."""
    monkeypatch.setattr(runner_module, "UNWRITTEN_RETRY_S", 0.05)
    store = await SqliteStore.open(tmp_path / "unit.db")
    try:
        await store.import_contacts("people", [NewContact(f"+7912000000{i}") for i in range(3)])
        pbx = MemoryPbx()
        runner = runner_for(store, pbx, campaign(retry={"max_attempts": 1}), idle_poll=0.05)
        run = asyncio.create_task(runner.run(asyncio.Event()))
        await pbx.wait_up(3)
        other = sqlite3.connect(store.path, isolation_level=None)
        other.execute(
            "CREATE TRIGGER refuse_close BEFORE UPDATE OF ended_at ON attempts"
            " BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )
        first = pbx.requests[0].attempt_id
        pbx.end(first)

        def failures() -> int:
            return sum(r.getMessage() == "engine.close_write_failed" for r in caplog.records)

        while failures() <= runner_module.CLOSE_RETRIES:  # given up once, then retried
            await asyncio.sleep(0.02)
        assert not run.done()
        assert first in runner._in_flight and runner.snapshot.closed == 0
        other.execute("DROP TRIGGER refuse_close")
        other.close()

        answerer = asyncio.create_task(answer_everything(pbx))
        snapshot = await asyncio.wait_for(run, 10)
        answerer.cancel()
        assert snapshot.state == "finished"
        assert snapshot.closed == 3
        record = await store.get_campaign("unit")
        assert record is not None
        attempts = await store.attempts(record.id)
        assert len(attempts) == 3 and all(a.ended_at is not None for a in attempts)
    finally:
        await store.close()
