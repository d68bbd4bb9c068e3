"""Reliability against a REAL Asterisk: a campaign started while Asterisk boots and an
Asterisk restarted mid-campaign burn no contact; a rerun after a killed `dialer run`
ends the calls it adopts when Asterisk ends them. Each test has its own private Asterisk
(it restarts it, or leaves channels behind), with test-only dialplan:

- [dialer-test-counted] logs every call it receives, then hands it to the test callees:
  what Asterisk itself saw, to hold the contact base against;
- [dialer-test-lingering] answers, and when hung up runs an h extension for 20 s: the
  `;2` half of the Local channel outlives `;1`, the channel the dialer placed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.outcomes import ContactStatus, Outcome
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.asterisk.ami import ami_session
from tests.asterisk.conftest import ASTERISK_BINARY, unrunnable_reason
from tests.asterisk.private_asterisk import (
    ExtraConfig,
    RealAsterisk,
    free_loopback_port,
    start_private_asterisk,
    write_config,
)

LINGER_S = 20
TEST_DIALPLAN = f"""
[dialer-test-counted]
exten => _+X.,1,Log(NOTICE,dialer-test-counted ${{EXTEN}})
 same => n,Goto(dialer-test-callees,${{EXTEN}},1)

[dialer-test-lingering]
exten => _+X.,1,Answer()
 same => n,Wait(120)
 same => n,Hangup()
exten => h,1,System(sleep {LINGER_S})
"""
EXTRA = ExtraConfig(appends={"extensions.conf": TEST_DIALPLAN})
NOT_BOOTED_WARNING = "PBX requires Asterisk to be fully booted"


@pytest.fixture
def workdir() -> Iterator[Path]:
    reason = unrunnable_reason(ASTERISK_BINARY)
    if reason is not None or ASTERISK_BINARY is None:
        pytest.skip(reason or "no asterisk")
    path = Path(tempfile.mkdtemp(prefix="dialer-ast-", dir="/tmp"))  # short socket path
    yield path
    shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def asterisk_not_yet_booted(workdir: Path) -> Iterator[RealAsterisk]:
    """Start Asterisk and hand it over as soon as its AMI port answers: before
    FullyBooted, as docker-compose starts the dialer next to it."""
    assert ASTERISK_BINARY is not None
    binary = Path(ASTERISK_BINARY)
    port = free_loopback_port()
    write_config(binary, workdir, port, EXTRA)
    pbx = RealAsterisk(binary=binary, tmpdir=workdir, host="127.0.0.1", port=port)
    pbx.process = subprocess.Popen(
        [str(binary), "-C", str(pbx.config_file), "-f", "-n"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not _ami_banner(port):
            assert time.monotonic() < deadline, pbx.log_tail()
            time.sleep(0.005)
        yield pbx
    finally:
        pbx.stop()


def _ami_banner(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            return sock.recv(100).startswith(b"Asterisk Call Manager/")
    except OSError:
        return False


def _log(pbx: RealAsterisk) -> str:
    return pbx.log_file.read_text(errors="replace") if pbx.log_file.exists() else ""


def _counted_calls(pbx: RealAsterisk) -> Counter[str]:
    return Counter(re.findall(r"dialer-test-counted (\+\d+)", _log(pbx)))


async def test_given_asterisk_booting_then_restarted_mid_campaign_when_run_then_no_contact_burned(
    workdir: Path, tmp_path: Path
) -> None:
    # Short calls only: busy, congestion, invalid, early hang-up (last digits 1, 3, 4, 5).
    numbers = [f"+7912{i:05d}0{d}" for i in range(15) for d in "1345"]
    store = await open_store(tmp_path / "dialer.db")
    await store.import_contacts("boot", [NewContact(number=n) for n in numbers])
    with asterisk_not_yet_booted(workdir) as pbx:
        campaign = Campaign.model_validate(
            {
                "name": "real-boot",
                "list": "boot",
                "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
                "ami": {**pbx.ami_settings(), "ping_interval": "1s", "action_timeout": "2s"},
                "dial": {"channel": "Local/{number}@dialer-test-counted", "ring_timeout": "15s"},
                "pacing": {"max_channels": 6, "calls_per_second": 8},
                "on_answer": {"action": "play_and_hangup", "message": "hello-world"},
                # One attempt each: a call the boot race failed would be the contact's last.
                "retry": {"max_attempts": 1},
            }
        )
        run = asyncio.create_task(run_campaign(campaign, store, pbx.secret, asyncio.Event()))
        while sum(_counted_calls(pbx).values()) < 20:
            assert not run.done(), run
            await asyncio.sleep(0.05)
        restart_log_at = len(_log(pbx))
        pbx.cli("core restart now")
        snapshot = await asyncio.wait_for(run, 120)
        record = await store.get_campaign("real-boot")
        assert record is not None
        lines = await store.contact_report(record.id)
        attempts = await store.attempts(record.id)
        await store.close()
        log = _log(pbx)
        counted = _counted_calls(pbx)
    assert log.count("Asterisk Ready.") == 2, "no restart happened"
    assert snapshot.state == "finished"
    assert all(line.status is ContactStatus.DONE for line in lines)
    outcomes = Counter(a.outcome for a in attempts)
    # The contact base: no attempt failed on a dialplan that was not loaded yet. The
    # only failures allowed are the restart's other end: Originates sent in the second
    # before the socket closed, refused "Asterisk is shutting down" (dialling pauses at
    # the first; the ones already on the wire are refused too).
    failed = [a.detail for a in attempts if a.outcome is Outcome.FAILED]
    assert all(d == "originate refused: Asterisk is shutting down" for d in failed), failed
    assert len(failed) <= 8  # at most one second of calls at 8 calls/s
    # What Asterisk saw: no Originate ran before it was fully booted, either boot.
    assert log.count(NOT_BOOTED_WARNING) == 0, log[restart_log_at:][:3000]
    # Every attempt with a real outcome reached the dialplan; the only others are the
    # calls the restart cut (at most max_channels), closed unknown.
    reached = [a for a in attempts if a.outcome not in (Outcome.UNKNOWN, Outcome.FAILED)]
    assert all(counted[a.number] >= 1 for a in reached)
    assert outcomes[Outcome.UNKNOWN] <= 6
    assert len(attempts) == len(numbers)
    print(  # the figures, with pytest -s
        f"boot+restart: {len(attempts)} attempts, outcomes {dict(outcomes)}, "
        f"refused while shutting down {len(failed)}, Originates Asterisk ran unbooted "
        f"{log.count(NOT_BOOTED_WARNING)}"
    )


async def dialer_cli(db: Path, campaign: Path, secret: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "DIALER_AMI_SECRET": secret, "COLUMNS": "200"}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dialer",
        "--db",
        str(db),
        "run",
        str(campaign),
        "--no-progress",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )


async def _our_channels(pbx: RealAsterisk) -> list[str]:
    async with ami_session(pbx.host, pbx.port, pbx.admin_username, pbx.admin_secret) as ami:
        _, items = await ami.list_action("CoreShowChannels")
    return [i.get("Uniqueid", "") for i in items if "lingering" in i.get("Channel", "")]


async def test_given_run_killed_with_calls_up_when_rerun_then_it_ends_adopted_calls_with_asterisk(
    workdir: Path, tmp_path: Path
) -> None:
    calls = 4
    db = tmp_path / "dialer.db"
    store = await open_store(db)
    await store.import_contacts(
        "linger", [NewContact(number=f"+79120000{n}08") for n in range(calls)]
    )
    await store.close()
    with start_private_asterisk(Path(str(ASTERISK_BINARY)), workdir, EXTRA) as pbx:
        settings: dict[str, Any] = {**pbx.ami_settings(), "secret_env": "DIALER_AMI_SECRET"}
        del settings["secret"]
        campaign = tmp_path / "linger.yaml"
        campaign.write_text(
            yaml.safe_dump(
                {
                    "name": "real-linger",
                    "list": "linger",
                    "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
                    "ami": settings,
                    "dial": {
                        "channel": "Local/{number}@dialer-test-lingering",
                        "ring_timeout": "15s",
                    },
                    "pacing": {"max_channels": calls, "calls_per_second": 10},
                    # ;1 plays 5.5 s, then hangs up; ;2 lingers 20 s more.
                    "on_answer": {"action": "play_and_hangup", "message": "demo-thanks"},
                    "retry": {"max_attempts": 1},
                }
            )
        )
        first = await dialer_cli(db, campaign, pbx.secret)
        deadline = time.monotonic() + 30
        while len(await _our_channels(pbx)) < 2 * calls:
            assert time.monotonic() < deadline and first.returncode is None
            await asyncio.sleep(0.2)
        first.send_signal(signal.SIGKILL)  # the calls stay up, open in the contact base
        await first.wait()
        # ;1 ends after the message; ;2 goes on in its h extension.
        while any(not u.endswith(";2") for u in await _our_channels(pbx)):
            assert time.monotonic() < deadline + 30
            await asyncio.sleep(0.2)
        placed_ended_at = time.monotonic()
        assert len(await _our_channels(pbx)) == calls  # the ;2 halves, lingering

        rerun = await dialer_cli(db, campaign, pbx.secret)
        try:
            out, err = await asyncio.wait_for(rerun.communicate(), LINGER_S * 3)
        finally:
            if rerun.returncode is None:  # it never ended: leave no process behind
                rerun.kill()
                await rerun.wait()
        rerun_took = time.monotonic() - placed_ended_at
        still_lingering = len(await _our_channels(pbx))
    assert rerun.returncode == 0, err.decode()
    assert "finished" in out.decode()
    # It ended with the calls (;1), not when the ;2 halves or the 4 h limit did.
    assert still_lingering == calls, f"rerun took {rerun_took:.1f}s"
    store = await open_store(db)
    record = await store.get_campaign("real-linger")
    assert record is not None
    attempts = await store.attempts(record.id)
    await store.close()
    assert len(attempts) == calls and all(a.ended_at is not None for a in attempts)
    print(f"rerun exited {rerun_took:.1f}s after the placed halves ended")  # pytest -s
