"""The base as a whole on SQLite: each contact's standing across campaigns, the stats,
what one campaign changed (from its attempts), and the copies a built list holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialer.outcomes import BaseStatus, ContactStatus, Outcome
from dialer.store.base import ContactFacts, NewContact, NextStep, StoreError
from dialer.store.sqlite import SqliteStore
from tests.store_cases import NUMBERS, T0, done

HOT = {"temperature": "hot"}
RETRY = NextStep(ContactStatus.PENDING, due_at=T0 + timedelta(hours=1))


pytestmark = pytest.mark.store_backends


async def _call(
    store: SqliteStore, campaign_id: int, attempt: str, outcome: Outcome, step: NextStep
) -> None:
    """Lease the next due contact, start and close one attempt with `outcome`."""
    [lease] = await store.lease_due(campaign_id, T0 + timedelta(days=1), 1)
    await store.start_attempt(lease, attempt, T0)
    assert await store.finish_attempt(done(attempt, outcome, T0 + timedelta(seconds=30)), step)


async def _facts(store: SqliteStore, list_name: str) -> dict[str, ContactFacts]:
    contacts = {c.id: c.number for c in await store.contacts(list_name)}
    found: dict[str, ContactFacts] = {}
    async for batch in store.contact_facts_batches(list_name, batch_size=2):
        found.update({contacts[f.contact_id]: f for f in batch})
    return found


async def _six_contacts_one_campaign(store: SqliteStore) -> int:
    """List "base" of six: reached (hot), opted out, dead, retry pending, exhausted,
    never called (not enrolled: imported after the campaign started)."""
    await store.import_contacts(
        "base",
        [
            NewContact(n, fields={"temperature": "warm"} if i == 0 else {})
            for i, n in enumerate(NUMBERS[:5])
        ],
    )
    campaign_id = (await store.open_campaign("spring", "base", T0)).id
    await store.import_contacts("base", [NewContact(NUMBERS[5], fields={"temperature": "cold"})])
    hot = NextStep(ContactStatus.DONE, final_outcome=Outcome.ANSWERED, set_fields=HOT)
    await _call(store, campaign_id, "a0", Outcome.ANSWERED, hot)
    opt_out = NextStep(ContactStatus.DONE, opt_out=True, set_fields={"temperature": "cold"})
    await _call(store, campaign_id, "a1", Outcome.ANSWERED, opt_out)
    dead = NextStep(ContactStatus.DONE, mark_dead=True)
    await _call(store, campaign_id, "a2", Outcome.INVALID_NUMBER, dead)
    await _call(store, campaign_id, "a3", Outcome.NO_ANSWER, RETRY)
    await _call(store, campaign_id, "a4", Outcome.BUSY, NextStep(ContactStatus.DONE))
    return campaign_id


async def test_given_contacts_in_every_state_when_reading_facts_then_status_by_precedence(
    store: SqliteStore,
) -> None:
    await _six_contacts_one_campaign(store)
    facts = await _facts(store, "base")
    assert [facts[n].status for n in NUMBERS[:6]] == [
        BaseStatus.REACHED,
        BaseStatus.DNC,
        BaseStatus.DEAD,
        BaseStatus.PENDING,
        BaseStatus.DONE,
        BaseStatus.NEW,
    ]
    assert facts[NUMBERS[0]].fields == {"temperature": "hot"}
    assert facts[NUMBERS[3]].last_outcome is Outcome.NO_ANSWER
    assert facts[NUMBERS[3]].last_contacted_at == T0 and facts[NUMBERS[3]].attempts == 1
    assert facts[NUMBERS[5]].last_outcome is None and facts[NUMBERS[5]].attempts == 0
    assert facts[NUMBERS[2]].dead and facts[NUMBERS[1]].do_not_call


async def test_given_a_campaign_when_stats_then_counts_by_status_temperature_and_its_changes(
    store: SqliteStore,
) -> None:
    campaign_id = await _six_contacts_one_campaign(store)
    stats = await store.base_stats("base")
    assert stats.contacts == 6
    assert stats.by_status == {s: 1 for s in BaseStatus}
    assert stats.by_temperature == {"hot": 1, "cold": 2, "": 3}
    changes = await store.campaign_changes(campaign_id)
    # Reached: the hot lead and the person who answered to opt out.
    assert (changes.called, changes.reached, changes.dead, changes.do_not_call) == (5, 2, 1, 1)
    # warm -> hot (contact 0), none -> cold (contact 1, opted out).
    assert changes.temperature == {"hot": 1, "warm": -1, "cold": 1, "": -1}
    assert (await store.base_stats()).contacts == 6  # every list


async def test_given_temperature_changed_twice_in_a_campaign_then_counted_once_from_first_to_last(
    store: SqliteStore,
) -> None:
    await store.import_contacts("l", [NewContact(NUMBERS[0], fields={"temperature": "cold"})])
    campaign_id = (await store.open_campaign("c", "l", T0)).id
    warm = NextStep(ContactStatus.PENDING, due_at=T0, set_fields={"temperature": "warm"})
    await _call(store, campaign_id, "x1", Outcome.ANSWERED, warm)
    hot = NextStep(ContactStatus.DONE, set_fields={"temperature": "hot"})
    await _call(store, campaign_id, "x2", Outcome.ANSWERED, hot)
    assert (await store.campaign_changes(campaign_id)).temperature == {"hot": 1, "cold": -1}


async def test_given_chosen_ids_when_copying_then_new_list_holds_copies_in_order(
    store: SqliteStore,
) -> None:
    await _six_contacts_one_campaign(store)
    await store.import_contacts("other", [NewContact(NUMBERS[9])])
    source = {c.number: c for c in await store.contacts("base")}
    other_id = (await store.contacts("other"))[0].id
    chosen = [source[NUMBERS[2]].id, source[NUMBERS[0]].id, other_id]
    assert await store.copy_contacts("base", chosen, "again", T0) == 2
    copies = await store.contacts("again")
    assert [c.number for c in copies] == [NUMBERS[0], NUMBERS[2]]
    assert copies[0].fields == {"temperature": "hot"} and not copies[0].dead
    assert copies[1].dead  # a dead number stays dead in the copy
    assert {c.id for c in copies}.isdisjoint(source[n].id for n in NUMBERS[:6])
    # A campaign can dial the new list.
    assert (await store.open_campaign("reactivate", "again", T0)).list_name == "again"
    with pytest.raises(StoreError, match="already exists"):
        await store.copy_contacts("base", chosen, "again", T0)
    with pytest.raises(StoreError, match="unknown contact list 'nope'"):
        await store.copy_contacts("nope", chosen, "fresh", T0)
    assert "fresh" not in await store.list_names()
