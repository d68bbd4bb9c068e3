"""The store's part in "one campaign, one driver; one person, one call": the campaign
hold (taken atomically, renewed, released, taken over from a dead holder), a number in a
call of one campaign never leased or started by another, contacts imported while a
campaign runs enrolled, and a lock held by another process reported as StoreBusy."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from dialer.engine.campaign_hold import THIS_HOST, CampaignHeld, HoldKeeper
from dialer.outcomes import Outcome
from dialer.store import ContactStore, open_store
from dialer.store.base import CampaignHold, NewContact, NumberInCall, StoreBusy
from dialer.store.sqlite import SqliteStore
from dialer.store.sqlite.campaign_ledger import STALE_OPEN_ATTEMPT
from tests.store_cases import FINISHED, NUMBERS, T0, done, open_spring, two_campaigns

pytestmark = pytest.mark.store_backends


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[ContactStore]:
    if "://" in store_url:
        opened = await open_store(store_url)
    else:
        opened = await SqliteStore.open(store_url, busy_timeout=0.1)
    yield opened
    await opened.close()


def other_hold(host: str, pid: int, seen_ago: timedelta, ttl: timedelta) -> CampaignHold:
    seen = T0 - seen_ago
    return CampaignHold("theirs", host, pid, T0 - timedelta(hours=1), seen, seen + ttl)


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# --- the hold ---------------------------------------------------------------------------
async def test_take_hold_is_a_compare_and_swap_on_the_holders_token(store: SqliteStore):
    campaign_id = await open_spring(store)
    theirs = other_hold("elsewhere", 4242, timedelta(0), timedelta(seconds=15))
    assert await store.take_hold(campaign_id, theirs, replacing=None) is None
    mine = CampaignHold("mine", THIS_HOST, 1, T0, T0, T0 + timedelta(seconds=15))
    assert await store.take_hold(campaign_id, mine, replacing=None) == theirs
    assert await store.take_hold(campaign_id, mine, replacing="someone-else") == theirs
    assert await store.renew_hold(campaign_id, "mine", T0, T0) is False
    assert await store.take_hold(campaign_id, mine, replacing="theirs") is None
    assert await store.campaign_hold(campaign_id) == mine
    assert await store.renew_hold(campaign_id, "theirs", T0, T0) is False  # taken over
    await store.release_hold(campaign_id, "theirs")  # not theirs any more: no effect
    assert await store.campaign_hold(campaign_id) == mine
    await store.release_hold(campaign_id, "mine")
    assert await store.campaign_hold(campaign_id) is None


async def test_a_live_holder_elsewhere_refuses_a_second_driver_naming_it(store: SqliteStore):
    campaign_id = await open_spring(store)
    theirs = other_hold("host-b", 4242, timedelta(seconds=2), timedelta(seconds=15))
    await store.take_hold(campaign_id, theirs, replacing=None)
    keeper = HoldKeeper(store, clock=lambda: T0)
    with pytest.raises(CampaignHeld, match=r"'spring' is already being run by host-b:4242 .*"
                       r"last seen 2 s ago"):  # fmt: skip
        await keeper.take("spring", campaign_id)
    assert (await store.campaign_hold(campaign_id)) == theirs


async def test_a_hold_not_renewed_within_its_ttl_is_taken_over(store: SqliteStore):
    campaign_id = await open_spring(store)
    theirs = other_hold("host-b", 4242, timedelta(seconds=16), timedelta(seconds=15))
    await store.take_hold(campaign_id, theirs, replacing=None)
    keeper = HoldKeeper(store, clock=lambda: T0)
    await keeper.take("spring", campaign_id)
    hold = await store.campaign_hold(campaign_id)
    assert hold is not None and hold.token == keeper.token and hold.host == THIS_HOST


async def test_on_this_host_a_dead_holders_pid_frees_the_hold_at_once(store: SqliteStore):
    campaign_id = await open_spring(store)
    theirs = other_hold(THIS_HOST, dead_pid(), timedelta(0), timedelta(hours=1))
    await store.take_hold(campaign_id, theirs, replacing=None)
    keeper = HoldKeeper(store, clock=lambda: T0)
    await keeper.take("spring", campaign_id)
    hold = await store.campaign_hold(campaign_id)
    assert hold is not None and hold.token == keeper.token


# --- one person, one call ---------------------------------------------------------------
async def test_a_number_in_a_call_of_one_campaign_is_not_leased_by_another(store: SqliteStore):
    first, second = await two_campaigns(store)
    (lease,) = await store.lease_due(first.id, T0, 1)
    await store.start_attempt(lease, "a1", T0)
    leased = await store.lease_due(second.id, T0, 10)
    assert lease.number not in {each.number for each in leased}
    assert len(leased) == 2
    # Once the call is over, the other campaign may call that person.
    await store.finish_attempt(done("a1", Outcome.ANSWERED, T0), FINISHED)
    (again,) = await store.lease_due(second.id, T0, 10)
    assert again.number == lease.number


async def test_an_open_attempt_older_than_any_call_stops_blocking_the_number(
    store: SqliteStore,
):
    first, second = await two_campaigns(store)
    (lease,) = await store.lease_due(first.id, T0, 1)
    await store.start_attempt(lease, "left-open-by-a-killed-run", T0)
    later = T0 + STALE_OPEN_ATTEMPT + timedelta(minutes=1)
    leased = await store.lease_due(second.id, later, 10)
    assert lease.number in {each.number for each in leased}
    (again,) = [each for each in leased if each.number == lease.number]
    await store.start_attempt(again, "b1", later)


async def test_start_attempt_refuses_a_number_leased_twice_before_either_call(
    store: SqliteStore,
):
    first, second = await two_campaigns(store)
    (a,) = await store.lease_due(first.id, T0, 1)
    (b,) = await store.lease_due(second.id, T0, 1)  # both leased before either started
    assert a.number == b.number
    await store.start_attempt(a, "a1", T0)
    with pytest.raises(NumberInCall):
        await store.start_attempt(b, "b1", T0)
    assert [x.attempt_id for x in await store.attempts(second.id)] == []


# --- contacts imported while the campaign runs ------------------------------------------
async def test_contacts_imported_while_running_are_enrolled_due_now(store: SqliteStore):
    campaign_id = await open_spring(store, count=2)
    assert await store.enrol_new_contacts(campaign_id, T0) == 0
    await store.import_contacts("clients", [NewContact(n) for n in NUMBERS[2:5]])
    await store.add_do_not_call([NUMBERS[4]], "test", T0)
    later = T0 + timedelta(minutes=5)
    assert await store.enrol_new_contacts(campaign_id, later) == 3
    progress = await store.progress(campaign_id, later)
    assert (progress.total, progress.pending, progress.done) == (5, 4, 1)  # dnc: done
    assert await store.enrol_new_contacts(campaign_id, later) == 0


# --- another process holding the write lock ---------------------------------------------
@pytest.mark.sqlite_only
async def test_a_write_lock_held_elsewhere_past_the_busy_timeout_is_store_busy(
    store: SqliteStore,
):
    campaign_id = await open_spring(store)
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreBusy, match="busy"):
            await store.lease_due(campaign_id, T0, 1)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(await store.lease_due(campaign_id, T0, 1)) == 1
