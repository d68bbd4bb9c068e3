"""Operators as the dialer sees them on a REAL Asterisk: the wrap-up time of a queue and
of a member, and queue members across an Asterisk restart.

Each test runs a private Asterisk of its own (the restart and the extra queues would
disturb the session one) and a campaign built by the dialer's composition root (Node),
whose pacer hears the PBX link's operator changes; the last one runs a whole campaign
through the restart."""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from dialer.campaign.model import Campaign
from dialer.control.app import Node, run_campaign
from dialer.engine.pacing_control import PacingControl
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.asterisk.ami import AmiClient, ami_session
from tests.asterisk.conftest import ASTERISK_BINARY
from tests.asterisk.private_asterisk import (
    ADMIN_SECRET,
    ADMIN_USERNAME,
    TEST_DIAL_STRING,
    ExtraConfig,
    RealAsterisk,
    restart,
    start,
)

QUEUES = """
[wrap-queue]
strategy = rrmemory
wrapuptime = 3
joinempty = yes
ringinuse = no
member => Local/w1@dialer-test-operators/n,0,Wrap 1

[member-wrap]
strategy = rrmemory
wrapuptime = 0
joinempty = yes
ringinuse = no

[restart-queue]
strategy = rrmemory
joinempty = yes
ringinuse = no
"""
# The caller of a test call: answers and waits while the other half runs Queue().
CALLER = "[ops-test-caller]\nexten => s,1,Answer()\n same => n,Wait(20)\n"


def extra(**queues_general: str) -> ExtraConfig:
    return ExtraConfig(
        appends={"queues.conf": QUEUES, "extensions.conf": CALLER}, queues_general=queues_general
    )


@pytest.fixture
def asterisk_dir() -> Iterator[Path]:
    """A short path: the control socket must fit a Unix socket path (108 bytes)."""
    assert ASTERISK_BINARY is not None
    path = Path(tempfile.mkdtemp(prefix="dialer-ast-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def campaign_on(pbx: RealAsterisk, queue: str, wrapup: str = "0s") -> Campaign:
    return Campaign.model_validate(
        {
            "name": f"ops-{queue}",
            "list": "ops",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": pbx.ami_settings(),
            "dial": {"channel": TEST_DIAL_STRING},
            "pacing": {"mode": "progressive", "compliance_message": "beep", "wrapup": wrapup},
            "on_answer": {"action": "play_and_queue", "message": "beep", "queue": queue},
        }
    )


@asynccontextmanager
async def pacer_of(campaign: Campaign, pbx: RealAsterisk, tmp: Path) -> AsyncIterator[Any]:
    """The campaign's runner as `dialer run` builds it (AMI link, queue watch, pacer)."""
    store = await open_store(tmp / "dialer.db")
    node = Node(store)
    try:
        yield await node.add_campaign(campaign, pbx.secret)
    finally:
        await node.close()
        await store.close()


async def until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.02)


def operators(pacing: PacingControl) -> dict[str, int]:
    return dict(pacing.status()["operators"])


async def queue_call(ami: AmiClient, queue: str) -> None:
    await ami.send(
        "Originate",
        Channel="Local/s@ops-test-caller/n",
        Application="Queue",
        Data=f"{queue},,,,15",
        Async="true",
    )


@pytest.mark.parametrize(
    ("queue", "member_wrapuptime", "campaign_wrapup"),
    [
        ("wrap-queue", None, "3s"),  # queues.conf wrapuptime = 3, told by the campaign file
        ("member-wrap", "3", "0s"),  # QueueAdd Wrapuptime: 3, read from Asterisk
    ],
)
async def test_after_agent_complete_the_operator_is_in_wrap_up_for_the_wrapuptime(
    asterisk_dir: Path,
    tmp_path: Path,
    queue: str,
    member_wrapuptime: str | None,
    campaign_wrapup: str,
) -> None:
    assert ASTERISK_BINARY is not None
    pbx = start(Path(ASTERISK_BINARY), asterisk_dir, extra=extra())
    try:
        async with ami_session(pbx.host, pbx.port, ADMIN_USERNAME, ADMIN_SECRET) as ami:
            if member_wrapuptime is not None:
                added = await ami.action(
                    "QueueAdd",
                    Queue=queue,
                    Interface="Local/m1@dialer-test-operators/n",
                    Wrapuptime=member_wrapuptime,
                )
                assert added.get("Response") == "Success", added
            async with pacer_of(campaign_on(pbx, queue, campaign_wrapup), pbx, tmp_path) as run:
                pacing: PacingControl = run.pacing
                await until(lambda: operators(pacing)["available"] == 1, 5, "operator read")
                start_at = len(ami.messages)
                await queue_call(ami, queue)
                seen: list[tuple[float, str]] = []  # (monotonic time, the operator's state)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    counts = operators(pacing)
                    state = next((s for s, n in counts.items() if n), "none")
                    if not seen or seen[-1][1] != state:
                        seen.append((time.monotonic(), state))
                    if [s for _, s in seen][-2:] == ["wrap_up", "available"]:
                        break
                    await asyncio.sleep(0.02)
                complete = await ami.wait_for(
                    lambda m: m.get("Event") == "AgentComplete", 1, start_at
                )
                complete_at = ami.received_at[ami.messages.index(complete)]
    finally:
        pbx.stop()
    states = [s for _, s in seen]
    assert states[-3:] == ["on_call", "wrap_up", "available"], seen
    wrap_from, free_from = seen[-2][0], seen[-1][0]
    assert abs(wrap_from - complete_at) < 0.5, (wrap_from, complete_at)
    assert 2.8 <= free_from - wrap_from <= 3.5, seen


@pytest.mark.parametrize("persistentmembers", ["no", "yes"])
async def test_operators_added_over_ami_across_an_asterisk_restart(
    asterisk_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    persistentmembers: str,
) -> None:
    """Without persistentmembers the QueueAdd members are gone after the restart and the
    dialer says so; with it (asterisk-config/queues.conf) they are back."""
    assert ASTERISK_BINARY is not None
    config = extra(persistentmembers=persistentmembers)
    pbx = start(Path(ASTERISK_BINARY), asterisk_dir, extra=config)
    caplog.set_level(logging.INFO, logger="dialer.pbx")
    try:
        async with ami_session(pbx.host, pbx.port, ADMIN_USERNAME, ADMIN_SECRET) as ami:
            for n in (1, 2):
                interface = f"Local/r{n}@dialer-test-operators/n"
                added = await ami.action("QueueAdd", Queue="restart-queue", Interface=interface)
                assert added.get("Response") == "Success", added
        async with pacer_of(campaign_on(pbx, "restart-queue"), pbx, tmp_path) as run:
            pacing: PacingControl = run.pacing
            await until(lambda: operators(pacing)["available"] == 2, 5, "operators read")
            assert pacing.status()["queues_without_operators"] == []
            pbx = restart(pbx, config)  # mid-campaign: the link reconnects by itself
            async with ami_session(pbx.host, pbx.port, ADMIN_USERNAME, ADMIN_SECRET) as ami:
                _, items = await ami.list_action("QueueStatus", Queue="restart-queue")
            members_after = [m["Location"] for m in items if m.get("Event") == "QueueMember"]
            link = run._dialer.members[0].link  # the campaign's one Asterisk server
            await until(lambda: link.reconnects >= 1 and link.ready, 20, "AMI reconnect")
            if persistentmembers == "no":
                await until(lambda: pacing.queues_without_operators() != [], 5, "warning")
            else:
                await until(lambda: operators(pacing)["available"] == 2, 5, "operators back")
            status = pacing.status()
    finally:
        pbx.stop()
    warnings = [
        r.__dict__.get("queue")
        for r in caplog.records
        if r.getMessage() == "pbx.queue_without_operators" and r.levelno == logging.WARNING
    ]
    if persistentmembers == "no":
        assert members_after == []  # Asterisk forgot them
        assert status["queues_without_operators"] == ["restart-queue"]
        assert status["operators"]["available"] == 0
        assert warnings == ["restart-queue"]
    else:
        assert sorted(members_after) == [
            "Local/r1@dialer-test-operators/n",
            "Local/r2@dialer-test-operators/n",
        ]
        assert status["queues_without_operators"] == []
        assert status["operators"]["available"] == 2
        assert warnings == [], "the queue looked empty for a moment after the restart"


def connects_since(pbx: RealAsterisk, since: float) -> int:
    """CONNECT lines of restart-queue in Asterisk's queue_log at or after `since`."""
    path = pbx.tmpdir / "log" / "queue_log"
    lines = path.read_text().splitlines() if path.exists() else []
    fields = [line.split("|") for line in lines]
    return sum(
        1 for f in fields if f[2] == "restart-queue" and f[4] == "CONNECT" and int(f[0]) >= since
    )


@pytest.mark.parametrize("persistentmembers", ["no", "yes"])
async def test_a_running_campaign_across_an_asterisk_restart(
    asterisk_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    persistentmembers: str,
) -> None:
    """`dialer run` in progress with two QueueAdd operators, Asterisk restarts: without
    persistentmembers the campaign places no more calls and says why; with it the
    operators are back and take calls again (counted in Asterisk's queue_log)."""
    assert ASTERISK_BINARY is not None
    config = extra(persistentmembers=persistentmembers)
    pbx = start(Path(ASTERISK_BINARY), asterisk_dir, extra=config)
    caplog.set_level(logging.WARNING, logger="dialer.pbx")
    store = await open_store(tmp_path / "dialer.db")
    # persona 6: answers and waits for an operator (asterisk-config/extensions.conf)
    await store.import_contacts("ops", [NewContact(number=f"+7912000{n:03}6") for n in range(12)])
    campaign = Campaign.model_validate(
        {
            "name": "ops-restart",
            "list": "ops",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": pbx.ami_settings(),
            "dial": {"channel": TEST_DIAL_STRING, "ring_timeout": "15s"},
            "pacing": {
                "mode": "progressive",
                "compliance_message": "beep",
                "connect_limit": "10s",  # the test operators ring 2 s
                "operator_guaranteed": True,
            },
            "on_answer": {"action": "play_and_queue", "message": "beep", "queue": "restart-queue"},
            "retry": {"max_attempts": 1},
        }
    )
    stop = asyncio.Event()
    runners: list[Any] = []
    try:
        async with ami_session(pbx.host, pbx.port, ADMIN_USERNAME, ADMIN_SECRET) as ami:
            for n in (1, 2):
                interface = f"Local/r{n}@dialer-test-operators/n"
                added = await ami.action("QueueAdd", Queue="restart-queue", Interface=interface)
                assert added.get("Response") == "Success", added
        run = asyncio.create_task(run_campaign(campaign, store, pbx.secret, stop, runners.append))
        await until(lambda: connects_since(pbx, 0) >= 2, 30, "two calls taken before the restart")
        pbx = restart(pbx, config)
        restarted_at = time.time()
        runner = runners[0]
        link = runner._dialer.members[0].link  # the campaign's one Asterisk server
        await until(lambda: link.reconnects >= 1 and link.ready, 20, "reconnect")
        if persistentmembers == "no":
            await until(lambda: runner.pacing.queues_without_operators() != [], 5, "warning")
            originated = runner.snapshot.originated
            await asyncio.sleep(4)  # a progressive pacer with no operator places nothing
            assert runner.snapshot.originated == originated
        else:
            await until(lambda: connects_since(pbx, restarted_at) >= 2, 30, "calls taken again")
        status = runner.pacing.status()
        stop.set()
        await asyncio.wait_for(run, 60)
    finally:
        stop.set()
        pbx.stop()
        await store.close()
    warned = [
        r.__dict__.get("queue") for r in caplog.records if "without_operators" in r.getMessage()
    ]
    if persistentmembers == "no":
        assert warned == ["restart-queue"]
        assert status["queues_without_operators"] == ["restart-queue"]
        assert connects_since(pbx, restarted_at) == 0
    else:
        assert warned == []
        assert status["queues_without_operators"] == []
