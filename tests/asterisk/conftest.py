"""Tests against a REAL Asterisk. They run only when an `asterisk` binary is on PATH.

    scripts/test tests/asterisk                  (../shared/asterisk/sbin when present)
    PATH=/opt/asterisk/sbin:$PATH scripts/test tests/asterisk     (your own build)

Without it every test in this folder is skipped ("no asterisk binary on PATH"). The
fixture `real_asterisk` starts one private Asterisk per session (see
private_asterisk.py): its own temp directory, the project's asterisk-config/ files, AMI
on a free loopback port; stopped with `core stop now` at the end. The modules directory
is found from the binary (<prefix>/lib/asterisk/modules) and the English prompts in the
usual places; ASTERISK_MODULES_DIR and ASTERISK_SOUNDS_DIR override them.

For an end-to-end test (a campaign through the real Asterisk with `dialer run`), put the
test in this folder and use `real_asterisk.ami_settings()` as the campaign's `ami:`
section and `TEST_DIAL_STRING` (Local/{number}@dialer-test-callees) as dial.channel.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.asterisk.private_asterisk import RealAsterisk, start_private_asterisk

HERE = Path(__file__).resolve().parent
ASTERISK_BINARY = shutil.which("asterisk")
SKIP_REASON = (
    "no asterisk binary on PATH (scripts/test adds ../shared/asterisk/sbin when it exists)"
)


def unrunnable_reason(binary: str | None) -> str | None:
    """Why the tests cannot use this Asterisk at all, or None when they can.

    A binary built for another CPU (Asterisk's BUILD_NATIVE menuselect option, on by
    default, compiles with -march=native) prints its version and then dies with SIGILL on
    any real start; that is not a failure of the dialer, and running 30 tests into it
    would only repeat it. `-rx` against no running Asterisk is the cheapest real start.
    """
    if binary is None:
        return SKIP_REASON
    try:
        probe = subprocess.run(
            [binary, "-C", "/nonexistent/asterisk.conf", "-rx", "core show version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{binary} cannot be run: {exc}"
    if probe.returncode == -signal.SIGILL:
        return (
            f"{binary} dies with SIGILL (illegal instruction) on this CPU: it was built "
            "for another processor (menuselect BUILD_NATIVE / -march=native). Rebuild it "
            "with `menuselect/menuselect --disable BUILD_NATIVE menuselect.makeopts`, or "
            "point ASTERISK_SBIN at a build that runs here"
        )
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder `asterisk`, and skip them all without a binary
    this machine can run."""
    ours = [item for item in items if item.path.is_relative_to(HERE)]
    reason = unrunnable_reason(ASTERISK_BINARY) if ours else None
    for item in ours:
        item.add_marker(pytest.mark.asterisk)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def real_asterisk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealAsterisk]:
    """A private Asterisk for the whole test session (about 0.5 s to boot)."""
    reason = unrunnable_reason(ASTERISK_BINARY)
    if reason is not None or ASTERISK_BINARY is None:
        pytest.skip(reason or SKIP_REASON)
    tmpdir = tmp_path_factory.mktemp("asterisk")  # pytest keeps the last runs' logs
    # The control socket <tmpdir>/run/asterisk.ctl must fit a Unix socket path (108 bytes).
    short = len(str(tmpdir / "run" / "asterisk.ctl")) > 100
    if short:
        tmpdir = Path(tempfile.mkdtemp(prefix="dialer-ast-", dir="/tmp"))
    try:
        with start_private_asterisk(Path(ASTERISK_BINARY), tmpdir) as pbx:
            yield pbx
    finally:
        if short:
            shutil.rmtree(tmpdir, ignore_errors=True)
