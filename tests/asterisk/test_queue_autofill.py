"""Several leads reaching the operators' queue at once are all connected when operators
are free: asterisk-config/queues.conf sets `autofill = yes` and a strategy that rings
one operator per caller. Counted on the Asterisk side (queue_log CONNECT lines)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.asterisk.ami import ami_session
from tests.asterisk.conftest import ASTERISK_BINARY
from tests.asterisk.private_asterisk import (
    ADMIN_SECRET,
    ADMIN_USERNAME,
    ExtraConfig,
    RealAsterisk,
    start_private_asterisk,
)

QUEUE = "dialer-operators"
CALLERS = 6
EXTRA_OPERATORS = 6  # with the two test members of queues.conf: 8 idle operators
# A caller answers and waits; the other half of the Local channel runs Queue().
CALLER_CONTEXT = "[autofill-caller]\nexten => s,1,Answer()\n same => n,Wait(30)\n"


@pytest.fixture
def own_asterisk() -> Iterator[RealAsterisk]:
    """A private Asterisk of its own: the test adds queue members the session one lacks."""
    assert ASTERISK_BINARY is not None
    tmpdir = Path(tempfile.mkdtemp(prefix="dialer-ast-", dir="/tmp"))
    extra = ExtraConfig(appends={"extensions.conf": CALLER_CONTEXT})
    try:
        with start_private_asterisk(Path(ASTERISK_BINARY), tmpdir, extra=extra) as pbx:
            yield pbx
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def queue_log(pbx: RealAsterisk, verb: str) -> list[list[str]]:
    path = pbx.tmpdir / "log" / "queue_log"
    lines = path.read_text().splitlines() if path.exists() else []
    return [f for f in (line.split("|") for line in lines) if f[2] == QUEUE and f[4] == verb]


async def test_callers_joining_at_once_with_idle_operators_are_all_connected(
    own_asterisk: RealAsterisk,
) -> None:
    pbx = own_asterisk
    async with ami_session(pbx.host, pbx.port, ADMIN_USERNAME, ADMIN_SECRET) as ami:
        for n in range(3, 3 + EXTRA_OPERATORS):
            added = await ami.action(
                "QueueAdd", Queue=QUEUE, Interface=f"Local/op{n}@dialer-test-operators/n"
            )
            assert added.get("Response") == "Success", added
        # 4 s in the queue: the test operators ring 2 s, so a caller rung at once is
        # taken in time, a caller left waiting for the one before it is not.
        for _ in range(CALLERS):
            await ami.send(
                "Originate",
                Channel="Local/s@autofill-caller/n",
                Application="Queue",
                Data=f"{QUEUE},,,,4",
                Async="true",
            )
        deadline = asyncio.get_running_loop().time() + 15
        while asyncio.get_running_loop().time() < deadline:
            done = len(queue_log(pbx, "CONNECT")) + len(queue_log(pbx, "EXITWITHTIMEOUT"))
            if done >= CALLERS:
                break
            await asyncio.sleep(0.25)
        # queue_log is written as app_queue connects; the AMI events may trail it.
        while asyncio.get_running_loop().time() < deadline:
            connect_events = [m for m in ami.messages if m.get("Event") == "AgentConnect"]
            if len(connect_events) >= CALLERS:
                break
            await asyncio.sleep(0.1)
    connected, timed_out = queue_log(pbx, "CONNECT"), queue_log(pbx, "EXITWITHTIMEOUT")
    assert (len(connected), len(timed_out)) == (CALLERS, 0), pbx.log_tail()
    assert len(connect_events) == CALLERS
    assert len({f[3] for f in connected}) == CALLERS  # six different operators
