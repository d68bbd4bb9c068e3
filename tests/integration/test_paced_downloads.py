"""A text download is paced by its reader: the exporter reads the next page of contacts
only once the client took the page before, so a slow client never makes the service
hold a whole list in memory (the real exporter over a real SQLite base)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from dialer.control.commands import export_audited
from dialer.control.service.http_files import paced_text
from dialer.control.service.http_lists import PacedSource
from dialer.store import ContactStore
from dialer.store.base import NewContact
from dialer.store.sqlite import SqliteStore


async def test_the_exporter_reads_a_page_only_after_the_client_took_the_last(
    tmp_path: Path,
) -> None:
    store = await SqliteStore.open(tmp_path / "d.db")
    try:
        numbers = [f"+7916{n:07d}" for n in range(12_000)]
        await store.import_contacts("big", [NewContact(number=n) for n in numbers])
        pages_read = 0

        class Counting(PacedSource):
            async def contact_batches(self, list_name: str, *a: Any, **kw: Any) -> Any:
                nonlocal pages_read
                async for batch in super().contact_batches(list_name, *a, **kw):
                    pages_read += 1
                    yield batch

        async def produce(sink: Any, turn: Any) -> None:
            paced = cast(ContactStore, Counting(store, turn))
            await export_audited(paced, "big", sink, "csv", "test", "tester")

        chunks = paced_text(produce)
        first = await anext(chunks)
        read_at_first = pages_read
        rest = [chunk async for chunk in chunks]
        text = (first + b"".join(rest)).decode()
    finally:
        await store.close()
    assert text.count("\n") == 12_001  # header and every contact
    # Two passes over the list: the field names (nothing written), then the rows. When
    # the client has its first chunk, the writing pass has read at most two of its pages.
    per_pass = pages_read // 2
    assert per_pass == 6 and read_at_first - per_pass <= 2
    assert len(rest) >= 2
