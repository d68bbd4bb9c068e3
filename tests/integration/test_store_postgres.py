"""What only the PostgreSQL backend has to show: several nodes leasing one campaign at
once, a lease owned by its node, one person in one call across nodes, and a server that
restarts under a running store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from dialer.store.base import NewContact, NumberInCall, StoreBusy, StoreError
from dialer.store.postgres import PostgresStore
from tests.pg_server import PrivatePostgres, why_unavailable
from tests.store_cases import T0, two_campaigns

pytestmark = pytest.mark.skipif(why_unavailable() is not None, reason=str(why_unavailable()))


@pytest.fixture
async def nodes(pg_server: PrivatePostgres) -> AsyncIterator[list[PostgresStore]]:
    """Three nodes on one fresh database."""
    url = pg_server.new_database()
    opened = [await PostgresStore.open(url, node_id=f"node-{i}") for i in range(3)]
    yield opened
    for node in opened:
        await node.close()


async def test_nodes_leasing_at_once_get_disjoint_contacts_owned_by_each(
    nodes: list[PostgresStore],
) -> None:
    first = nodes[0]
    numbers = [f"+7913{i:07d}" for i in range(3000)]
    await first.import_contacts("big", [NewContact(n) for n in numbers])
    campaign = await first.open_campaign("big", "big", T0)

    async def lease_all(node: PostgresStore) -> list[int]:
        taken: list[int] = []
        while leases := await node.lease_due(campaign.id, T0, 50):
            taken += [lease.contact_id for lease in leases]
        return taken

    taken = await asyncio.gather(*(lease_all(node) for node in nodes))
    every = [contact for one in taken for contact in one]
    assert len(every) == len(set(every)) == 3000  # none twice, none lost
    assert all(one for one in taken)  # every node got some: none waited for another

    # A lease is its owner's: another node cannot start a call on it.
    lease = (await first.lease_due(campaign.id, T0, 1)) or None
    assert lease is None  # all leased
    await first.release_leases(campaign.id, [(taken[1][0], T0)])
    [mine] = await nodes[1].lease_due(campaign.id, T0, 1)
    with pytest.raises(StoreError, match="not leased by this node"):
        await first.start_attempt(mine, "a-stolen", T0)
    await nodes[1].start_attempt(mine, "a-1", T0)


async def test_one_person_is_in_one_call_across_nodes(nodes: list[PostgresStore]) -> None:
    a, b = nodes[0], nodes[1]
    first, second = await two_campaigns(a)
    [on_a] = await a.lease_due(first.id, T0, 1)
    [on_b] = await b.lease_due(second.id, T0, 1)
    assert on_a.number == on_b.number  # one person, leased by two nodes at once
    results = await asyncio.gather(
        a.start_attempt(on_a, "via-a", T0),
        b.start_attempt(on_b, "via-b", T0),
        return_exceptions=True,
    )
    assert sorted(type(r).__name__ for r in results) == ["NoneType", "NumberInCall"]
    assert any(isinstance(r, NumberInCall) for r in results)


@pytest.fixture
def own_server() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres().start()
    yield server
    server.stop()


async def test_a_server_restart_is_store_busy_then_the_store_goes_on(
    own_server: PrivatePostgres,
) -> None:
    store = await PostgresStore.open(own_server.new_database())
    try:
        first, _ = await two_campaigns(store)
        own_server.halt()
        with pytest.raises(StoreBusy, match="unavailable"):
            await store.lease_due(first.id, T0, 10)
        own_server.start()
        for _ in range(50):  # the pool reconnects: waited out as the engine does
            try:
                leases = await store.lease_due(first.id, T0, 10)
                break
            except StoreBusy:
                await asyncio.sleep(0.1)
        assert len(leases) == 3
    finally:
        await store.close()
