"""One campaign, one driver; one person, one call: real `dialer run` processes on one
contact base against the simulated PBX, counted on the simulator's side."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import socket
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from dialer.outcomes import ContactStatus
from dialer.simpbx import SimulatedPbx
from dialer.store import open_store
from tests.integration.conftest import campaign_dict, numbers
from tests.integration.test_cli import dialer, run_dialer, seeded_db, write_campaign

pytestmark = pytest.mark.timeout(180)

CAP = 20


async def status_rows(db: Path) -> dict[str, str]:
    code, out, err = await run_dialer("--db", str(db), "status", "--format", "json")
    assert code == 0, err
    return {row["campaign"]: row["state"] for row in json.loads(out)}


@pytest.mark.store_backends
async def test_a_second_run_is_refused_naming_the_first_and_a_killed_holder_is_taken_over(
    pbx: SimulatedPbx, tmp_path: Path, store_url: str
) -> None:
    db = await seeded_db(tmp_path, 300, store_url)
    slow = write_campaign(
        tmp_path / "slow.yaml", pbx.port, pacing={"max_channels": CAP, "calls_per_second": 10}
    )
    first = await dialer("--db", str(db), "run", str(slow), "--no-progress")
    while len(pbx.originates) < 10:
        await asyncio.sleep(0.01)
        assert first.returncode is None

    code, _, err = await run_dialer("--db", str(db), "run", str(slow), "--no-progress")
    holder = f"{socket.gethostname()}:{first.pid}"
    assert code == 4, err
    assert f"'spring-promo' is already being run by {holder} since" in err
    assert "Traceback" not in err
    state = (await status_rows(db))["spring-promo"]
    assert state.startswith(f"running (held by {holder}, last seen ")
    code, out, _ = await run_dialer("--db", str(db), "status", "spring-promo")
    assert code == 0 and f"running (held by {holder}" in out

    first.send_signal(signal.SIGKILL)
    await first.wait()
    dialled_by_first = len(pbx.originates)
    assert (await status_rows(db))["spring-promo"].startswith(
        f"interrupted: holder died ({holder}, last seen"
    )

    # Same host, holder's pid gone: a new run takes over at once, no TTL to wait.
    fast = write_campaign(
        tmp_path / "fast.yaml", pbx.port, pacing={"max_channels": CAP, "calls_per_second": 100}
    )
    code, out, err = await run_dialer("--db", str(db), "run", str(fast), "--no-progress")
    assert code == 0, err
    assert "finished" in out
    assert len(pbx.originates) > dialled_by_first
    assert (await status_rows(db))["spring-promo"] == "finished"

    # Counted by the PBX over the whole test: never more calls up than the cap.
    assert pbx.max_concurrent <= CAP
    channel_ids = [o.channel_id for o in pbx.originates]
    assert len(channel_ids) == len(set(channel_ids))
    store = await open_store(db)
    try:
        record = await store.get_campaign("spring-promo")
        assert record is not None
        assert await store.campaign_hold(record.id) is None  # released at the end
        lines = await store.contact_report(record.id)
        assert all(line.status is ContactStatus.DONE for line in lines)
    finally:
        await store.close()


@pytest.mark.store_backends
async def test_two_campaigns_on_one_list_never_call_one_number_twice_at_once(
    pbx: SimulatedPbx, tmp_path: Path, store_url: str
) -> None:
    db = await seeded_db(tmp_path, 120, store_url)
    files = []
    for name in ("spring-promo", "spring-survey"):
        data = campaign_dict(
            pbx.port, name=name, pacing={"max_channels": 30, "calls_per_second": 200}
        )
        data["ami"] = {**data["ami"], "secret_env": "DIALER_AMI_SECRET"}
        del data["ami"]["secret"]
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        files.append(path)
    results = await asyncio.gather(
        *(run_dialer("--db", str(db), "run", str(f), "--no-progress") for f in files)
    )
    for code, out, err in results:
        assert code == 0, err
        assert "finished" in out

    # On the simulator's side: per number, no two calls overlap in time.
    calls_by_number: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for call in pbx.calls.values():
        assert call.ended is not None
        calls_by_number[call.number].append((call.started, call.ended))
    overlaps = []
    for number, spans in calls_by_number.items():
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                overlaps.append(number)
    assert overlaps == []
    # Both campaigns called every number (the list is shared, not split), except the
    # invalid ones (last digit 4) that the other campaign had already found dead.
    live = {n for n in numbers(120) if not n.endswith("4")}
    store = await open_store(db)
    try:
        for name in ("spring-promo", "spring-survey"):
            record = await store.get_campaign(name)
            assert record is not None
            dialled = {a.number for a in await store.attempts(record.id)}
            assert live <= dialled
    finally:
        await store.close()
