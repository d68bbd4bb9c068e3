"""The `dialer` command as a user runs it: real processes, real files, real TCP."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook

from dialer.outcomes import ContactStatus
from dialer.simpbx import SimulatedPbx
from dialer.store import open_store
from tests.fake_ami import FakeAmi
from tests.integration.conftest import SECRET, campaign_dict, fill_list


def write_campaign(path: Path, port: int, **overrides: Any) -> Path:
    data = campaign_dict(port, **overrides)
    data["ami"] = {**data["ami"], "secret_env": "DIALER_AMI_SECRET"}
    del data["ami"]["secret"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


async def seeded_db(tmp_path: Path, contacts: int) -> Path:
    """A contact base file with list "spring" of `contacts` numbers, closed again."""
    db = tmp_path / "dialer.db"
    store = await open_store(db)
    await fill_list(store, "spring", contacts)
    await store.close()
    return db


async def dialer(*args: str, env_secret: str = SECRET) -> asyncio.subprocess.Process:
    env = {**os.environ, "DIALER_AMI_SECRET": env_secret, "COLUMNS": "200"}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dialer",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )


async def run_dialer(*args: str, env_secret: str = SECRET) -> tuple[int, str, str]:
    proc = await dialer(*args, env_secret=env_secret)
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_given_sigint_mid_campaign_when_rerun_then_list_finishes_without_duplicates(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await seeded_db(tmp_path, 200)
    campaign = write_campaign(
        tmp_path / "c.yaml", pbx.port, pacing={"max_channels": 20, "calls_per_second": 40}
    )

    proc = await dialer("--db", str(db), "run", str(campaign), "--no-progress")
    while len(pbx.originates) < 40:
        await asyncio.sleep(0.01)
        assert proc.returncode is None
    proc.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "stopped before the end" in out.decode()
    dialled_first_run = len(pbx.originates)

    code, out, err = await run_dialer("--db", str(db), "run", str(campaign), "--no-progress")
    assert code == 0, err
    assert "finished" in out

    store = await open_store(db)
    try:
        record = await store.get_campaign("spring-promo")
        assert record is not None
        lines = await store.contact_report(record.id)
        attempts = await store.attempts(record.id)
    finally:
        await store.close()
    assert all(line.status is ContactStatus.DONE for line in lines)
    channel_ids = [o.channel_id for o in pbx.originates]
    assert len(channel_ids) == len(set(channel_ids))
    assert sorted(channel_ids) == sorted(a.attempt_id for a in attempts)
    assert all(a.ended_at is not None for a in attempts)
    assert len(pbx.originates) > dialled_first_run


async def test_given_wrong_secret_when_run_then_clear_error_and_exit_3(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await seeded_db(tmp_path, 5)
    campaign = write_campaign(tmp_path / "c.yaml", pbx.port)
    code, _, err = await run_dialer(
        "--db", str(db), "run", str(campaign), "--no-progress", env_secret="wrong"
    )
    assert code == 3
    assert "refused: Authentication failed" in err
    assert "wrong" not in err  # the secret itself is never printed
    assert pbx.originates == []


async def test_given_nothing_listening_when_run_then_clear_error_and_exit_3(tmp_path: Path) -> None:
    db = await seeded_db(tmp_path, 5)
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    campaign = write_campaign(tmp_path / "c.yaml", port)
    code, _, err = await run_dialer("--db", str(db), "run", str(campaign), "--no-progress")
    assert code == 3
    assert f"cannot reach AMI at 127.0.0.1:{port}" in err


@pytest.mark.parametrize(
    ("login", "reason"),
    [
        ("close", "closed the connection during Login"),
        ("truncated", "closed the connection during Login"),
        ("silent", "did not answer Login"),
    ],
)
async def test_given_ami_login_failing_when_run_then_reason_and_exit_3(
    tmp_path: Path, login: str, reason: str
) -> None:
    db = await seeded_db(tmp_path, 5)
    fake = FakeAmi(secret=SECRET, login=login)
    port = await fake.start()
    try:
        campaign = write_campaign(tmp_path / "c.yaml", port)
        code, _, err = await run_dialer("--db", str(db), "run", str(campaign), "--no-progress")
    finally:
        await fake.stop()
    assert code == 3, err
    assert reason in err
    assert "Traceback" not in err
    assert not [a for a in fake.actions if a.get("Action") == "Originate"]


async def test_given_unknown_list_when_run_then_clear_error_and_exit_2(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    campaign = write_campaign(tmp_path / "c.yaml", pbx.port, list="nosuchlist")
    code, _, err = await run_dialer(
        "--db", str(tmp_path / "d.db"), "run", str(campaign), "--no-progress"
    )
    assert code == 2
    assert "nosuchlist" in err
    assert pbx.originates == []


async def test_given_missing_secret_env_when_run_then_error_names_the_variable(
    tmp_path: Path,
) -> None:
    campaign = write_campaign(tmp_path / "c.yaml", 5038)
    env = {k: v for k, v in os.environ.items() if k != "DIALER_AMI_SECRET"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dialer",
        "--db",
        str(tmp_path / "d.db"),
        "run",
        str(campaign),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    _, err = await proc.communicate()
    assert proc.returncode == 2
    assert "DIALER_AMI_SECRET" in err.decode()


async def test_given_broken_yaml_when_validated_then_file_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nlist: y\ndial:\n  chanel: PJSIP/{number}@trunk\n", encoding="utf-8")
    code, _, err = await run_dialer("validate", str(bad))
    assert code == 2
    assert "bad.yaml:4:3" in err and "did you mean 'channel'" in err


async def test_given_finished_campaign_when_reported_then_csv_and_json_have_every_contact(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await seeded_db(tmp_path, 30)
    campaign = write_campaign(tmp_path / "c.yaml", pbx.port)
    code, _, err = await run_dialer("--db", str(db), "run", str(campaign), "--no-progress")
    assert code == 0, err
    code, out, _ = await run_dialer("--db", str(db), "report", "spring-promo", "--format", "csv")
    assert code == 0
    rows = out.strip().splitlines()
    assert rows[0].startswith("number,name,status,attempts,last_outcome")
    assert len(rows) == 31
    code, out, _ = await run_dialer("--db", str(db), "report", "spring-promo", "--format", "json")
    assert code == 0
    assert out.count('"number"') == 30
    code, out, _ = await run_dialer("--db", str(db), "report", "spring-promo")
    assert code == 0 and "Campaign spring-promo: 30 contacts" in out
    book = tmp_path / "report.xlsx"
    code, _, err = await run_dialer(
        "--db", str(db), "report", "spring-promo", "--format", "xlsx", "--output", str(book)
    )
    assert code == 0, err
    sheet = load_workbook(book, read_only=True).active
    assert sheet is not None and len(list(sheet.rows)) == 31
    code, _, err = await run_dialer("--db", str(db), "report", "spring-promo", "--format", "xlsx")
    assert code == 2 and "--format xlsx needs --output FILE" in err
    code, _, err = await run_dialer("--db", str(db), "report", "nope")
    assert code == 2 and "no campaign named 'nope'" in err


async def test_given_fresh_machine_when_demo_runs_then_both_campaigns_finish_and_report(
    tmp_path: Path,
) -> None:
    code, out, err = await run_dialer(
        "--db", str(tmp_path / "demo.db"), "demo", "--contacts", "30", "--no-progress"
    )
    assert code == 0, err
    assert "SIMULATED PBX" in out
    assert "Run of demo: finished" in out and "Run of demo-keypad: finished" in out
    assert "Campaign demo-keypad: 10 contacts" in out
    assert "Leads (temperature set by the script)" in out
    # The keypad campaign sorts the whole funnel, even on a short list.
    funnel = out.split("Leads (temperature set by the script)")[1]
    for temperature in ("hot", "warm", "cold"):
        assert f"│ {temperature} " in funnel, temperature
