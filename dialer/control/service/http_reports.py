"""The API's reports per campaign, and its webhooks' delivery state.

- `/campaigns/{name}/report`: every contact and its result (CSV, XLSX or JSON). That is
  contact data: admin only, written to the audit log (who, when, what, how many rows)
  before any row leaves, like `dialer report --format csv|json`.
- `/campaigns/{name}/summary`: the report's figures only (results, funnel, survey,
  calls cut by Asterisk...): no contact in it, so a viewer reads it.
- `/campaigns/{name}/webhooks`: per receiver, pending / failing / delivered and the
  next try; the latest failed deliveries with their error. Receiver URLs are shown
  without their query or credentials (a viewer reads this).
"""

from __future__ import annotations

import io
import urllib.parse
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import StreamingResponse

from dialer.control import report as report_view
from dialer.control.commands import audit_report
from dialer.control.report_files import (
    SUMMARY_COLUMNS,
    save_report_xlsx,
    save_xlsx,
    summary_json,
    summary_rows,
    write_summary_csv,
)
from dialer.control.service.http_auth import role_check
from dialer.control.service.http_files import (
    XLSX_TYPE,
    attachment,
    file_then_delete,
    private_temp,
)
from dialer.control.service.http_streams import WRITERS, report_chunks
from dialer.control.service.supervisor import Supervisor
from dialer.control.service.tokens import Caller, Role
from dialer.store import ContactStore

Format = Annotated[Literal["csv", "xlsx", "json"], Query()]
LAST_ERRORS = 20


def report_routes(app: FastAPI, supervisor: Supervisor) -> None:
    store = supervisor.store
    viewer = Depends(role_check(store, Role.VIEWER))
    admin = Depends(role_check(store, Role.ADMIN))

    @app.get(
        "/campaigns/{name}/report",
        summary="every contact of the campaign and its result, streamed (contact data: "
        "admin only, written to the audit log)",
        response_class=StreamingResponse,
    )
    async def report(
        name: str, format: Format = "csv", caller: Caller = admin
    ) -> StreamingResponse:
        await _campaign(store, name)
        # Written down before any row leaves: a client that stops half way is traced too.
        await audit_report(store, name, f"{format} via API", caller.actor)
        batches = report_view.report_batches(store, name)
        headers = attachment(f"{name}-report.{format}")
        if format == "xlsx":
            path = private_temp(store, ".xlsx")
            await save_report_xlsx(batches, path)
            return StreamingResponse(file_then_delete(path), media_type=XLSX_TYPE, headers=headers)
        return StreamingResponse(
            report_chunks(batches, format), media_type=WRITERS[format][1], headers=headers
        )

    @app.get(
        "/campaigns/{name}/summary",
        summary="the report's figures (results, hot/warm/cold, survey, calls cut), no "
        "contact data: CSV rows of figure,key,value, XLSX or JSON",
        response_model=None,
    )
    async def summary(
        name: str, format: Format = "json", caller: Caller = viewer
    ) -> dict[str, Any] | StreamingResponse:
        await _campaign(store, name)
        figures = summary_json(name, await report_view.campaign_totals(store, name))
        if format == "json":
            return figures
        headers = attachment(f"{name}-summary.{format}")
        if format == "csv":
            text = io.StringIO()
            write_summary_csv(figures, text)
            return StreamingResponse(
                iter([text.getvalue().encode()]), media_type=WRITERS["csv"][1], headers=headers
            )
        path = private_temp(store, ".xlsx")

        async def rows() -> Any:
            for row in summary_rows(figures):
                yield row

        await save_xlsx("summary", list(SUMMARY_COLUMNS), rows(), path)
        return StreamingResponse(file_then_delete(path), media_type=XLSX_TYPE, headers=headers)

    @app.get(
        "/campaigns/{name}/webhooks",
        summary="webhook delivery state: per receiver pending, failing and delivered "
        "counts and the next try; the latest failed deliveries with their error",
    )
    async def webhooks(name: str, caller: Caller = viewer) -> dict[str, Any]:
        receivers, failures = await store.webhook_state(name, LAST_ERRORS)
        if (
            not receivers
            and await store.get_campaign(name) is None
            and not _registered(supervisor, name)
        ):
            raise HTTPException(404, f"no campaign named {name!r}")
        return {
            "campaign": name,
            "at": datetime.now(UTC).isoformat(),
            "receivers": [
                {
                    "url": _shown(r.url),
                    "pending": r.pending,
                    "failing": r.failing,
                    "delivered": r.delivered,
                    "next_try_at": r.next_try_at.isoformat() if r.next_try_at else None,
                }
                for r in receivers
            ],
            "last_errors": [
                {
                    "event_id": f.event_id,
                    "event": f.kind,
                    "url": _shown(f.url),
                    "tries": f.tries,
                    "error": f.last_error,
                    "next_try_at": f.next_try_at.isoformat(),
                }
                for f in failures
            ],
        }


async def _campaign(store: ContactStore, name: str) -> None:
    if await store.get_campaign(name) is None:
        raise HTTPException(404, f"no campaign named {name!r} has run in this store")


def _registered(supervisor: Supervisor, name: str) -> bool:
    return name in supervisor.campaigns


def _shown(url: str) -> str:
    """A receiver's URL without credentials, query or fragment."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))
