"""The recorded answers of ask steps and spoken survey answers: where they go, the check
of `speech.record_dir` before the first call, and their deletion.

Asterisk writes each answer (RECORD FILE) and the dialer reads it back, so the same
directory must be writable by Asterisk and readable by the dialer. A directory that does
not exist makes every RECORD FILE fail (`200 result=-1 (writefile)`) on a call someone
already answered; checking it first stops the campaign before it dials.

    problem = record_dir_problem(Path("/var/spool/asterisk/dialer-recordings"), local=True)
    delete_attempt_recordings(record_dir, attempt_id)   # e.g. when a person is erased
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

_SAFE_FILE_PART = re.compile(r"[^A-Za-z0-9_.-]")
_RECORDING = re.compile(r"[A-Za-z0-9_.-]+-.+-[0-9]+\.wav")  # what recording_name gives
_PROC = Path("/proc")


def recording_name(attempt_id: str, step: str, attempt: int) -> str:
    """`<attempt>-<step>-<try>` (Asterisk adds `.wav`)."""
    # The attempt id comes from the engine; never let it climb out of record_dir.
    return f"{_attempt_part(attempt_id)}-{step}-{attempt}"


def _attempt_part(attempt_id: str) -> str:
    return _SAFE_FILE_PART.sub("_", attempt_id)


def asterisk_is_local(ami_host: str) -> bool:
    """Whether the campaign's Asterisk runs on this host (its AMI on a loopback address
    or this host's own name), so its side of record_dir can be checked here too."""
    if ami_host in ("localhost", socket.gethostname()):
        return True
    try:
        return ipaddress.ip_address(ami_host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class _Account:
    uid: int
    gids: frozenset[int]


def record_dir_problem(record_dir: Path, local: bool) -> str | None:
    """What stops recordings in record_dir, or None when both sides can use it.

    The dialer's side is always checked: the directory exists and the dialer can list
    and read it. With a local Asterisk (local=True) the directory must also be writable
    by the user every running `asterisk` process runs as (found in /proc). A remote
    Asterisk writes through its own mount of a shared volume, which cannot be seen from
    here: its first failed recording ends that call as `script_error`.
    """
    where = f"speech.record_dir {record_dir}"
    if not record_dir.exists():
        return f"{where} does not exist; create it (writable by Asterisk)"
    if not record_dir.is_dir():
        return f"{where} is not a directory"
    if not os.access(record_dir, os.R_OK | os.X_OK):
        return f"{where} cannot be read by the dialer (user id {os.geteuid()})"
    if not local:
        return None
    for account in _asterisk_accounts():
        if not _writable_by(record_dir, account):
            return (
                f"{where} is not writable by Asterisk (user id {account.uid}); "
                f"e.g. chown asterisk: {record_dir}"
            )
    return None


def _asterisk_accounts() -> list[_Account]:
    """The effective user and groups of each running `asterisk` process."""
    accounts = []
    try:
        entries = list(_PROC.iterdir())
    except OSError:
        return []
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Name", "").strip() != "asterisk":
            continue
        uid = int(fields["Uid"].split()[1])
        gids = {int(fields["Gid"].split()[1]), *map(int, fields.get("Groups", "").split())}
        accounts.append(_Account(uid, frozenset(gids)))
    return accounts


def _writable_by(path: Path, account: _Account) -> bool:
    if account.uid == 0:
        return True
    mode = path.stat()
    if mode.st_uid == account.uid:
        needed = stat.S_IWUSR | stat.S_IXUSR
    elif mode.st_gid in account.gids:
        needed = stat.S_IWGRP | stat.S_IXGRP
    else:
        needed = stat.S_IWOTH | stat.S_IXOTH
    return mode.st_mode & needed == needed


def delete_attempt_recordings(record_dir: Path, attempt_id: str) -> list[Path]:
    """Delete every recording of one attempt (all its steps and tries); the files gone.

    For erasing a person: `contacts erase` calls it for each of their attempts."""
    prefix = f"{_attempt_part(attempt_id)}-"
    return _delete(p for p in _listing(record_dir) if p.name.startswith(prefix))


def delete_recording(path: Path) -> bool:
    """Delete one recording once it has been recognised (keep_recordings: recognised)."""
    return bool(_delete([path]))


def sweep_recordings(record_dir: Path, keep: timedelta, now: datetime) -> list[Path]:
    """Delete the recordings in record_dir last written more than `keep` ago."""
    cutoff = (now - keep).timestamp()
    old = []
    for path in _listing(record_dir):
        try:
            # Only our own files: record_dir may be shared with other recordings.
            if _RECORDING.fullmatch(path.name) and path.stat().st_mtime < cutoff:
                old.append(path)
        except OSError:
            continue
    return _delete(old)


def _listing(record_dir: Path) -> list[Path]:
    try:
        return [p for p in record_dir.iterdir() if p.is_file()]
    except OSError:
        return []


def _delete(paths: Iterable[Path]) -> list[Path]:
    gone = []
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        gone.append(path)
    return gone
