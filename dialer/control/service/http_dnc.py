"""The API's do-not-call lists (global, or one campaign's): add, remove, check, import.

All four need a supervisor token. Adding and importing only stop calls; removing lets
numbers be called again; checking tells whether a number is listed, and a number on the
list is a person who asked not to be called (or whose data was erased): that is a fact
about a person, which a viewer (a wall screen, Prometheus) has no need of. Numbers go
in the JSON body, never in the URL (access logs keep URLs). Every change and import is
audited like `dialer dnc` (who, which list, how many; never the numbers).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request
from pydantic import BaseModel, Field

from dialer.contacts.sources import ContactFileError
from dialer.control.commands import default_reject_path
from dialer.control.dnc_commands import (
    add_numbers,
    check_numbers,
    import_numbers,
    list_label,
    normalised,
    remove_numbers,
)
from dialer.control.service.http_auth import role_check
from dialer.control.service.http_files import UPLOAD_BODY, received_file, unreadable
from dialer.control.service.supervisor import Supervisor
from dialer.control.service.tokens import Caller, Role

MAX_NUMBERS = 10_000  # per request; a file goes through /dnc/import


class Numbers(BaseModel):
    numbers: list[str] = Field(..., min_length=1, max_length=MAX_NUMBERS)
    campaign: str | None = Field(
        None, min_length=1, max_length=200, description="that campaign's list (default global)"
    )
    region: str = Field("RU", min_length=2, max_length=2, description="for numbers without +")


class NewNumbers(Numbers):
    source: str = Field("api", min_length=1, max_length=200, description="why they are listed")


def dnc_routes(app: FastAPI, supervisor: Supervisor) -> None:
    store = supervisor.store
    supervisor_role = Depends(role_check(store, Role.SUPERVISOR))

    @app.post("/dnc/add", summary="put numbers on the global or a campaign's do-not-call list")
    async def add(body: NewNumbers, caller: Caller = supervisor_role) -> dict[str, Any]:
        numbers = normalised(body.numbers, body.region)
        added = await add_numbers(store, numbers, body.source, body.campaign, caller.actor)
        return {
            "list": list_label(body.campaign),
            "added": added,
            "already": len(set(numbers)) - added,
        }

    @app.post(
        "/dnc/remove",
        summary="take numbers off a do-not-call list (they may be called again)",
    )
    async def remove(body: Numbers, caller: Caller = supervisor_role) -> dict[str, Any]:
        numbers = normalised(body.numbers, body.region)
        removed, erased = await remove_numbers(store, numbers, body.campaign, caller.actor)
        return {
            "list": list_label(body.campaign),
            "removed": removed,
            "not_listed": len(set(numbers)) - removed,
            "warnings": [
                f"{n} was listed because its person's data was erased on request: it can"
                " now be imported and called again"
                for n in sorted(erased)
            ],
        }

    @app.post(
        "/dnc/check",
        summary="whether numbers are listed (with a campaign: on the lists that bind it)",
    )
    async def check(body: Numbers, caller: Caller = supervisor_role) -> dict[str, Any]:
        numbers = normalised(body.numbers, body.region)
        found = await check_numbers(store, numbers, body.campaign)
        return {
            "listed": any(found.values()),
            "numbers": {
                number: [
                    {
                        "list": e.campaign or "global",
                        "added_at": e.added_at.isoformat(),
                        "source": e.source,
                    }
                    for e in entries
                ]
                for number, entries in found.items()
            },
        }

    @app.post(
        "/dnc/import",
        summary="add every number of a CSV or XLSX file (multipart part 'file', or the raw "
        "body) to the global or a campaign's list; rejected rows answered with line and "
        "reason",
        openapi_extra=UPLOAD_BODY,
    )
    async def import_file(
        request: Request,
        campaign: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
        region: Annotated[str, Query(min_length=2, max_length=2)] = "RU",
        phone_column: Annotated[str | None, Query(max_length=200)] = None,
        source: Annotated[str | None, Query(max_length=200)] = None,
        caller: Caller = supervisor_role,
    ) -> dict[str, Any]:
        rejects = default_reject_path(getattr(store, "path", None), f"dnc-{campaign or 'global'}")
        async with received_file(request, store) as (path, sent_as):
            try:
                result = await import_numbers(
                    store, path, sent_as, campaign, region, rejects, phone_column,
                    source or f"import {sent_as}", caller.actor,
                )  # fmt: skip
            except ContactFileError as exc:
                raise unreadable(exc, path, sent_as) from exc
        return {
            "file": sent_as,
            "list": list_label(campaign),
            "rows_read": result.rows_read,
            "added": result.added,
            "already": result.already,
            "rejected": result.rejected,
            "rejects": [{"row": r.row_number, "reason": r.reason} for r in result.rejects],
            "reject_file": str(result.reject_path) if result.reject_path else None,
        }
