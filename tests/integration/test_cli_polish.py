"""The `dialer` command with hostile or careless use: bad options, pipes that close, output
to files, options in any order. A real process each time; never a traceback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from dialer.store import open_store
from tests.integration.conftest import fill_list


def dialer(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DIALER_DB", "COLUMNS")}
    return subprocess.run(
        [sys.executable, "-m", "dialer", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
    )


async def seeded(tmp_path: Path, contacts: int, list_name: str = "spring") -> Path:
    db = tmp_path / "dialer.db"
    store = await open_store(db)
    await fill_list(store, list_name, contacts)
    await store.open_campaign("spring-promo", list_name, datetime.now(UTC))
    await store.close()
    return db


def test_given_a_bogus_log_level_then_exit_2_and_the_choices() -> None:
    done = dialer("--log-level", "bogus", "schema")
    assert done.returncode == 2
    assert "invalid choice: 'bogus'" in done.stderr and "Traceback" not in done.stderr


def test_given_version_then_the_package_version() -> None:
    done = dialer("--version")
    assert done.returncode == 0
    assert done.stdout.startswith("dialer ") and done.stdout.split()[1][0].isdigit()


async def test_given_db_after_the_command_then_it_is_used(tmp_path: Path) -> None:
    db = await seeded(tmp_path, 5)
    for args in (
        ("contacts", "lists", "--db", str(db)),
        ("--db", str(db), "contacts", "lists"),
        ("contacts", "--db", str(db), "lists"),
        ("status", "--db", str(db)),
    ):
        done = dialer(*args, cwd=tmp_path / "..")
        assert done.returncode == 0, (args, done.stderr)
        assert "spring" in done.stdout, args


async def test_given_a_reader_that_stops_early_then_no_broken_pipe_traceback(
    tmp_path: Path,
) -> None:
    db = await seeded(tmp_path, 3000)  # far more than a pipe buffer of report
    for command in (["report", "spring-promo", "--format", "csv"], ["contacts", "export"]):
        args = [*command, "--list", "spring"] if command[0] == "contacts" else command
        proc = subprocess.Popen(
            [sys.executable, "-m", "dialer", "--db", str(db), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline()  # `| head -1`
        proc.stdout.close()
        err = proc.stderr.read()
        proc.stderr.close()
        assert proc.wait(timeout=60) == 0, err
        assert "Traceback" not in err and "BrokenPipe" not in err


async def test_given_output_to_a_file_then_tables_are_not_cut_at_80_columns(
    tmp_path: Path,
) -> None:
    long_list = "a-list-name-that-is-long-enough-to-overflow-eighty-columns-of-table"
    db = await seeded(tmp_path, 3, list_name=long_list)
    done = dialer("--db", str(db), "status")
    assert done.returncode == 0, done.stderr
    assert long_list in done.stdout  # whole, on one line


async def test_given_an_import_with_rejects_then_the_reject_file_is_private_and_not_here(
    tmp_path: Path,
) -> None:
    source = tmp_path / "contacts.csv"
    source.write_text("phone,name\n+79123456780,Иван\nnot a number,Пётр\n", encoding="utf-8")
    workdir = tmp_path / "work"
    workdir.mkdir()
    db = tmp_path / "base" / "dialer.db"
    done = dialer("--db", str(db), "contacts", "import", str(source), "--list", "x", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert list(workdir.iterdir()) == []  # nothing with contact data in the current folder
    [rejects] = (tmp_path / "base" / "rejects").iterdir()
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    assert stat.S_IMODE(rejects.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


async def test_given_db_when_validating_then_the_list_must_exist_in_it(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "campaign.yaml"  # list spring
    db = await seeded(tmp_path, 3, list_name="autumn")
    done = dialer("validate", str(example), "--db", str(db))
    assert done.returncode == 2
    assert "no list 'spring'" in done.stderr and "'autumn'" in done.stderr
    missing = dialer("validate", str(example), "--db", str(tmp_path / "nowhere.db"))
    assert missing.returncode == 2 and "no contact base there" in missing.stderr
    assert not (tmp_path / "nowhere.db").exists()  # validating created nothing
    db2 = await seeded(tmp_path / "b", 3, list_name="spring")
    assert dialer("validate", str(example), "--db", str(db2)).returncode == 0


def test_given_a_speech_model_that_is_not_there_then_validate_says_so(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "campaign-speech.yaml"
    text = example.read_text(encoding="utf-8")
    campaign = tmp_path / "speech.yaml"
    campaign.write_text(text, encoding="utf-8")
    done = dialer("validate", str(campaign))
    assert done.returncode == 2
    assert "no Vosk model" in done.stderr and "ivr.speech.model_dir" in done.stderr
    assert "Traceback" not in done.stderr


def test_given_db_when_the_demo_runs_then_no_scratch_folder_is_left(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    done = subprocess.run(
        [sys.executable, "-m", "dialer", "--db", str(tmp_path / "demo.db"), "demo",
         "--contacts", "10", "--no-progress"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert list(scratch.iterdir()) == []


async def test_given_exports_then_each_is_in_the_audit_log_with_who_and_how_many(
    tmp_path: Path,
) -> None:
    db = await seeded(tmp_path, 7)
    assert dialer("contacts", "export", "--list", "spring", "--db", str(db)).returncode == 0
    out = tmp_path / "out.xlsx"
    done = dialer("contacts", "export", "--list", "spring", "-o", str(out), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert dialer("report", "spring-promo", "--format", "csv", "--db", str(db)).returncode == 0
    assert dialer("report", "spring-promo", "--db", str(db)).returncode == 0  # a table: not
    done = dialer("audit", "--format", "json", "--db", str(db))
    assert done.returncode == 0, done.stderr
    entries = json.loads(done.stdout)
    assert [(e["action"], e["subject"], e["rows"]) for e in entries] == [
        ("report.export", "spring-promo", 7),
        ("contacts.export", "spring", 7),
        ("contacts.export", "spring", 7),
    ]
    assert entries[1]["detail"] == f"xlsx to {out}"
    assert all("@" in e["actor"] for e in entries)
    table = dialer("audit", "--db", str(db))
    assert "contacts.export" in table.stdout and "report.export" in table.stdout
