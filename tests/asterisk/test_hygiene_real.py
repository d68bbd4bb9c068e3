"""Hygiene through a REAL Asterisk: the Q.850 causes of unallocated / unroutable / badly
formatted numbers (1, 3, 28) make the number dead in every list, and no later campaign
originates it again; cause 2 (the carrier's routing) does not, until it has failed three
times in a row across campaigns. Counted on the PBX side:
the test context logs every call that reaches it, in Asterisk's own log."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from dialer.campaign.model import Campaign
from dialer.control.app import run_campaign
from dialer.outcomes import Outcome
from dialer.store import open_store
from dialer.store.base import ContactStore, NewContact
from tests.asterisk.conftest import ASTERISK_BINARY, unrunnable_reason
from tests.asterisk.private_asterisk import ExtraConfig, RealAsterisk, start_private_asterisk

# The last two digits of the number are the Q.850 cause the far end hangs up with; 00
# answers and hangs up a second later.
CAUSES_DIALPLAN = """
[dialer-test-causes]
exten => _+X.,1,Log(NOTICE,dialer-test-counted ${EXTEN})
 same => n,GotoIf($["${EXTEN:-2}" = "00"]?answer)
 same => n,Hangup($[${EXTEN:-2} + 0])
 same => n(answer),Answer()
 same => n,Wait(1)
 same => n,Hangup(16)
"""
DEAD = {"+79120000101": 1, "+79120000103": 3, "+79120000128": 28}
ROUTING, ANSWERS = "+79120000102", "+79120000100"


@pytest.fixture
def pbx() -> Iterator[RealAsterisk]:
    reason = unrunnable_reason(ASTERISK_BINARY)
    if reason is not None or ASTERISK_BINARY is None:
        pytest.skip(reason or "no asterisk")
    workdir = Path(tempfile.mkdtemp(prefix="dialer-ast-", dir="/tmp"))  # short socket path
    extra = ExtraConfig(appends={"extensions.conf": CAUSES_DIALPLAN})
    try:
        with start_private_asterisk(Path(ASTERISK_BINARY), workdir, extra) as started:
            yield started
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def counted(pbx: RealAsterisk) -> Counter[str]:
    log = pbx.log_file.read_text(errors="replace") if pbx.log_file.exists() else ""
    # The NOTICE line itself, not the verbose line that shows Log() being executed.
    return Counter(re.findall(r"NOTICE\[[^\n]*dialer-test-counted (\+\d+)", log))


async def run(store: ContactStore, pbx: RealAsterisk, name: str, list_name: str) -> None:
    campaign = Campaign.model_validate(
        {
            "name": name,
            "list": list_name,
            "compliance": {"calling_hours": {"mon-sun": "00:00-24:00"}},
            "ami": pbx.ami_settings(),
            "dial": {"channel": "Local/{number}@dialer-test-causes", "ring_timeout": "15s"},
            "pacing": {"max_channels": 5, "calls_per_second": 10},
            "on_answer": {"action": "play_and_hangup", "message": "beep"},
            "retry": {"max_attempts": 1},
        }
    )
    snapshot = await asyncio.wait_for(
        run_campaign(campaign, store, pbx.secret, asyncio.Event()), 60
    )
    assert snapshot.state == "finished", pbx.log_tail()


async def test_given_causes_1_3_28_on_real_asterisk_then_dead_everywhere_and_never_dialled_again(
    pbx: RealAsterisk, tmp_path: Path
) -> None:
    store = await open_store(tmp_path / "dialer.db")
    try:
        await store.import_contacts("real", [NewContact(n) for n in (*DEAD, ROUTING, ANSWERS)])
        await store.import_contacts("other", [NewContact(n) for n in (*DEAD, ROUTING)])
        await run(store, pbx, "first", "real")
        record = await store.get_campaign("first")
        assert record is not None
        outcomes = {a.number: (a.outcome, a.cause) for a in await store.attempts(record.id)}
        await run(store, pbx, "second", "real")
        dead = {c.number: c.dead for c in await store.contacts("other")}
        await run(store, pbx, "elsewhere", "other")
        dead_at_last = {c.number: c.dead for c in await store.contacts("other")}
    finally:
        await store.close()

    assert outcomes == {
        **{n: (Outcome.INVALID_NUMBER, cause) for n, cause in DEAD.items()},
        ROUTING: (Outcome.FAILED, 2),
        ANSWERS: (Outcome.ANSWERED, 16),
    }, pbx.log_tail()
    assert dead == {**{n: True for n in DEAD}, ROUTING: False}
    # Its third failure in a row (retry.dead_after_failures: 3) retires it too.
    assert dead_at_last == {**{n: True for n in DEAD}, ROUTING: True}
    # What Asterisk saw: each dead number once, in the first campaign only.
    assert counted(pbx) == {**{n: 1 for n in DEAD}, ROUTING: 3, ANSWERS: 2}
