"""The HTTP API (FastAPI): campaigns (list, register a file, start, pause, resume, stop,
status) and the live event stream (SSE) here; reports and webhook state (http_reports),
lists and contacts (http_lists), do-not-call (http_dnc) in their own modules. Its
OpenAPI document is at /openapi.json, behind a token like every other path."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from dialer.control.service.http_auth import role_check
from dialer.control.service.http_dashboard import dashboard_routes
from dialer.control.service.http_dnc import dnc_routes
from dialer.control.service.http_lists import list_routes
from dialer.control.service.http_metrics import metrics_routes
from dialer.control.service.http_reports import report_routes
from dialer.control.service.http_streams import sse
from dialer.control.service.status import campaign_rows, campaign_status
from dialer.control.service.supervisor import ServiceError, Supervisor
from dialer.control.service.tokens import Caller, Role

MAX_FILE_CHARS = 1_000_000  # a campaign file, IVR script included, is far smaller


class CampaignFileIn(BaseModel):
    content: str = Field(..., max_length=MAX_FILE_CHARS, description="the campaign YAML")
    source: str = Field(
        "",
        max_length=4096,
        description="the file's path on the service's host: relative paths inside it "
        "(ivr.sounds_dir) are taken from its folder",
    )


class Registered(BaseModel):
    campaign: str
    version: int
    applied_live: list[str] = Field(description="settings a running campaign took at once")
    status: dict[str, Any]


def build_app(supervisor: Supervisor) -> FastAPI:
    store = supervisor.store
    app = FastAPI(
        title="dialer",
        summary="Outbound autodialer service: campaigns, reports, live events",
        openapi_url=None,  # served below, behind a token
        docs_url=None,
        redoc_url=None,
    )
    viewer = Depends(role_check(store, Role.VIEWER))

    @app.exception_handler(ServiceError)
    async def refused(request: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(caller: Caller = viewer) -> JSONResponse:
        return JSONResponse(app.openapi())

    _campaign_routes(app, supervisor)
    _data_routes(app, supervisor)
    metrics_routes(app, supervisor)
    report_routes(app, supervisor)
    list_routes(app, supervisor)
    dnc_routes(app, supervisor)
    dashboard_routes(app, supervisor)
    return app


def _campaign_routes(app: FastAPI, supervisor: Supervisor) -> None:
    store = supervisor.store
    viewer = Depends(role_check(store, Role.VIEWER))
    supervisor_role = Depends(role_check(store, Role.SUPERVISOR))
    admin = Depends(role_check(store, Role.ADMIN))

    async def status_of(name: str) -> dict[str, Any]:
        wanted = (await store.wanted_states()).get(name)
        managed = supervisor.campaigns.get(name)
        status = await campaign_status(store, name, managed, wanted, datetime.now(UTC))
        if supervisor.remote is not None:  # several nodes: as its driving node counts it
            status["cluster"] = await supervisor.remote.live(name)
        return status

    @app.get("/cluster", summary="several nodes: the live nodes and what each drives")
    async def cluster(caller: Caller = viewer) -> dict[str, Any]:
        if supervisor.remote is None:
            return {"nodes": [], "coordinated": False}
        return {"nodes": await supervisor.remote.nodes(), "coordinated": True}

    @app.get("/campaigns", summary="every campaign: state, wanted state, progress")
    async def list_campaigns(caller: Caller = viewer) -> list[dict[str, Any]]:
        return await campaign_rows(store, supervisor.campaigns, datetime.now(UTC))

    @app.post(
        "/campaigns",
        status_code=201,
        summary="register a campaign file (a new version; a running campaign takes "
        "pacing numbers live, other changes are refused with 409)",
    )
    async def register(body: CampaignFileIn, caller: Caller = admin) -> Registered:
        name, version, plan = await supervisor.register(body.content, body.source, caller.actor)
        return Registered(
            campaign=name,
            version=version,
            applied_live=list(plan.changed) if plan else [],
            status=await status_of(name),
        )

    @app.get("/campaigns/{name}", summary="a campaign's status: progress, pacing, abandon")
    async def campaign(name: str, caller: Caller = viewer) -> dict[str, Any]:
        return await _known(name, await status_of(name))

    @app.post("/campaigns/{name}/start", summary="start dialling (or resume a paused one)")
    async def start(name: str, caller: Caller = supervisor_role) -> dict[str, Any]:
        await supervisor.start(name, caller.actor)
        return await status_of(name)

    @app.post("/campaigns/{name}/pause", summary="no new calls; calls in progress go on")
    async def pause(name: str, caller: Caller = supervisor_role) -> dict[str, Any]:
        await supervisor.pause(name, caller.actor)
        return await status_of(name)

    @app.post("/campaigns/{name}/resume", summary="dial again after a pause")
    async def resume(name: str, caller: Caller = supervisor_role) -> dict[str, Any]:
        await supervisor.resume(name, caller.actor)
        return await status_of(name)

    @app.post("/campaigns/{name}/stop", summary="stop dialling; calls in progress drain")
    async def stop(name: str, caller: Caller = supervisor_role) -> dict[str, Any]:
        await supervisor.stop(name, caller.actor)
        return await status_of(name)


def _data_routes(app: FastAPI, supervisor: Supervisor) -> None:
    store = supervisor.store
    viewer = Depends(role_check(store, Role.VIEWER))

    @app.get(
        "/events",
        summary="live campaign and call events (text/event-stream); Last-Event-ID resumes",
        response_class=StreamingResponse,
    )
    async def events(
        caller: Caller = viewer,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        after = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
        return StreamingResponse(
            sse(supervisor.bus, after),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )


async def _known(name: str, status: dict[str, Any]) -> dict[str, Any]:
    if status["version"] is None and status["standing"] == "new":
        raise HTTPException(404, f"no campaign named {name!r}")
    return status
