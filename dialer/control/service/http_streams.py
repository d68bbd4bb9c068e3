"""What the API streams: the live event stream (SSE) and a report as CSV or JSON.

The report reuses `dialer report`'s own writers (dialer.control.report): they write
text to a file-like sink, a page of contacts at a time; here the sink hands each page to
the HTTP response, and the next page is read only once the client took the last one,
so memory stays flat whatever the campaign's size.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import IO

from dialer.control import report as report_view
from dialer.control.service.events import EventBus
from dialer.store.base import ContactReport

KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing a quiet stream

ReportWriter = Callable[[AsyncIterable[list[ContactReport]], IO[str]], Awaitable[None]]
WRITERS: dict[str, tuple[ReportWriter, str]] = {
    "csv": (report_view.stream_csv, "text/csv; charset=utf-8"),
    "json": (report_view.stream_json, "application/json"),
}


async def sse(bus: EventBus, after: int | None) -> AsyncIterator[str]:
    """Server-sent events: `id`, `event` (the kind) and `data` (JSON) per event."""
    subscription = bus.subscribe(after)
    try:
        yield ": dialer event stream\n\n"
        while True:
            event = await subscription.next(KEEPALIVE_S)
            if subscription.dropped:
                lost, subscription.dropped = subscription.dropped, 0
                yield f"event: stream.lagged\ndata: {json.dumps({'dropped': lost})}\n\n"
            if event is None:
                if subscription.closed:
                    break
                yield ": keep-alive\n\n"
                continue
            data = json.dumps(event.as_json(), ensure_ascii=False, default=str)
            yield f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n"
    finally:
        bus.unsubscribe(subscription)


class _PageSink(io.StringIO):
    """Collects what a writer writes; `take` empties it."""

    def take(self) -> str:
        text = self.getvalue()
        self.seek(0)
        self.truncate()
        return text


async def report_chunks(
    batches: AsyncIterator[list[ContactReport]], fmt: str
) -> AsyncIterator[bytes]:
    writer, _ = WRITERS[fmt]
    sink = _PageSink()
    pages: asyncio.Queue[str | None] = asyncio.Queue(maxsize=1)

    async def paced() -> AsyncIterator[list[ContactReport]]:
        async for batch in batches:
            await pages.put(sink.take())  # waits while the client has not taken the last
            yield batch

    async def write() -> None:
        try:
            await writer(paced(), sink)
            await pages.put(sink.take())
        finally:
            await pages.put(None)

    task = asyncio.create_task(write())
    try:
        while (page := await pages.get()) is not None:
            if page:
                yield page.encode("utf-8")
        await task  # a failure of the writer surfaces here
    finally:
        task.cancel()
