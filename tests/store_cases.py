"""What the store tests share: fixed times and numbers, a backend opened on a file, a
list, a campaign on it, and closed attempts. The backend is opened in one place
(open_test_store), so the same tests can later run against PostgreSQL too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dialer.outcomes import ContactStatus, Outcome
from dialer.store.base import AttemptResult, CampaignRecord, ContactBase, NewContact, NextStep
from dialer.store.sqlite import SqliteStore

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
NUMBERS = [f"+7912000000{i}" for i in range(10)]
RETRY_IN_1H = NextStep(ContactStatus.PENDING, due_at=T0 + timedelta(hours=1))
FINISHED = NextStep(ContactStatus.DONE, final_outcome=Outcome.ANSWERED)


@asynccontextmanager
async def open_test_store(path: Path) -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(path)
    try:
        yield store
    finally:
        await store.close()


async def add_clients(store: ContactBase, name: str = "clients", count: int = 3) -> None:
    """`count` contacts named "Client i" with a field i, on list `name`."""
    contacts = [
        NewContact(n, name=f"Client {i}", fields={"i": str(i)})
        for i, n in enumerate(NUMBERS[:count])
    ]
    await store.import_contacts(name, contacts)


async def open_spring(store: SqliteStore, count: int = 3) -> int:
    """Campaign "spring" on a list "clients" of `count` contacts; returns its id."""
    await add_clients(store, count=count)
    return (await store.open_campaign("spring", "clients", T0)).id


async def two_campaigns(store: SqliteStore) -> tuple[CampaignRecord, CampaignRecord]:
    """Campaigns "first" and "second" on one list "a" of three plain numbers."""
    await store.import_contacts("a", [NewContact(number=n) for n in NUMBERS[:3]])
    return (
        await store.open_campaign("first", "a", T0),
        await store.open_campaign("second", "a", T0),
    )


def done(attempt_id: str, outcome: Outcome, at: datetime, **kw: Any) -> AttemptResult:
    return AttemptResult(attempt_id=attempt_id, outcome=outcome, ended_at=at, **kw)
