"""Files through the API: uploads (multipart or a raw CSV/XLSX body) land in a private
temporary file next to the contact base, for the importers that read files; downloads
are streamed a page at a time, the next page read only once the client took the last.

Uploads hold contact data: the copy the importer reads is in the base's own `uploads/`
folder (0700, file 0600) and is deleted once imported; never a named file in a shared
/tmp (a multipart part is spooled by Starlette to an anonymous, already unlinked file).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from starlette.datastructures import UploadFile

from dialer.private_files import private_dir
from dialer.store import ContactStore, sqlite_location

MAX_UPLOAD_BYTES = 1 << 30  # 1 GiB: several million contact rows
CHUNK = 1 << 16
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SUFFIX_OF_TYPE = {"text/csv": ".csv", "text/plain": ".csv", XLSX_TYPE: ".xlsx"}
UPLOAD_BODY: dict[str, Any] = {  # the OpenAPI shape of an upload
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "text/csv": {"schema": {"type": "string"}},
            XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def base_folder(store: ContactStore) -> Path:
    """The folder of the contact base (where its rejects/ and uploads/ go)."""
    location = sqlite_location(getattr(store, "path", None))
    return Path.cwd() if location == ":memory:" else Path(location).resolve().parent


@contextlib.asynccontextmanager
async def received_file(request: Request, store: ContactStore) -> AsyncIterator[tuple[Path, str]]:
    """(a private copy of the uploaded file, its name as sent), deleted afterwards.
    Multipart: the part named `file`; else the raw body, CSV or XLSX by Content-Type
    (or the `filename` query parameter's suffix)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES + CHUNK:
        raise HTTPException(413, f"an upload is at most {MAX_UPLOAD_BYTES} bytes")
    folder = base_folder(store) / "uploads"
    private_dir(folder)
    if kind == "multipart/form-data":
        form = await request.form()
        part = form.get("file")
        if not isinstance(part, UploadFile):
            raise HTTPException(400, "a multipart upload needs its file in a part named 'file'")
        name = part.filename or "upload.csv"
        chunks = _upload_chunks(part)
    else:
        name = request.query_params.get("filename") or ""
        if not name:
            if kind not in SUFFIX_OF_TYPE:
                raise HTTPException(
                    415,
                    "send the file as multipart/form-data (part 'file'), or as the body with"
                    f" Content-Type text/csv or {XLSX_TYPE}",
                )
            name = "upload" + SUFFIX_OF_TYPE[kind]
        chunks = request.stream()
    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".txt", ".xlsx"):
        raise HTTPException(415, f"{name}: a contact file is .csv or .xlsx")
    fd, temp = tempfile.mkstemp(suffix=suffix, dir=folder)  # created 0600
    path = Path(temp)
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise HTTPException(413, f"an upload is at most {MAX_UPLOAD_BYTES} bytes")
                await asyncio.to_thread(out.write, chunk)
        if size == 0:
            raise HTTPException(400, f"{name}: the upload is empty")
        yield path, Path(name).name
    finally:
        path.unlink(missing_ok=True)


def unreadable(exc: Exception, path: Path, sent_as: str) -> HTTPException:
    """A 400 naming the file as the client sent it, not our private copy."""
    message = str(exc).replace(path.name, sent_as)
    return HTTPException(400, message if sent_as in message else f"{sent_as}: {message}")


async def _upload_chunks(part: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await part.read(CHUNK):
        yield chunk


class PageSink(io.StringIO):
    """Collects what a writer writes; `take` empties it."""

    def take(self) -> str:
        text = self.getvalue()
        self.seek(0)
        self.truncate()
        return text


async def paced_text(
    produce: Callable[[PageSink, Callable[[], Awaitable[None]]], Awaitable[object]],
    prefix: str = "",
) -> AsyncIterator[bytes]:
    """A text download: `produce(sink, turn)` writes into `sink` and awaits `turn()` before
    each page it reads, which hands the page written so far to the client and waits
    until the client took the one before (memory stays at about one page)."""
    sink = PageSink()
    pages: asyncio.Queue[str | None] = asyncio.Queue(maxsize=1)

    async def turn() -> None:
        await pages.put(sink.take())

    async def write() -> None:
        try:
            await produce(sink, turn)
            await pages.put(sink.take())
        finally:
            await pages.put(None)

    task = asyncio.create_task(write())
    try:
        if prefix:
            yield prefix.encode("utf-8")
        while (page := await pages.get()) is not None:
            if page:
                yield page.encode("utf-8")
        await task  # a failure of the writer surfaces here
    finally:
        task.cancel()


async def file_then_delete(path: Path) -> AsyncIterator[bytes]:
    """A finished file (an XLSX workbook) to the client in chunks, then deleted."""
    try:
        with path.open("rb") as f:
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                yield chunk
    finally:
        path.unlink(missing_ok=True)


def private_temp(store: ContactStore, suffix: str) -> Path:
    """A new empty private file in the base's uploads/ folder (for a workbook)."""
    folder = base_folder(store) / "uploads"
    private_dir(folder)
    fd, temp = tempfile.mkstemp(suffix=suffix, dir=folder)
    os.close(fd)
    return Path(temp)


def attachment(name: str) -> dict[str, str]:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "export"
    return {"Content-Disposition": f'attachment; filename="{safe}"'}
