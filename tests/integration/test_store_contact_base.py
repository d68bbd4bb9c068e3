"""The contact base role on SQLite: lists, contacts, the do-not-call list."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialer.store.base import NewContact, StoreError
from dialer.store.sqlite import SqliteStore
from tests.store_cases import NUMBERS, T0, add_clients

pytestmark = pytest.mark.store_backends


async def test_import_merges_existing_numbers_keeping_known_values(store: SqliteStore):
    first = await store.import_contacts(
        "clients", [NewContact(NUMBERS[0], "Иван", "Europe/Moscow", {"a": "1", "b": "2"})]
    )
    second = await store.import_contacts(
        "clients",
        [
            NewContact(NUMBERS[0], None, None, {"b": "3"}),
            NewContact(NUMBERS[1]),
            NewContact(NUMBERS[1], "Пётр"),
        ],
    )
    assert (first.inserted, first.merged) == (1, 0)
    assert (second.inserted, second.merged) == (1, 2)
    by_number = {c.number: c for c in await store.contacts("clients")}
    assert by_number[NUMBERS[0]].name == "Иван"
    assert by_number[NUMBERS[0]].timezone == "Europe/Moscow"
    assert by_number[NUMBERS[0]].fields == {"a": "1", "b": "3"}
    assert by_number[NUMBERS[1]].name == "Пётр"
    assert await store.list_names() == ["clients"]


async def test_import_refuses_a_number_that_is_not_e164(store: SqliteStore):
    with pytest.raises(ValueError, match=r"E\.164"):
        await store.import_contacts("clients", [NewContact("89120000000")])
    with pytest.raises(StoreError, match="unknown contact list"):
        await store.count_contacts("clients")  # the failed batch left nothing behind


async def test_unknown_list_is_a_store_error_naming_the_known_ones(store: SqliteStore):
    with pytest.raises(StoreError, match=r"unknown contact list 'nope' \(no list imported yet\)"):
        await store.contacts("nope")
    await add_clients(store, "clients")
    await add_clients(store, "others")
    assert await store.list_names() == ["clients", "others"]
    with pytest.raises(StoreError, match=r"known lists: clients, others"):
        await store.count_contacts("nope")


async def test_do_not_call_counts_new_numbers_and_lists_them_oldest_first(store: SqliteStore):
    assert await store.do_not_call() == []
    later = T0 + timedelta(minutes=1)
    assert await store.add_do_not_call([NUMBERS[1], NUMBERS[0]], "regulator list", later) == 2
    assert await store.add_do_not_call([NUMBERS[1], NUMBERS[2]], "opt-out", T0) == 1
    assert await store.do_not_call() == [
        (NUMBERS[2], T0, "opt-out"),
        (NUMBERS[0], later, "regulator list"),
        (NUMBERS[1], later, "regulator list"),
    ]
    # Numbers need not be on any list: a regulator's list covers every future import.
    await store.import_contacts("clients", [NewContact(NUMBERS[0])])
    assert await store.count_contacts("clients") == 1
