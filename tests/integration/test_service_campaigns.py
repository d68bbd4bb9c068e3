"""`dialer serve` as a real process against the simulated PBX: several campaigns at once
over one AMI login, pause and resume, live updates of a running campaign's file.
Counted on the simulator's side (its logins, its record of every Originate)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from dialer.simpbx import SimulatedPbx
from tests.integration.service_helpers import (
    api,
    dialer_cli,
    logins,
    make_token,
    originated_by,
    start_service,
    until,
)
from tests.integration.test_cli import seeded_db, write_campaign

pytestmark = pytest.mark.timeout(180)


def open_attempts(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(
            conn.execute("SELECT count(*) FROM attempts WHERE ended_at IS NULL").fetchone()[0]
        )


async def register(url: str, admin: str, path: Path) -> dict[str, object]:
    code, answer = await api(
        url, "POST", "/campaigns", admin, {"content": path.read_text(), "source": str(path)}
    )
    assert code == 201, answer
    return answer


async def test_two_campaigns_run_at_once_in_one_service_over_one_ami_login(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await seeded_db(tmp_path, 80)
    admin, supervisor = await make_token(db, "admin"), await make_token(db, "supervisor")
    service = await start_service(db)
    try:
        # spring-b is paced by the operators of the queue both campaigns feed.
        progressive = {"mode": "progressive", "compliance_message": "vm-goodbye"}
        for name, mode in (("spring-a", {}), ("spring-b", progressive)):
            path = write_campaign(
                tmp_path / f"{name}.yaml", pbx.port, name=name,
                pacing={"max_channels": 4, "calls_per_second": 20, **mode},
            )  # fmt: skip
            await register(service.url, admin, path)
            code, _ = await api(service.url, "POST", f"/campaigns/{name}/start", supervisor)
            assert code == 200
        await until(
            lambda: (
                len(originated_by(pbx, "spring-a")) >= 10
                and len(originated_by(pbx, "spring-b")) >= 10
            )
        )
        assert logins(pbx) == 1  # both campaigns dial through one AMI session
        for name in ("spring-a", "spring-b"):
            code, status = await api(service.url, "GET", f"/campaigns/{name}", supervisor)
            assert code == 200
            assert status["state"] == "dialing" and status["wanted"] == "running"
            assert status["originated"] >= 10
        _, fixed = await api(service.url, "GET", "/campaigns/spring-a", supervisor)
        assert fixed["pacing"]["max_channels"] == 4
        _, paced = await api(service.url, "GET", "/campaigns/spring-b", supervisor)
        # The figures `dialer status` shows: dial level, operators, abandon per window.
        assert paced["pacing"]["mode"] == "progressive"
        assert paced["pacing"]["operators"]["available"] >= 0
        assert set(paced["pacing"]["abandon"]) == {"24h", "30d"}
        assert paced["pacing"]["dial_level"] is not None
        code, out, _ = await dialer_cli(service.url, supervisor, "status", "spring-b")
        assert code == 0 and "Abandoned calls" in out and "dial level" in out

        async def both_finished() -> bool:
            _, rows = await api(service.url, "GET", "/campaigns", supervisor)
            return all(r["state"] == "finished" and r["wanted"] == "stopped" for r in rows)

        await until(both_finished, timeout=120)
        assert logins(pbx) == 1
    finally:
        assert await service.stop() == 0
    ids = [o.channel_id for o in pbx.originates]
    assert len(ids) == len(set(ids))
    assert len(originated_by(pbx, "spring-a")) >= 80
    assert len(originated_by(pbx, "spring-b")) >= 80


async def test_pause_stops_new_originates_calls_in_progress_finish_and_resume_continues(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await seeded_db(tmp_path, 400)
    admin, supervisor = await make_token(db, "admin"), await make_token(db, "supervisor")
    path = write_campaign(
        tmp_path / "c.yaml", pbx.port, pacing={"max_channels": 5, "calls_per_second": 20}
    )
    service = await start_service(db)
    try:
        await register(service.url, admin, path)
        code, out, err = await dialer_cli(service.url, supervisor, "start", "spring-promo")
        assert code == 0, err
        await until(lambda: len(pbx.originates) >= 20)

        code, out, err = await dialer_cli(service.url, supervisor, "pause", "spring-promo")
        paused_at = time.time()
        assert code == 0, err
        assert "wanted paused" in out
        await asyncio.sleep(2.0)
        # Counted at the PBX: nothing originated once the pause was answered (the calls
        # the runner had already started may reach the PBX a few ms later).
        late = [o for o in pbx.originates if o.time > paused_at + 0.2]
        assert late == []
        # The calls in progress at the pause went on to their end and were closed.
        assert all(call.ended is not None for call in pbx.calls.values())
        assert open_attempts(db) == 0
        code, status = await api(service.url, "GET", "/campaigns/spring-promo", supervisor)
        assert status["state"] == "paused" and status["in_flight"] == 0
        assert status["pacing"]["paused"] is True
        code, out, _ = await dialer_cli(service.url, supervisor, "status", "spring-promo")
        assert code == 0 and "paused" in out and "wanted: paused" in out

        before = len(pbx.originates)
        code, out, err = await dialer_cli(service.url, supervisor, "resume", "spring-promo")
        assert code == 0, err
        await until(lambda: len(pbx.originates) >= before + 20)
        code, status = await api(service.url, "GET", "/campaigns/spring-promo", supervisor)
        assert status["state"] == "dialing" and status["wanted"] == "running"

        # Stopped, then started again in the same service: a second run on the same link.
        code, out, err = await dialer_cli(service.url, supervisor, "stop", "spring-promo")
        assert code == 0 and "wanted stopped" in out, err

        async def stopped() -> bool:
            _, status = await api(service.url, "GET", "/campaigns/spring-promo", supervisor)
            return not status["driven_here"] and status["standing"] == "stopped"

        await until(stopped)
        assert open_attempts(db) == 0
        before = len(pbx.originates)
        code, out, err = await dialer_cli(service.url, supervisor, "start", "spring-promo")
        assert code == 0, err
        await until(lambda: len(pbx.originates) >= before + 20)
    finally:
        assert await service.stop() == 0
    ids = [o.channel_id for o in pbx.originates]
    assert len(ids) == len(set(ids))


async def test_a_running_campaign_takes_new_pacing_live_and_refuses_other_changes(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await seeded_db(tmp_path, 600)
    admin, supervisor = await make_token(db, "admin"), await make_token(db, "supervisor")
    path = write_campaign(
        tmp_path / "c.yaml", pbx.port, pacing={"max_channels": 2, "calls_per_second": 50}
    )
    service = await start_service(db)
    try:
        await register(service.url, admin, path)
        await api(service.url, "POST", "/campaigns/spring-promo/start", supervisor)
        await until(lambda: len(pbx.originates) >= 30)
        assert pbx.max_concurrent <= 2

        write_campaign(path, pbx.port, pacing={"max_channels": 8, "calls_per_second": 50})
        answer = await register(service.url, admin, path)
        assert answer["version"] == 2
        assert answer["applied_live"] == ["pacing.max_channels"]
        await until(lambda: pbx.max_concurrent > 2)
        code, status = await api(service.url, "GET", "/campaigns/spring-promo", supervisor)
        assert status["pacing"]["max_channels"] == 8 and status["version"] == 2

        write_campaign(
            path, pbx.port, pacing={"max_channels": 8, "calls_per_second": 50},
            dial={"channel": "Local/{number}@dialer-test-callees", "ring_timeout": "20s"},
        )  # fmt: skip
        code, refused = await api(
            service.url, "POST", "/campaigns", admin,
            {"content": path.read_text(), "source": str(path)},
        )  # fmt: skip
        assert code == 409
        assert (
            "dial.ring_timeout: calls in progress were placed with these dial settings"
            in (refused["detail"])
        )
        code, status = await api(service.url, "GET", "/campaigns/spring-promo", supervisor)
        assert status["version"] == 2  # the refused file was not kept
    finally:
        assert await service.stop() == 0
    assert pbx.max_concurrent <= 8
