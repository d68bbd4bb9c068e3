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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test of this folder `asterisk`, and skip them all without a binary."""
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.asterisk)
            if ASTERISK_BINARY is None:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def real_asterisk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealAsterisk]:
    """A private Asterisk for the whole test session (about 0.5 s to boot)."""
    if ASTERISK_BINARY is None:
        pytest.skip(SKIP_REASON)
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
