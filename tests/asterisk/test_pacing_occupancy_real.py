"""The predictive pacer on a REAL Asterisk: 8 operators (Local channels that answer at
once, talk 10 s and hang up; the queue's wrap-up is 3 s), callees of which half answer
and wait for an operator. Reports the operators' occupancy and how long the pacer took
to leave its learning stage, for a first run and for a second run of the same campaign
that starts from what the first had learnt (kept in the store). Figures are printed (the
README quotes them); the test asserts only that they are sane: timing goals belong in
scripts/bench-pacing, not in tests."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.asterisk.conftest import ASTERISK_BINARY
from tests.asterisk.private_asterisk import TEST_DIAL_STRING, ExtraConfig, start

OPERATORS = 8
QUEUE = "occupancy-queue"
QUEUES = f"""
[{QUEUE}]
strategy = rrmemory
wrapuptime = 3
joinempty = yes
ringinuse = no
timeout = 5
retry = 0
""" + "".join(
    f"member => Local/occ{n}@occupancy-operators/n,0,Operator {n}\n"
    for n in range(1, OPERATORS + 1)
)
# An operator answers at once, talks 10 s and hangs up.
OPERATOR_DIALPLAN = (
    "[occupancy-operators]\nexten => _occ.,1,Answer()\n same => n,Wait(10)\n same => n,Hangup(16)\n"
)
# Last digit of a callee: 6 answers and waits for an operator, 2 rings out, 1 is busy.
PERSONAS = "6261"
FIRST_RUN_S = 150.0
SECOND_RUN_S = 60.0
pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def asterisk_dir() -> Iterator[Path]:
    """A short path: the control socket must fit a Unix socket path (108 bytes)."""
    assert ASTERISK_BINARY is not None
    path = Path(tempfile.mkdtemp(prefix="dialer-ast-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def campaign(ami: dict[str, Any]) -> Campaign:
    return Campaign.model_validate(
        {
            "name": "occupancy",
            "list": "occupancy",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": ami,
            "dial": {"channel": TEST_DIAL_STRING, "ring_timeout": "15s"},
            "pacing": {
                "mode": "predictive",
                "max_channels": 40,
                "calls_per_second": 10,
                "compliance_message": "beep",
                "connect_limit": "3s",
                "wrapup": "3s",
            },
            "on_answer": {"action": "play_and_queue", "message": "beep", "queue": QUEUE},
            "retry": {"max_attempts": 1},
        }
    )


async def one_run(camp: Campaign, store: Any, secret: str, seconds: float) -> dict[str, Any]:
    """Run the campaign for `seconds`; sample the pacer's status every 0.25 s."""
    stop = asyncio.Event()
    runners: list[Any] = []
    run = asyncio.create_task(run_campaign(camp, store, secret, stop, runners.append))
    busy = logged = 0
    learnt_after: float | None = None
    started = time.monotonic()
    status: dict[str, Any] = {}
    try:
        while time.monotonic() - started < seconds:
            await asyncio.sleep(0.25)
            if not runners or run.done():
                continue
            status = runners[0].pacing.status()
            ops = status.get("operators", {})
            busy += ops.get("on_call", 0) + ops.get("wrap_up", 0)
            logged += sum(n for state, n in ops.items() if state != "paused")
            if learnt_after is None and status.get("state") in ("predictive", "guarded"):
                learnt_after = time.monotonic() - started
    finally:
        stop.set()
        await asyncio.wait_for(run, 60)
    abandon = status.get("abandon", {}).get("24h", {})
    return {
        "occupancy": busy / logged if logged else 0.0,
        "learning_s": learnt_after,
        "live": abandon.get("live", 0),
        "abandoned": abandon.get("abandoned", 0),
        "estimates": status.get("estimates", {}),
    }


async def test_occupancy_and_learning_time_of_eight_operators(
    asterisk_dir: Path, tmp_path: Path
) -> None:
    assert ASTERISK_BINARY is not None
    extra = ExtraConfig(appends={"queues.conf": QUEUES, "extensions.conf": OPERATOR_DIALPLAN})
    pbx = start(Path(ASTERISK_BINARY), asterisk_dir, extra=extra)
    store = await open_store(tmp_path / "dialer.db")
    numbers = [f"+7913{n:06}{PERSONAS[n % len(PERSONAS)]}" for n in range(3000)]
    await store.import_contacts("occupancy", [NewContact(number=n) for n in numbers])
    try:
        camp = campaign(pbx.ami_settings())
        first = await one_run(camp, store, pbx.secret, FIRST_RUN_S)
        second = await one_run(camp, store, pbx.secret, SECOND_RUN_S)
    finally:
        pbx.stop()
        await store.close()
    for name, figures in (("first run", first), ("second run (stored prior)", second)):
        print(
            f"\npacing on the real Asterisk, {name}: occupancy "
            f"{100 * figures['occupancy']:.1f}%, learning {figures['learning_s']} s, "
            f"abandoned {figures['abandoned']} of {figures['live']} live, "
            f"estimates {figures['estimates']}"
        )
    for figures in (first, second):
        assert 0.0 < figures["occupancy"] <= 1.0
        assert figures["live"] > 0
        assert 0 <= figures["abandoned"] <= figures["live"]
    assert first["estimates"]["talk_s"] > 0.0
