"""What `dialer preview` reads from the store: every contact of a list with its standing in
a campaign, and held leases given back in one write (pushed to later, or retired)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialer.outcomes import ContactStatus
from dialer.store.base import NewContact, StoreError
from dialer.store.sqlite import SqliteStore
from tests.store_cases import NUMBERS, T0

pytestmark = pytest.mark.store_backends


async def _views(store: SqliteStore, campaign_id: int | None, size: int = 5000) -> list:
    found = []
    async for batch in store.due_view_batches("clients", campaign_id, size):
        assert len(batch) <= size
        found += batch
    return found


async def test_views_before_the_campaign_exists_have_no_standing(store: SqliteStore):
    await store.import_contacts(
        "clients",
        [NewContact(n, timezone="Europe/Moscow", fields={"region": "77"}) for n in NUMBERS[:3]],
    )
    views = await _views(store, None, size=2)
    assert [v.number for v in views] == NUMBERS[:3]
    assert all(v.status is None and v.next_due_at is None for v in views)
    assert views[0].timezone == "Europe/Moscow" and views[0].fields == {"region": "77"}


async def test_views_show_leases_and_released_times(store: SqliteStore):
    await store.import_contacts("clients", [NewContact(n) for n in NUMBERS[:4]])
    campaign = await store.open_campaign("spring", "clients", T0)
    leases = await store.lease_due(campaign.id, T0, 3)
    later = T0 + timedelta(hours=9)
    await store.release_leases(
        campaign.id, [(leases[0].contact_id, later), (leases[1].contact_id, None)]
    )
    by_number = {v.number: v for v in await _views(store, campaign.id)}
    assert by_number[leases[0].number].status is ContactStatus.PENDING
    assert by_number[leases[0].number].next_due_at == later
    assert by_number[leases[1].number].status is ContactStatus.DONE  # retired
    assert by_number[leases[2].number].status is ContactStatus.DIALING
    assert by_number[NUMBERS[3]].next_due_at == T0
    progress = await store.progress(campaign.id, T0)
    assert (progress.pending, progress.dialing, progress.done) == (2, 1, 1)
    # Released leases are not leased again before their time.
    again = await store.lease_due(campaign.id, T0 + timedelta(hours=1), 10)
    assert [lease.number for lease in again] == [NUMBERS[3]]


async def test_unknown_list_is_a_store_error(store: SqliteStore):
    with pytest.raises(StoreError, match="unknown contact list"):
        await _views(store, None)
