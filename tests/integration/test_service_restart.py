"""The service's wanted states across its own death: SIGTERM drains and exits 0; kill -9
and a restart resumes what was running (and keeps paused what was paused) with no
Originate sent twice. Counted on the simulator's side."""

from __future__ import annotations

import asyncio
import itertools
import signal
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialer.outcomes import ContactStatus, Outcome
from dialer.simpbx import SimulatedPbx
from dialer.store import open_store
from tests.integration.service_helpers import (
    api,
    make_token,
    originated_by,
    start_service,
    until,
)
from tests.integration.test_cli import run_dialer, seeded_db, write_campaign
from tests.integration.test_service_campaigns import open_attempts, register

pytestmark = pytest.mark.timeout(240)


def assert_no_number_called_twice_at_once(pbx: SimulatedPbx) -> None:
    spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for call in pbx.calls.values():
        assert call.ended is not None
        spans[call.number].append((call.started, call.ended))
    for number, calls in spans.items():
        calls.sort()
        for (_, end), (start, _) in itertools.pairwise(calls):
            assert start >= end, number


@pytest.mark.store_backends
async def test_kill_9_and_restart_resumes_running_campaigns_without_a_duplicate_originate(
    pbx: SimulatedPbx, tmp_path: Path, store_url: str
) -> None:
    db = await seeded_db(tmp_path, 120, store_url)
    admin, supervisor = await make_token(db, "admin"), await make_token(db, "supervisor")
    service = await start_service(db)
    for name in ("spring-run", "spring-hold"):
        path = write_campaign(
            tmp_path / f"{name}.yaml", pbx.port, name=name,
            pacing={"max_channels": 6, "calls_per_second": 30},
        )  # fmt: skip
        await register(service.url, admin, path)
        await api(service.url, "POST", f"/campaigns/{name}/start", supervisor)
    await until(lambda: len(originated_by(pbx, "spring-hold")) >= 5)
    code, _ = await api(service.url, "POST", "/campaigns/spring-hold/pause", supervisor)
    assert code == 200
    await until(lambda: len(originated_by(pbx, "spring-run")) >= 40)

    service.proc.send_signal(signal.SIGKILL)
    await service.proc.wait()
    killed_at = datetime.now(UTC)
    held_before = len(originated_by(pbx, "spring-hold"))
    run_before = len(originated_by(pbx, "spring-run"))

    service = await start_service(db)
    try:
        answers: list[tuple[int, object]] = []

        async def run_finished() -> bool:
            # The restarted service may answer before it has loaded its campaigns again:
            # polled until finished; the answers seen are kept for the failure message.
            code, status = await api(service.url, "GET", "/campaigns/spring-run", supervisor)
            answers.append((code, status))
            return code == 200 and status["state"] == "finished"

        await until(run_finished, timeout=150)
        assert all(code == 200 for code, _ in answers[1:]), answers[:3]
        assert len(originated_by(pbx, "spring-run")) > run_before
        # The paused campaign came back paused: it adopted its calls, dialled none.
        code, status = await api(service.url, "GET", "/campaigns/spring-hold", supervisor)
        assert status["wanted"] == "paused" and status["state"] == "paused"
        assert len(originated_by(pbx, "spring-hold")) == held_before
    finally:
        assert await service.stop() == 0

    ids = [o.channel_id for o in pbx.originates]
    assert len(ids) == len(set(ids))  # no attempt originated twice
    assert_no_number_called_twice_at_once(pbx)
    store = await open_store(db)
    try:
        record = await store.get_campaign("spring-run")
        assert record is not None
        lines = await store.contact_report(record.id)
        assert all(line.status is ContactStatus.DONE for line in lines)
        # Every originate at the PBX is an attempt in the store: none lost.
        attempts = {a.attempt_id: a for a in await store.attempts(record.id)}
        at_pbx = originated_by(pbx, "spring-run")
        assert set(at_pbx) <= set(attempts)
        # An attempt is written before its Originate leaves (a crash then must leave a
        # call to reconcile, never a second dial): the kill may land between the two.
        # Such an attempt is one of the calls in flight at the kill, and is closed as
        # of unknown fate, never dialled under its id.
        never_sent = [a for attempt_id, a in attempts.items() if attempt_id not in at_pbx]
        assert len(never_sent) <= 6, never_sent  # max_channels
        for attempt in never_sent:
            assert attempt.started_at <= killed_at, attempt
            assert attempt.outcome is Outcome.UNKNOWN and attempt.ended_at is not None, attempt
    finally:
        await store.close()


async def test_sigterm_drains_calls_in_progress_exits_0_and_the_next_start_resumes(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await seeded_db(tmp_path, 100)
    admin, supervisor = await make_token(db, "admin"), await make_token(db, "supervisor")
    path = write_campaign(
        tmp_path / "c.yaml", pbx.port, pacing={"max_channels": 8, "calls_per_second": 20}
    )
    service = await start_service(db, "--drain-timeout", "20s")
    await register(service.url, admin, path)
    await api(service.url, "POST", "/campaigns/spring-promo/start", supervisor)
    await until(lambda: len(pbx.originates) >= 30)

    service.proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(service.proc.wait(), 40) == 0
    assert "stopping: no new calls" in await service.stderr()
    dialled = len(pbx.originates)
    assert all(call.ended is not None for call in pbx.calls.values())
    assert open_attempts(db) == 0  # every call in progress finished and was closed
    code, out, err = await run_dialer("--db", str(db), "campaigns", "list", "--format", "json")
    assert code == 0, err
    assert '"wanted": "running"' in out  # a drain is not a stop: the next start resumes

    service = await start_service(db)
    try:

        async def finished() -> bool:
            _, status = await api(service.url, "GET", "/campaigns/spring-promo", supervisor)
            return status["state"] == "finished"

        await until(finished, timeout=120)
    finally:
        assert await service.stop() == 0
    assert len(pbx.originates) > dialled
    ids = [o.channel_id for o in pbx.originates]
    assert len(ids) == len(set(ids))
