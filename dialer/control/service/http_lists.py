"""The API's contact lists and people: import a list by upload, export it (admin,
audited), show one person's data (admin, audited) and erase it (admin).

Each route runs the same code as its offline command (`dialer contacts import|export|
show|erase`): the importer and its reject file, `export_audited`, `show_person`,
`erase_person`. What the commands print, the routes answer as JSON.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.requests import Request as StarletteRequest

from dialer.contacts.importer import ImportReport, import_file
from dialer.contacts.sources import ContactFileError
from dialer.control.commands import default_reject_path, export_audited
from dialer.control.person_commands import erase_person, person_json, show_person
from dialer.control.service.http_auth import role_check
from dialer.control.service.http_files import (
    UPLOAD_BODY,
    XLSX_TYPE,
    attachment,
    file_then_delete,
    paced_text,
    private_temp,
    received_file,
    unreadable,
)
from dialer.control.service.supervisor import Supervisor
from dialer.control.service.tokens import Caller, Role
from dialer.control.terminal import CliError
from dialer.store import ContactStore, NumberInCall

MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json", "xlsx": XLSX_TYPE}
Region = Annotated[str, Query(min_length=2, max_length=2, description="for numbers without +")]


def list_routes(app: FastAPI, supervisor: Supervisor) -> None:
    store = supervisor.store
    viewer = Depends(role_check(store, Role.VIEWER))
    admin = Depends(role_check(store, Role.ADMIN))

    @app.exception_handler(CliError)
    async def bad_input(request: StarletteRequest, exc: CliError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.get("/lists", summary="every contact list and how many contacts it holds")
    async def lists(caller: Caller = viewer) -> list[dict[str, Any]]:
        return [
            {"list": name, "contacts": await store.count_contacts(name)}
            for name in await store.list_names()
        ]

    @app.post(
        "/lists/{name}/import",
        summary="import a CSV or XLSX file into a list (multipart part 'file', or the raw "
        "body): every valid row lands, rejected rows are answered with line and reason "
        "and written whole to the base's reject file",
        openapi_extra=UPLOAD_BODY,
    )
    async def import_list(
        name: str,
        request: Request,
        region: Region = "RU",
        phone_column: Annotated[str | None, Query(max_length=200)] = None,
        caller: Caller = admin,
    ) -> dict[str, Any]:
        async with received_file(request, store) as (path, sent_as):
            try:
                result = await import_file(
                    store,
                    path,
                    name,
                    default_region=region.upper(),
                    phone_column=phone_column,
                    reject_path=default_reject_path(getattr(store, "path", None), name),
                )
            except ContactFileError as exc:
                raise unreadable(exc, path, sent_as) from exc
        return import_answer(result, sent_as)

    @app.get(
        "/lists/{name}/export",
        summary="the list with where each contact stands in its campaigns, streamed "
        "(contact data: admin only, written to the audit log first)",
        response_class=StreamingResponse,
    )
    async def export(
        name: str,
        format: Annotated[Literal["csv", "xlsx", "json"], Query()] = "csv",
        caller: Caller = admin,
    ) -> StreamingResponse:
        if name not in await store.list_names():
            raise HTTPException(404, f"no contact list named {name!r}")
        headers = attachment(f"{name}.{format}")
        if format == "xlsx":  # a workbook is whole only at its end: built on disk first
            path = private_temp(store, ".xlsx")
            await export_audited(store, name, path, "xlsx", "API download", caller.actor)
            return StreamingResponse(
                file_then_delete(path), media_type=MEDIA[format], headers=headers
            )

        async def produce(sink: Any, turn: Any) -> None:
            paced = cast(ContactStore, PacedSource(store, turn))
            await export_audited(paced, name, sink, format, "API download", caller.actor)

        chunks = paced_text(produce, "\ufeff" if format == "csv" else "")
        return StreamingResponse(chunks, media_type=MEDIA[format], headers=headers)

    @app.get(
        "/contacts/{number}",
        summary="everything held about one person: contacts, calls, recordings, "
        "do-not-call entries (admin only, audited without naming them)",
    )
    async def show(number: str, region: Region = "RU", caller: Caller = admin) -> dict[str, Any]:
        person = await show_person(store, _e164(number, region), "json via API", caller.actor)
        return person_json(person)

    @app.delete(
        "/contacts/{number}",
        summary="erase one person on their request (admin only): personal data removed, "
        "recordings deleted, the number kept on the do-not-call list; 409 during a call",
    )
    async def erase(number: str, region: Region = "RU", caller: Caller = admin) -> dict[str, Any]:
        try:
            erasure, deleted, missing, failed = await erase_person(
                store, _e164(number, region), caller.actor
            )
        except NumberInCall as exc:
            raise HTTPException(409, str(exc)) from exc
        return {
            "marker": erasure.marker,
            "contacts": erasure.contacts,
            "attempts": erasure.attempts,
            "recordings_deleted": deleted,
            "recordings_already_gone": missing,
            "recordings_not_deleted": [{"path": p, "reason": r} for p, r in failed],
        }


def _e164(number: str, region: str) -> str:
    from dialer.control.dnc_commands import normalised

    [found] = normalised([number], region)
    return found


def import_answer(result: ImportReport, sent_as: str) -> dict[str, Any]:
    """What `dialer contacts import` prints, as JSON: every rejected row kept (the first
    1,000 here with line and reason; all of them, with their cells, in the reject file)."""
    return {
        "file": sent_as,
        "list": result.list_name,
        "rows_read": result.rows_read,
        "inserted": result.inserted,
        "merged": result.merged,
        "rejected": result.rejected,
        "rejects": [{"row": r.row_number, "reason": r.reason} for r in result.rejects],
        "reject_file": str(result.reject_path) if result.reject_path else None,
    }


class PacedSource:
    """The store as the exporter reads it, but each page of contacts waits its turn:
    the page written so far goes to the client first (flat memory for any list)."""

    def __init__(self, store: ContactStore, turn: Any) -> None:
        self._store = store
        self._turn = turn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def contact_batches(self, list_name: str, *args: Any, **kwargs: Any) -> Any:
        async for batch in self._store.contact_batches(list_name, *args, **kwargs):
            await self._turn()
            yield batch
