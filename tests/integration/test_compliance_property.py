"""The compliance promise through the engine, over random contacts, zones, calling hours
and clocks (hypothesis): no call is ever originated outside the calling hours of every
zone the callee may be in, nor to a do-not-call number; and every contact the rules allow
is called. Counted on the PBX side (the in-memory link's originate requests), checked
against zones worked out here from phonenumbers directly, not through the product's
zone code."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from phonenumbers import timezone as number_timezones

from dialer.engine.pacing_control import PacingControl
from dialer.engine.runner import CampaignRunner
from dialer.store import open_store
from dialer.store.base import NewContact
from tests.unit.test_runner import MemoryPbx, campaign

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Numbers whose zones differ: Russian mobiles (eleven zones), Moscow, Vladivostok,
# Arizona (no DST), Indianapolis, New York, London, Sydney.
# Multi-zone heads are drawn as often as all the others together: they are where a rule
# that looked at one zone only would call someone at night.
HEADS = ("+7912", "+7912", "+7950", "+7999", "+7495", "+7423", "+1602", "+1317", "+1212",
         "+44207", "+6129")  # fmt: skip
EXPLICIT = (None, None, None, "Asia/Vladivostok", "America/Phoenix", "UTC+3", "Europe/London")


def zones_here(number: str, explicit: str | None) -> list[tzinfo]:
    """The zones the test expects the dialer to respect, computed independently."""
    if explicit == "UTC+3":
        return [ZoneInfo("Etc/GMT-3")]
    if explicit is not None:
        return [ZoneInfo(explicit)]
    names = number_timezones.time_zones_for_number(phonenumbers.parse(number))
    # phonenumbers files Kaliningrad (and so every Russian mobile) under Bucharest, which
    # keeps summer time and Kaliningrad does not: the dialer corrects it, so must we.
    fixed = ["Europe/Kaliningrad" if n == "Europe/Bucharest" and number.startswith("+7") else n
             for n in names]  # fmt: skip
    # No zone known (a number phonenumbers cannot place): never called at a guessed hour.
    return [ZoneInfo(n) for n in fixed if n != "Etc/Unknown"]


def open_everywhere(
    zones: list[tzinfo], days: set[int], start: int, end: int, at: datetime
) -> bool:
    if not zones:
        return False
    for zone in zones:
        local = at.astimezone(zone)
        minutes = local.hour * 60 + local.minute
        if local.weekday() not in days or not start * 60 <= minutes < end * 60:
            return False
    return True


contact = st.tuples(
    st.sampled_from(HEADS), st.integers(2_000_000, 9_999_999), st.sampled_from(EXPLICIT),
    st.booleans(),
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    contacts=st.lists(contact, min_size=1, max_size=8, unique_by=lambda c: (c[0], c[1])),
    start=st.integers(0, 22),
    length=st.integers(1, 24),
    days=st.sets(st.integers(0, 6), min_size=1),
    at=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
)
def test_no_call_outside_every_zone_window_or_to_dnc(
    contacts: list[tuple[str, int, str | None, bool]],
    start: int,
    length: int,
    days: set[int],
    at: datetime,
) -> None:
    end = min(24, start + length)
    numbers = [f"{head}{tail}" for head, tail, _, _ in contacts]
    # The importer lets only valid numbers into the base.
    assume(all(phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in numbers))
    dnc = {n for n, (_, _, _, listed) in zip(numbers, contacts, strict=True) if listed}
    expected = {
        n
        for n, (_, _, explicit, _) in zip(numbers, contacts, strict=True)
        if n not in dnc and open_everywhere(zones_here(n, explicit), days, start, end, at)
    }
    hours = {",".join(DAYS[d] for d in sorted(days)): f"{start:02d}:00-{end:02d}:00"}
    if len(days) < 7:
        hours[",".join(DAYS[d] for d in range(7) if d not in days)] = "none"
    camp = campaign(
        pacing={"max_channels": 20, "calls_per_second": 1000},
        compliance={"calling_hours": hours},
    )
    with tempfile.TemporaryDirectory() as folder:
        originated = asyncio.run(
            _run(Path(folder), camp, numbers, [c[2] for c in contacts], dnc, at, len(expected))
        )
    for request_number in originated:
        assert request_number not in dnc
    assert set(originated) == expected


async def _run(
    folder: Path,
    camp: Any,
    numbers: list[str],
    explicit: list[str | None],
    dnc: set[str],
    at: datetime,
    expected: int,
) -> list[str]:
    store = await open_store(folder / "p.db")
    try:
        await store.import_contacts(
            "people", [NewContact(n, timezone=z) for n, z in zip(numbers, explicit, strict=True)]
        )
        await store.add_do_not_call(sorted(dnc), "test", at)
        pbx = MemoryPbx()
        runner = CampaignRunner(camp, store, pbx, PacingControl(camp), clock=lambda: at)
        stop = asyncio.Event()
        run = asyncio.create_task(runner.run(stop))
        deadline = asyncio.get_running_loop().time() + 5
        # Answer whatever comes up; stop once the expected calls were placed (or the run
        # ended by itself) and a moment passed in which any extra call would show.
        while not run.done() and asyncio.get_running_loop().time() < deadline:
            for attempt_id in list(pbx.up):
                pbx.end(attempt_id)
            if len(pbx.requests) >= expected and runner.snapshot.state != "starting":
                await asyncio.sleep(0.1)
                for attempt_id in list(pbx.up):
                    pbx.end(attempt_id)
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(run, 10)
        return [r.number for r in pbx.requests]
    finally:
        await store.close()


class ListedAfterLease:
    """The real store, except that right after a lease another process (the CLI) puts
    `number` on the do-not-call list: between the lease and the Originate."""

    def __init__(self, store: Any, number: str) -> None:
        self._store = store
        self._number = number

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def lease_due(self, *args: Any) -> Any:
        leases = await self._store.lease_due(*args)
        if any(lease.number == self._number for lease in leases):
            await self._store.add_do_not_call([self._number], "cli", datetime.now(UTC))
        return leases


async def test_dnc_is_read_again_just_before_the_originate(tmp_path: Path) -> None:
    camp = campaign(pacing={"max_channels": 5, "calls_per_second": 1000},
                    compliance={"calling_hours": {"mon-sun": "00:00-24:00"}})  # fmt: skip
    store = await open_store(tmp_path / "d.db")
    numbers = [f"+7912000000{i}" for i in range(4)]
    await store.import_contacts("people", [NewContact(n) for n in numbers])
    pbx = MemoryPbx()
    runner = CampaignRunner(camp, ListedAfterLease(store, numbers[2]), pbx, PacingControl(camp),
                            clock=lambda: datetime.now(UTC))  # fmt: skip
    run = asyncio.create_task(runner.run(asyncio.Event()))
    await pbx.wait_up(3)
    for request in list(pbx.requests):
        pbx.end(request.attempt_id)
    await asyncio.wait_for(run, 10)
    assert sorted(r.number for r in pbx.requests) == [numbers[0], numbers[1], numbers[3]]
    assert runner.snapshot.held == {"dnc": 1}
    assert runner.snapshot.state == "finished"  # the listed contact was retired
    await store.close()


async def test_a_number_listed_while_the_campaign_runs_is_not_dialled(tmp_path: Path) -> None:
    camp = campaign(pacing={"max_channels": 1, "calls_per_second": 1000},
                    compliance={"calling_hours": {"mon-sun": "00:00-24:00"}})  # fmt: skip
    store = await open_store(tmp_path / "d.db")
    numbers = [f"+7912000000{i}" for i in range(4)]
    await store.import_contacts("people", [NewContact(n) for n in numbers])
    pbx = MemoryPbx()
    runner = CampaignRunner(camp, store, pbx, PacingControl(camp),
                            clock=lambda: datetime.now(UTC))  # fmt: skip
    run = asyncio.create_task(runner.run(asyncio.Event()))
    await pbx.wait_up(1)
    # Listed by "another process" (the same file) while the first call is up.
    await store.add_do_not_call(numbers[1:3], "cli", datetime.now(UTC))
    pbx.end(pbx.requests[0].attempt_id)
    await pbx.wait_up(1)
    pbx.end(pbx.requests[1].attempt_id)
    await asyncio.wait_for(run, 10)
    assert [r.number for r in pbx.requests] == [numbers[0], numbers[3]]
    assert runner.snapshot.state == "finished"
    await store.close()
