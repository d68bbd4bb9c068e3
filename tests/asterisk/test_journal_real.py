"""The PBX journal against a REAL Asterisk: after the dialer is killed, every outcome comes
from what Asterisk journaled; after Asterisk is killed (-9) and restarted mid-campaign, the
calls it cut are `pbx_failure`, never abandoned/answered/transferred, counted from
Asterisk's own AstDB file and queue_log as well as our store. The simulator answers the
journal's AMI actions in the same shape."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.outcomes import Outcome
from dialer.pbx.ami_client import AmiClient, AmiConnectionSettings
from dialer.pbx.dialplan_contract import AnswerPlan, DialRequest
from dialer.pbx.events import CallEnded, CallMilestone
from dialer.pbx.link import PbxLink
from dialer.simpbx import SimConfig, SimulatedPbx
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.asterisk.ami import ami_session
from tests.asterisk.conftest import ASTERISK_BINARY, SKIP_REASON, unrunnable_reason
from tests.asterisk.private_asterisk import (
    TEST_DIAL_STRING,
    RealAsterisk,
    kill_and_restart,
    start_private_asterisk,
)

# Last digit of a [dialer-test-callees] number -> what the journal must give.
AFTER_DIALER_KILL = {
    "0": Outcome.TRANSFERRED,  # an operator takes it (2 s ring, 3 s talk)
    "1": Outcome.BUSY,  # through Local: the callee journals far_cause 17
    "3": Outcome.CONGESTION,
    "4": Outcome.INVALID_NUMBER,
    "5": Outcome.ANSWERED,  # hangs up during the message
    "7": Outcome.ABANDONED,  # hangs up waiting in the queue
}


class Listener:
    wants_milestones = False

    def __init__(self) -> None:
        self.ended: dict[str, CallEnded] = {}

    def call_ended(self, event: CallEnded) -> None:
        assert event.attempt_id not in self.ended, "reported twice"
        self.ended[event.attempt_id] = event

    def call_milestone(self, event: CallMilestone) -> None:
        pass


def make_link(pbx: RealAsterisk) -> PbxLink:
    settings = AmiConnectionSettings(pbx.host, pbx.port, pbx.username, pbx.secret)
    return PbxLink(AmiClient(settings), sweep_interval=0.5)


async def kill_link(link: PbxLink) -> None:
    """What kill -9 of the dialer does to its AMI link: the socket closes, no Logoff."""
    client = link._client
    client._closed = True
    if client._supervisor is not None:
        client._supervisor.cancel()
    if client._protocol is not None:
        client._protocol.abort()
    if link._sweeper is not None:
        link._sweeper.cancel()
    await asyncio.sleep(0)


async def channels_up(pbx: RealAsterisk) -> int:
    async with ami_session(pbx.host, pbx.port, pbx.admin_username, pbx.admin_secret) as ami:
        _, channels = await ami.list_action("CoreShowChannels")
    return len(channels)


async def test_given_dialer_killed_mid_calls_when_rerun_then_real_asterisk_journal_gives_outcomes(
    real_asterisk: RealAsterisk,
) -> None:
    pbx = real_asterisk
    first = make_link(pbx)
    await first.start()
    started = datetime.now(UTC)
    attempts = {}
    for digit in AFTER_DIALER_KILL:
        attempt_id = f"kill9-{digit}-{started.timestamp():.0f}"
        attempts[attempt_id] = digit
        request = DialRequest(
            attempt_id=attempt_id,
            campaign="journal",
            number=f"+7912300000{digit}",
            channel_template=TEST_DIAL_STRING,
            context="dialer-answered",
            exten="s",
            priority=1,
            ring_timeout=timedelta(seconds=15),
            answer=AnswerPlan(
                message="hello-world", queue="dialer-operators", queue_timeout=timedelta(20)
            ),
        )
        await first.originate(request, Listener())
    await asyncio.sleep(0.3)
    await kill_link(first)  # every call ends while no dialer listens
    for _ in range(100):
        if await channels_up(pbx) == 0:
            break
        await asyncio.sleep(0.2)

    second = make_link(pbx)
    await second.start()
    adopted = Listener()
    await second.adopt([(a, started) for a in attempts], adopted)
    for _ in range(50):
        if len(adopted.ended) == len(attempts):
            break
        await asyncio.sleep(0.1)
    got = {attempts[a]: e.outcome for a, e in adopted.ended.items()}
    assert got == AFTER_DIALER_KILL, pbx.log_tail()
    answered = adopted.ended[next(a for a, d in attempts.items() if d == "0")]
    assert answered.answered_at is not None and answered.answered_at >= started - timedelta(1)

    # Closed attempts' journals stay until their outcomes are written (settled), then
    # are deleted through [dialer-journal-forget].
    def left() -> list[str]:
        shown = pbx.cli("database show dialer")
        return [a for a in attempts if f"/dialer/{a}/" in shown]

    assert sorted(left()) == sorted(attempts)
    for attempt_id in attempts:
        second.settled(attempt_id)
    for _ in range(30):
        if not left():
            break
        await asyncio.sleep(0.2)
    assert left() == []
    await second.close()


@pytest.fixture
def own_asterisk() -> Iterator[RealAsterisk]:
    """A private Asterisk of its own: this test kills it."""
    reason = unrunnable_reason(ASTERISK_BINARY)
    if reason is not None or ASTERISK_BINARY is None:
        pytest.skip(reason or SKIP_REASON)
    with (
        tempfile.TemporaryDirectory(prefix="dialer-ast-", dir="/tmp") as tmp,
        start_private_asterisk(Path(ASTERISK_BINARY), Path(tmp)) as pbx,
    ):
        yield pbx


def journal_on_disk(pbx: RealAsterisk) -> dict[str, dict[str, str]]:
    """Asterisk's AstDB file as the killed process left it: attempt -> {key: value}."""
    with contextlib.closing(sqlite3.connect(pbx.tmpdir / "db" / "astdb.sqlite3")) as db:
        rows = db.execute("SELECT key, value FROM astdb WHERE key LIKE '/dialer/%'").fetchall()
    journal: dict[str, dict[str, str]] = {}
    for key, value in rows:
        _, _, attempt, name = key.split("/", 3)
        journal.setdefault(attempt, {})[name] = value
    return journal


def queue_log_events(pbx: RealAsterisk) -> dict[str, set[str]]:
    """queue_log: callid (= our attempt id) -> the events Asterisk logged for it."""
    events: dict[str, set[str]] = {}
    path = pbx.tmpdir / "log" / "queue_log"
    for line in path.read_text().splitlines() if path.exists() else []:
        fields = line.split("|")
        if len(fields) > 4:
            events.setdefault(fields[1], set()).add(fields[4])
    return events


CALLS_UP = 31  # the reported case


async def test_given_real_asterisk_killed_with_31_calls_up_then_none_misfiled(
    own_asterisk: RealAsterisk, tmp_path: Path
) -> None:
    pbx = own_asterisk
    store = await open_store(tmp_path / "dialer.db")
    # Persona 6 answers and stays 60 s; persona 0 too: both wait in the queue behind
    # the 2 test operators, or talk to one.
    numbers = [f"+791240{i:04d}{6 if i % 2 else 0}" for i in range(CALLS_UP)]
    await store.import_contacts("crash", [NewContact(number=n) for n in numbers])
    campaign = Campaign.model_validate(
        {
            "name": "crash",
            "list": "crash",
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": {**pbx.ami_settings(), "ping_interval": "1s", "action_timeout": "3s"},
            "dial": {"channel": TEST_DIAL_STRING, "ring_timeout": "15s"},
            "pacing": {"max_channels": 40, "calls_per_second": 20, "operator_guaranteed": True},
            "on_answer": {
                "action": "play_and_queue",
                "message": "hello-world",
                "queue": "dialer-operators",
                "queue_timeout": "60s",
            },
            # Final after one cut, so the campaign ends and the test can count.
            "retry": {"max_attempts": 1},
        }
    )
    run = asyncio.create_task(run_campaign(campaign, store, pbx.secret, asyncio.Event()))
    try:
        for _ in range(200):
            answered = sum(1 for j in journal_on_disk(pbx).values() if "answered" in j)
            if answered >= CALLS_UP:
                break
            await asyncio.sleep(0.1)
        # AstDB commits about once a second: let the last `answered` reach the file.
        await asyncio.sleep(1.5)
        up = await channels_up(pbx)
        await asyncio.to_thread(kill_and_restart, pbx)
        journal = journal_on_disk(pbx)  # what Asterisk wrote before it died
        snapshot = await asyncio.wait_for(run, 90)
    finally:
        if not run.done():
            run.cancel()
        record = await store.get_campaign("crash")
        assert record is not None
        attempts = await store.attempts(record.id)
        await store.close()
    assert snapshot.state == "finished"
    assert len(attempts) == CALLS_UP
    queue_log = queue_log_events(pbx)
    cut = {a for a, j in journal.items() if "answered" in j and "ended" not in j}
    assert len(cut) >= CALLS_UP - 6, (len(cut), up)  # most were still up when killed
    misfiled = [
        (a.attempt_id, a.outcome)
        for a in attempts
        if a.attempt_id in cut and a.outcome is not Outcome.PBX_FAILURE
    ]
    assert misfiled == []
    print(f"Asterisk killed with {up} channels up: {len(cut)} calls cut, all pbx_failure")
    # Asterisk logged no abandon and no completed call for any call it cut...
    for attempt_id in cut:
        assert not queue_log.get(attempt_id, set()) & {"ABANDON", "COMPLETECALLER", "COMPLETEAGENT"}
    # ...and the calls that did end before the kill have the outcome Asterisk journaled.
    for a in attempts:
        if a.attempt_id not in cut:
            assert a.outcome is Outcome.TRANSFERRED, (
                a.attempt_id,
                a.outcome,
                journal.get(a.attempt_id),
            )


async def test_simulator_answers_the_journal_actions_as_real_asterisk_does(
    real_asterisk: RealAsterisk,
) -> None:
    """Same actions, same AstDB contents: the same messages, header names and order."""
    sim = SimulatedPbx(SimConfig(secret=real_asterisk.secret))
    await sim.start()
    family = f"shape-{datetime.now(UTC).timestamp():.0f}"
    sim.core.astdb.put(f"dialer/{family}", "answered", "1796185817")
    sim.core.astdb.put(f"dialer/{family}", "cause", "16")
    try:
        async with ami_session(
            real_asterisk.host,
            real_asterisk.port,
            real_asterisk.admin_username,
            real_asterisk.admin_secret,
        ) as admin:
            for key, value in (("answered", "1796185817"), ("cause", "16")):
                put = await admin.action("DBPut", Family=f"dialer/{family}", Key=key, Val=value)
                assert put["Response"] == "Success"
        replies = []
        for host, port in ((real_asterisk.host, real_asterisk.port), ("127.0.0.1", sim.port)):
            async with ami_session(host, port, "dialer", real_asterisk.secret) as ami:
                one = []
                for action, headers in (
                    ("DBGetTree", {"Family": f"dialer/{family}"}),
                    ("DBGet", {"Family": f"dialer/{family}", "Key": "cause"}),
                    ("DBGetTree", {"Family": "dialer/none-such"}),
                    ("DBGet", {"Family": "dialer/none-such", "Key": "cause"}),
                ):
                    response, items = await ami.list_action(action, ActionID="x", **headers)
                    one.append(
                        (
                            list(response),
                            response.get("Message"),
                            [(list(i), i.get("Key"), i.get("Val")) for i in items],
                        )
                    )
                status = await ami.action("CoreStatus")
                one.append((list(status), None, []))
                await asyncio.sleep(0.2)
                tail = [m for m in ami.messages if m.get("Event", "").endswith("Complete")]
                one.append(([list(m) for m in tail], None, []))
                replies.append(one)
        real, simulated = replies
        assert simulated == real
    finally:
        await sim.stop()


# Last digit -> (final outcome, calls Asterisk may see for that number at most).
AFTER_PROCESS_KILL = {
    "0": (Outcome.TRANSFERRED, 1),
    "4": (Outcome.INVALID_NUMBER, 1),  # dead: never dialled again
    "5": (Outcome.ANSWERED, 1),
    "6": (Outcome.TRANSFERRED, 1),
    "7": (Outcome.ABANDONED, 2),  # answered, but an abandon is recalled by its rule
}


async def test_given_dialer_run_killed_9_on_real_asterisk_then_nobody_reached_is_called_again(
    real_asterisk: RealAsterisk, tmp_path: Path
) -> None:
    pbx = real_asterisk
    db = tmp_path / "dialer.db"
    store = await open_store(db)
    numbers = [f"+79125{i:05d}{d}" for d in AFTER_PROCESS_KILL for i in range(2)]
    await store.import_contacts("kill9", [NewContact(number=n) for n in numbers])
    await store.close()
    campaign = {
        "name": "kill9",
        "list": "kill9",
        "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
        "ami": {"host": pbx.host, "port": pbx.port, "secret_env": "DIALER_AMI_SECRET"},
        "dial": {"channel": TEST_DIAL_STRING, "ring_timeout": "15s"},
        "pacing": {"max_channels": 20, "calls_per_second": 20, "operator_guaranteed": True},
        "on_answer": {
            "action": "play_and_queue",
            "message": "hello-world",
            "queue": "dialer-operators",
            "queue_timeout": "30s",
        },
        "retry": {
            "max_attempts": 3,
            "failed": {"delay": "1s", "max": 1},
            "abandoned": {"delay": "1s", "max": 1},
        },
    }
    campaign_file = tmp_path / "kill9.yaml"
    campaign_file.write_text(yaml.safe_dump(campaign), encoding="utf-8")
    env = {**os.environ, "DIALER_AMI_SECRET": pbx.secret}
    command = [sys.executable, "-m", "dialer", "--db", str(db), "run", str(campaign_file)]

    def answered() -> int:  # journals of answered calls (other tests' may be there too)
        return pbx.cli("database show dialer").count("/answered")

    before = answered()
    async with ami_session(pbx.host, pbx.port, pbx.admin_username, pbx.admin_secret) as admin:
        first = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        # Kill it once the calls are in the message or the queue.
        for _ in range(100):
            if answered() >= before + 6:
                break
            await asyncio.sleep(0.1)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        second = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(second.communicate(), 120)
        assert second.returncode == 0, err.decode()[-2000:]
        await asyncio.sleep(0.5)
        # Asterisk's own record of what was dialled: the ;1 channel of every Originate.
        placed: dict[str, int] = {}
        for message in admin.messages:
            channel = message.get("Channel", "")
            if message.get("Event") == "Newchannel" and channel.endswith(";1"):
                number = channel.split("/", 1)[1].split("@", 1)[0]
                if number in numbers:
                    placed[number] = placed.get(number, 0) + 1
    store = await open_store(db)
    try:
        record = await store.get_campaign("kill9")
        assert record is not None
        lines = await store.contact_report(record.id)
    finally:
        await store.close()
    wrong = [
        (line.number, line.final_outcome, placed.get(line.number))
        for line in lines
        if line.final_outcome is not AFTER_PROCESS_KILL[line.number[-1]][0]
        or not 1 <= placed.get(line.number, 0) <= AFTER_PROCESS_KILL[line.number[-1]][1]
    ]
    assert wrong == [], pbx.log_tail()
