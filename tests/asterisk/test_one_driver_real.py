"""One campaign, one driver, through a REAL Asterisk: a second `dialer run` of a campaign
is refused naming the first; after kill -9 of the first a new run takes over at once,
follows the calls the dead one left ringing, and the calls up on Asterisk (counted from
its own channel list all along) never exceed the campaign's cap."""

from __future__ import annotations

import asyncio
import signal
import socket
from pathlib import Path

import yaml

from dialer.store import open_store
from dialer.store.base import NewContact
from tests.asterisk.private_asterisk import TEST_DIAL_STRING, RealAsterisk
from tests.integration.test_cli import dialer, run_dialer

CAP = 4
# Last digit 2: the test callee rings and never answers; the 15 s ring timeout ends it.
NUMBERS = [f"+791200010{i}2" for i in range(8)]


def calls_up(pbx: RealAsterisk) -> int:
    """Calls the dialer has up, from Asterisk's own channel list: one `;1` half of a
    Local channel into the test callees per originated call."""
    listing = pbx.cli("core show channels concise")
    return sum(
        1
        for line in listing.splitlines()
        if line.startswith("Local/") and ";1!" in line and "dialer-test-callees" in line
    )


async def test_second_run_refused_and_killed_run_taken_over_never_over_the_cap_on_asterisk(
    real_asterisk: RealAsterisk, tmp_path: Path
) -> None:
    db = tmp_path / "dialer.db"
    store = await open_store(db)
    await store.import_contacts("ringing", [NewContact(number=n) for n in NUMBERS])
    await store.close()
    ami = {**real_asterisk.ami_settings(), "secret_env": "DIALER_AMI_SECRET"}
    del ami["secret"]
    campaign = tmp_path / "c.yaml"
    campaign.write_text(
        yaml.safe_dump(
            {
                "name": "real-one-driver",
                "list": "ringing",
                "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
                "ami": ami,
                "dial": {"channel": TEST_DIAL_STRING, "ring_timeout": "15s"},
                "pacing": {"max_channels": CAP, "calls_per_second": 10},
                "on_answer": {"action": "play_and_hangup", "message": "beep"},
                "retry": {"max_attempts": 1},
            }
        ),
        encoding="utf-8",
    )
    counts: list[int] = []
    sampling = True

    async def sample() -> None:
        while sampling:
            counts.append(await asyncio.to_thread(calls_up, real_asterisk))
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    secret = real_asterisk.secret
    args = ("--db", str(db), "run", str(campaign), "--no-progress")
    try:
        first = await dialer(*args, env_secret=secret)
        while not counts or counts[-1] < CAP:
            await asyncio.sleep(0.1)
            assert first.returncode is None, real_asterisk.log_tail()
        code, _, err = await run_dialer(*args, env_secret=secret)
        assert code == 4, err
        assert f"already being run by {socket.gethostname()}:{first.pid} since" in err

        first.send_signal(signal.SIGKILL)
        await first.wait()
        left_ringing = counts[-1]
        code, out, err = await run_dialer(*args, env_secret=secret)
        assert code == 0, err + real_asterisk.log_tail()
        assert "finished" in out
    finally:
        sampling = False
        await sampler
    assert left_ringing == CAP  # the killed run's calls were still up for the new run
    assert max(counts) <= CAP, counts

    store = await open_store(db)
    try:
        record = await store.get_campaign("real-one-driver")
        assert record is not None
        attempts = await store.attempts(record.id)
    finally:
        await store.close()
    # Each person called once: the adopted calls were followed, not dialled again.
    assert sorted(a.number for a in attempts) == sorted(NUMBERS)
    assert all(a.ended_at is not None for a in attempts)
