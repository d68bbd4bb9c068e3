"""`dialer serve` as a real process sends a campaign's webhooks to a real receiver that
fails its first requests: every attempt the simulated PBX saw originated arrives once
(by event id), signed, and so does the campaign's end."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dialer.simpbx import SimulatedPbx
from tests.integration.service_helpers import (
    api,
    make_token,
    originated_by,
    start_service,
    until,
)
from tests.integration.test_cli import seeded_db, write_campaign
from tests.integration.test_webhooks import SECRET, Receiver, _free_socket, serving

pytestmark = pytest.mark.timeout(180)


def delivered(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT count(*) FROM webhook_outbox WHERE delivered_at IS NOT NULL")
        return int(row.fetchone()[0])


async def test_service_delivers_every_attempt_once_through_a_failing_receiver(
    pbx: SimulatedPbx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALER_TEST_HOOK_SECRET", SECRET)
    db = await seeded_db(tmp_path, 12)
    admin, supervisor = await make_token(db, "admin"), await make_token(db, "supervisor")
    sock = _free_socket()
    hook = {
        "url": f"http://127.0.0.1:{sock.getsockname()[1]}/hook",
        "events": ["attempt.finished", "campaign.finished"],
        "secret_env": "DIALER_TEST_HOOK_SECRET",
    }
    path = write_campaign(
        tmp_path / "crm.yaml", pbx.port, name="crm", webhooks=[hook],
        pacing={"max_channels": 4, "calls_per_second": 20},
    )  # fmt: skip
    receiver = Receiver(fail_first=2)
    async with serving(receiver, sock):
        service = await start_service(db)
        try:
            code, _ = await api(
                service.url, "POST", "/campaigns", admin,
                {"content": path.read_text(), "source": str(path)},
            )  # fmt: skip
            assert code == 201
            code, _ = await api(service.url, "POST", "/campaigns/crm/start", supervisor)
            assert code == 200

            def all_in() -> bool:
                events = [b["event"] for b in receiver.bodies.values()]
                return (
                    "campaign.finished" in events
                    and len(receiver.accepted) == len(originated_by(pbx, "crm")) + 1
                )

            # The two refused deliveries wait out their back-off (5 s, then 10 s at most).
            await until(all_in, timeout=150)
        finally:
            assert await service.stop() == 0
    attempts = {k for k, b in receiver.bodies.items() if b["event"] == "attempt.finished"}
    # Counted on the PBX's side: one event per call the simulator saw originated.
    assert attempts == {f"attempt.finished:{c}" for c in originated_by(pbx, "crm")}
    assert len(attempts) >= 12
    assert [b["event"] for b in receiver.bodies.values()].count("campaign.finished") == 1
    assert all(count == 1 for count in receiver.accepted.values())
    assert receiver.bad_signatures == 0
    assert receiver.requests == len(receiver.accepted) + 2
    assert delivered(db) == len(receiver.accepted)


async def test_events_queued_while_the_receiver_is_down_survive_a_service_restart(
    pbx: SimulatedPbx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALER_TEST_HOOK_SECRET", SECRET)
    db = await seeded_db(tmp_path, 6)
    admin, supervisor = await make_token(db, "admin"), await make_token(db, "supervisor")
    sock = _free_socket()  # bound, not listening: the receiver is down
    hook = {
        "url": f"http://127.0.0.1:{sock.getsockname()[1]}/hook",
        "events": ["attempt.finished", "campaign.finished"],
        "secret_env": "DIALER_TEST_HOOK_SECRET",
    }
    path = write_campaign(tmp_path / "crm.yaml", pbx.port, name="crm", webhooks=[hook])
    service = await start_service(db)
    try:
        code, _ = await api(
            service.url, "POST", "/campaigns", admin,
            {"content": path.read_text(), "source": str(path)},
        )  # fmt: skip
        assert code == 201
        code, _ = await api(service.url, "POST", "/campaigns/crm/start", supervisor)
        assert code == 200

        async def finished() -> bool:
            _, rows = await api(service.url, "GET", "/campaigns", supervisor)
            return any(r["campaign"] == "crm" and r["state"] == "finished" for r in rows)

        await until(finished, timeout=120)
    finally:
        assert await service.stop() == 0
    assert delivered(db) == 0
    receiver = Receiver(fail_first=0)
    async with serving(receiver, sock):
        service = await start_service(db)  # sends what the last run left in the outbox
        try:
            expected = len(originated_by(pbx, "crm")) + 1
            # The first tries failed at the old run: due again after their back-off.
            await until(lambda: len(receiver.accepted) == expected, timeout=60)
        finally:
            assert await service.stop() == 0
    assert {b["event"] for b in receiver.bodies.values()} == {
        "attempt.finished",
        "campaign.finished",
    }
    assert all(count == 1 for count in receiver.accepted.values())
    assert receiver.bad_signatures == 0
    assert delivered(db) == expected
