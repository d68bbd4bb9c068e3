"""`dialer serve` as a real process, three campaigns at once on one AMI link: two feed
one queue of three operators (weights 2 and 1), and all three dial through one trunk
of five channels. Counted on the simulator's side, sampled as it runs: callers never
wait in the queue for operators who do not exist, no caller is abandoned, the trunk
never carries more than five calls, and both campaigns on the queue get on."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from dialer.simpbx import SimConfig, SimTiming, SimulatedPbx
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.integration.conftest import SECRET
from tests.integration.service_helpers import (
    api,
    logins,
    make_token,
    originated_by,
    start_service,
    until,
)
from tests.integration.test_cli import write_campaign

pytestmark = pytest.mark.timeout(180)

QUEUE = "dialer-operators"
OPERATORS = 3
TRUNK = 5
# Callers spend some time with an operator (talk), so the queue is the bottleneck.
TIMING = SimTiming(
    ring=0.05,
    message=0.1,
    early_hangup_after=0.05,
    operator_answer_delay=0.05,
    talk=1.5,
    login_failure_delay=0.05,
)


def list_numbers(prefix: int, count: int) -> list[str]:
    return [f"+7912{prefix}{i:06d}" for i in range(count)]


async def seeded(db: Path, lists: dict[str, list[str]]) -> None:
    store = await open_store(db)
    for name, numbers in lists.items():
        await store.import_contacts(name, [NewContact(number=n) for n in numbers])
    await store.close()


class Watch:
    """Samples the simulator while the campaigns run (it lives in this event loop)."""

    def __init__(self, pbx: SimulatedPbx) -> None:
        self.pbx = pbx
        self.most_wanting = 0  # callers in the queue + callers talking to an operator
        self.samples = 0

    async def run(self) -> None:
        while True:
            queue = self.pbx.core.queues.get(QUEUE)
            if queue is not None:
                talking = sum(1 for m in self.pbx.members(QUEUE) if m.state == "in_use")
                self.most_wanting = max(self.most_wanting, len(queue.waiting) + talking)
            self.samples += 1
            await asyncio.sleep(0.002)


@pytest.fixture
async def queue_pbx() -> Any:
    numbers = list_numbers(1, 60) + list_numbers(2, 60) + list_numbers(3, 200)
    sim = SimulatedPbx(
        SimConfig(
            port=0,
            secret=SECRET,
            channel_limit=500,
            operators=OPERATORS,
            queues=(QUEUE,),
            timing=TIMING,
            personas=dict.fromkeys(numbers, "answer"),
            seed=7,
        )
    )
    await sim.start()
    yield sim
    await sim.stop()


async def test_campaigns_share_one_queue_s_operators_and_one_trunk_s_channels(
    queue_pbx: SimulatedPbx, tmp_path: Path
) -> None:
    pbx = queue_pbx
    db = tmp_path / "dialer.db"
    await seeded(
        db, {"a": list_numbers(1, 60), "b": list_numbers(2, 60), "c": list_numbers(3, 200)}
    )
    admin, supervisor = await make_token(db, "admin"), await make_token(db, "supervisor")
    trunk = {"name": "sim-trunk", "max_channels": TRUNK}
    dial = {"channel": "Local/{number}@dialer-test-callees", "ring_timeout": "15s", "trunk": trunk}
    paced = {"mode": "progressive", "compliance_message": "vm-goodbye", "connect_limit": "1s"}
    queued = {"action": "play_and_queue", "queue": QUEUE, "queue_timeout": "1s"}
    files = {
        "share-a": {
            "list": "a",
            "pacing": {**paced, "share": 2, "max_channels": 10},
            "on_answer": queued,
        },
        "share-b": {
            "list": "b",
            "pacing": {**paced, "share": 1, "max_channels": 10},
            "on_answer": queued,
        },
        # A message-only campaign that alone would fill the trunk twice over.
        "share-c": {
            "list": "c",
            "pacing": {"max_channels": 10, "calls_per_second": 50},
            "on_answer": {"action": "play_and_hangup", "message": "hello-world"},
        },
    }
    watch = Watch(pbx)
    sampler = asyncio.create_task(watch.run())
    service = await start_service(db)
    try:
        for name, extra in files.items():
            path = write_campaign(
                tmp_path / f"{name}.yaml", pbx.port, name=name, dial=dial, **extra
            )
            data = path.read_text()
            code, answer = await api(
                service.url, "POST", "/campaigns", admin, {"content": data, "source": str(path)}
            )
            assert code == 201, answer
        for name in files:
            code, answer = await api(service.url, "POST", f"/campaigns/{name}/start", supervisor)
            assert code == 200, answer
        await until(
            lambda: (
                len(originated_by(pbx, "share-a")) >= 20
                and len(originated_by(pbx, "share-b")) >= 8
                and len(originated_by(pbx, "share-c")) >= 40
            ),
            timeout=120,
        )
        assert logins(pbx) == 1, await service.stderr()  # the three campaigns, one AMI session
        _, status = await api(service.url, "GET", "/campaigns/share-b", supervisor)
        assert status["pacing"]["queues_without_operators"] == []
    finally:
        assert await service.stop() == 0, await service.stderr()
        sampler.cancel()
    queue = pbx.core.queues[QUEUE]
    # The trunk: never more calls up at once than its limit, and the limit was reached.
    assert pbx.core.max_concurrent == TRUNK
    # The queue: the pacers never both counted one free operator, so the callers in the
    # queue plus those talking to an operator never outnumbered the operators (unshared,
    # each pacer sees all three free: up to six callers for three operators) and none
    # waited past the queue's timeout.
    assert watch.samples > 100
    assert watch.most_wanting <= OPERATORS  # unshared: 5 of 3, and 7 callers abandoned
    assert queue.stats.abandoned == 0
    assert queue.stats.completed >= 20
    # Both campaigns on the queue got on; the one weighted 2 more than the other.
    a, b = len(originated_by(pbx, "share-a")), len(originated_by(pbx, "share-b"))
    assert a > b > 0
