"""`dialer serve` against a REAL Asterisk: two campaigns in one service over one AMI
login (Asterisk's own `manager show connected`), pause and resume counted by Asterisk
itself (`core show channels count`: its calls processed), SIGTERM exits 0."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
import yaml

from dialer.store import open_store
from dialer.store.base import NewContact
from tests.asterisk.private_asterisk import TEST_DIAL_STRING, RealAsterisk
from tests.integration.service_helpers import api, make_token, start_service, until

pytestmark = pytest.mark.timeout(240)

# Last digit -> persona of dialer-test-callees: 1 busy, 3 congestion, 5 answers and
# hangs up a second into the message. All end within seconds and are final here.
DIGITS = "135"


def campaign_file(path: Path, name: str, list_name: str, asterisk: RealAsterisk) -> Path:
    ami = {**asterisk.ami_settings(), "secret_env": "DIALER_AMI_SECRET"}
    del ami["secret"]
    data = {
        "name": name,
        "list": list_name,
        "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
        "ami": ami,
        "dial": {"channel": TEST_DIAL_STRING, "ring_timeout": "15s"},
        "pacing": {"max_channels": 3, "calls_per_second": 3, "operator_guaranteed": True},
        "on_answer": {"action": "play_and_hangup", "message": "hello-world"},
        "retry": {"max_attempts": 1},
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def ami_users(asterisk: RealAsterisk) -> int:
    found = re.search(r"(\d+) users? connected", asterisk.cli("manager show connected"))
    assert found is not None
    return int(found.group(1))


def channels(asterisk: RealAsterisk) -> tuple[int, int]:
    """(active channels, calls processed since Asterisk started)."""
    text = asterisk.cli("core show channels count")
    active = re.search(r"(\d+) active channels?", text)
    processed = re.search(r"(\d+) calls? processed", text)
    assert active and processed, text
    return int(active.group(1)), int(processed.group(1))


async def test_two_campaigns_share_one_ami_login_and_pause_stops_calls_on_real_asterisk(
    real_asterisk: RealAsterisk, tmp_path: Path
) -> None:
    db = tmp_path / "dialer.db"
    store = await open_store(db)
    for n, list_name in enumerate(("real-a", "real-b")):
        await store.import_contacts(
            list_name,
            [NewContact(number=f"+7912{n}{i:05d}{DIGITS[i % 3]}") for i in range(60)],
        )
    await store.close()
    admin = await make_token(db, "admin")
    users_before = ami_users(real_asterisk)
    service = await start_service(db, ami_secret=real_asterisk.secret)
    try:
        for name, list_name in (("real-a", "real-a"), ("real-b", "real-b")):
            path = campaign_file(tmp_path / f"{name}.yaml", name, list_name, real_asterisk)
            code, answer = await api(
                service.url, "POST", "/campaigns", admin, {"content": path.read_text()}
            )
            assert code == 201, answer
            code, _ = await api(service.url, "POST", f"/campaigns/{name}/start", admin)
            assert code == 200

        async def both_dialled() -> bool:
            statuses = [(await api(service.url, "GET", f"/campaigns/{n}", admin))[1]
                        for n in ("real-a", "real-b")]  # fmt: skip
            return all((s.get("originated") or 0) >= 3 for s in statuses)

        await until(both_dialled, timeout=60)
        assert ami_users(real_asterisk) == users_before + 1  # one login for both

        for name in ("real-a", "real-b"):
            code, _ = await api(service.url, "POST", f"/campaigns/{name}/pause", admin)
            assert code == 200
        await until(lambda: channels(real_asterisk)[0] == 0, timeout=60)
        # Asterisk counts a call processed a moment after its last channel is gone (its
        # hangup handler): read the count once the calls of before the pause settled.
        await asyncio.sleep(1.5)
        _, processed = channels(real_asterisk)
        await asyncio.sleep(3.0)
        assert channels(real_asterisk) == (0, processed), real_asterisk.log_tail()
        code, status = await api(service.url, "GET", "/campaigns/real-a", admin)
        assert status["state"] == "paused" and status["in_flight"] == 0

        code, _ = await api(service.url, "POST", "/campaigns/real-a/resume", admin)
        assert code == 200
        await until(lambda: channels(real_asterisk)[1] > processed, timeout=30)
    finally:
        assert await service.stop() == 0
    assert ami_users(real_asterisk) == users_before
