"""ivr.recordings: the record_dir check before the first call (both sides), what may be
deleted (one attempt's files, files older than the retention), and the settings."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from dialer.control.report import script_error_caption
from dialer.engine.next_step import outcome_with_script
from dialer.outcomes import Outcome
from ivr import recordings
from ivr.recordings import (
    asterisk_is_local,
    delete_attempt_recordings,
    record_dir_problem,
    recording_name,
    sweep_recordings,
)
from ivr.run_result import EndedBy, IvrResult
from ivr.script import SpeechSettings

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def fake_proc(root: Path, uid: int, gid: int, name: str = "asterisk") -> Path:
    """A /proc with one process, as Linux lays out /proc/<pid>/status."""
    (root / "4242").mkdir(parents=True)
    (root / "4242" / "status").write_text(
        f"Name:\t{name}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{gid}\t{gid}\t{gid}\t{gid}\n"
        "Groups:\t\n"
    )
    (root / "self").mkdir()
    return root


def test_given_missing_dir_or_a_file_then_a_problem_naming_it(tmp_path: Path) -> None:
    missing = record_dir_problem(tmp_path / "nope", local=False)
    assert missing is not None and str(tmp_path / "nope") in missing and "does not exist" in missing
    (tmp_path / "file").write_text("x")
    problem = record_dir_problem(tmp_path / "file", local=False)
    assert problem is not None and "not a directory" in problem


def test_given_local_asterisk_as_another_user_when_dir_not_writable_then_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recordings, "_PROC", fake_proc(tmp_path / "proc", uid=4321, gid=4321))
    spool = tmp_path / "spool"
    spool.mkdir(mode=0o755)
    os.chmod(spool, 0o755)  # owned by us, not by Asterisk's 4321: it cannot write
    problem = record_dir_problem(spool, local=True)
    assert problem is not None and "not writable by Asterisk (user id 4321)" in problem
    # Remote: Asterisk writes through its own mount, which cannot be seen from here.
    assert record_dir_problem(spool, local=False) is None
    os.chmod(spool, 0o777)
    assert record_dir_problem(spool, local=True) is None


def test_given_no_asterisk_process_here_then_only_the_dialer_side_is_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recordings, "_PROC", fake_proc(tmp_path / "proc", 4321, 4321, "bash"))
    spool = tmp_path / "spool"
    spool.mkdir()
    os.chmod(spool, 0o755)
    assert record_dir_problem(spool, local=True) is None


def test_loopback_and_own_name_are_local_other_hosts_are_not() -> None:
    assert asterisk_is_local("127.0.0.1") and asterisk_is_local("::1")
    assert asterisk_is_local("localhost")
    assert not asterisk_is_local("10.0.0.5") and not asterisk_is_local("pbx.example.com")


def test_given_an_attempt_when_its_recordings_deleted_then_only_its_files_go(
    tmp_path: Path,
) -> None:
    ours = [tmp_path / f"{recording_name('a1', step, n)}.wav" for step, n in [("q", 1), ("q", 2)]]
    other = tmp_path / f"{recording_name('a10', 'q', 1)}.wav"
    for path in (*ours, other):
        path.write_bytes(b"RIFF")
    assert sorted(delete_attempt_recordings(tmp_path, "a1")) == sorted(ours)
    assert [p.name for p in tmp_path.iterdir()] == [other.name]
    assert delete_attempt_recordings(tmp_path / "gone", "a1") == []


def test_given_retention_when_swept_then_only_our_old_recordings_deleted(tmp_path: Path) -> None:
    old = tmp_path / f"{recording_name('old-attempt', 'question', 1)}.wav"
    new = tmp_path / f"{recording_name('new-attempt', 'question', 1)}.wav"
    foreign = tmp_path / "voicemail-greeting.wav"  # not ours: record_dir may be shared
    for path in (old, new, foreign):
        path.write_bytes(b"RIFF")
    ten_days_ago = (NOW - timedelta(days=10)).timestamp()
    for path in (old, foreign):
        os.utime(path, (ten_days_ago, ten_days_ago))
    os.utime(new, (NOW.timestamp(), NOW.timestamp()))
    assert sweep_recordings(tmp_path, timedelta(days=7), NOW) == [old]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([new.name, foreign.name])


def test_settings_keep_recordings_and_absolute_record_dir() -> None:
    model = {"model_dir": "/m"}
    assert SpeechSettings.model_validate(model).keep_recordings is None
    days = SpeechSettings.model_validate({**model, "keep_recordings": "30d"})
    assert days.keep_recordings == timedelta(days=30)
    once = SpeechSettings.model_validate({**model, "keep_recordings": "recognised"})
    assert once.keep_recordings == "recognised"
    with pytest.raises(ValidationError, match="absolute path"):
        SpeechSettings.model_validate({**model, "record_dir": "recordings"})


def test_given_script_error_on_answered_call_then_outcome_is_script_error() -> None:
    failed = IvrResult(ended_by=EndedBy.ERROR, error="RECORD FILE failed (writefile)")
    assert outcome_with_script(Outcome.ANSWERED, failed) is Outcome.SCRIPT_ERROR
    assert outcome_with_script(Outcome.ANSWERED, IvrResult(ended_by=EndedBy.HANGUP)) is (
        Outcome.ANSWERED
    )
    assert outcome_with_script(Outcome.ANSWERED, None) is Outcome.ANSWERED
    assert outcome_with_script(Outcome.TRANSFERRED, failed) is Outcome.TRANSFERRED
    assert script_error_caption(2).startswith("2 answered call(s) ended by a script error")
    assert script_error_caption(0) == ""
