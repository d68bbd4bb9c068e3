"""The dashboard: one page served by the service, its script and style bundled in the
package (dialer/control/service/dashboard/, no CDN: it works offline).

The page and its two assets hold no data and are served without a token (a browser
cannot send one when it opens a URL); everything the page shows comes from requests that
carry the token the user typed in, or that came in the URL's #token= fragment (a
fragment never reaches the server or its logs), kept in the tab's sessionStorage:
the API's status JSON (GET /campaigns, /campaigns/{name}), the two viewer routes below,
and the event stream (GET /events), read with fetch() so that it sends the token in its
Authorization header like every other request (EventSource cannot send headers, and a
token in a query string would end up in access logs).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.responses import RedirectResponse, Response

from dialer.control.service.dashboard_figures import FunnelCounts, held_reason_words
from dialer.control.service.http_auth import role_check
from dialer.control.service.supervisor import Supervisor
from dialer.control.service.tokens import Caller, Role
from dialer.outcomes import CampaignState
from dialer.regulation import ABANDON_RATE_CAP

ASSETS = {
    "dashboard.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
# The page runs only its own files: no inline script, nothing from elsewhere.
HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


@cache
def asset(name: str) -> bytes:
    return resources.files("dialer.control.service").joinpath("dashboard", name).read_bytes()


def _asset_response(name: str) -> Response:
    if name not in ASSETS:
        raise HTTPException(404, f"no dashboard file named {name!r}")
    try:
        body = asset(name)
    except OSError as exc:
        raise HTTPException(
            500, f"the dashboard's {name} is missing from this installation: {exc}"
        ) from exc
    return Response(body, media_type=ASSETS[name], headers=HEADERS)


def dashboard_routes(app: FastAPI, supervisor: Supervisor) -> None:
    store = supervisor.store
    viewer = Depends(role_check(store, Role.VIEWER))
    funnels = FunnelCounts(store)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/dashboard", status_code=307)

    @app.get("/dashboard", include_in_schema=False)
    async def page() -> Response:
        return _asset_response("dashboard.html")

    @app.get("/dashboard/assets/{name}", include_in_schema=False)
    async def assets(name: str) -> Response:
        return _asset_response(name)

    @app.get("/dashboard/session", summary="the dashboard's caller: role, what it may do")
    async def session(caller: Caller = viewer) -> dict[str, Any]:
        return {
            "role": caller.role.value,
            "actor": caller.actor,
            "may_steer": caller.role.allows(Role.SUPERVISOR),
            "held_reasons": held_reason_words(),
            "abandon_cap": ABANDON_RATE_CAP,
        }

    @app.get(
        "/dashboard/funnels",
        summary="every campaign's leads by temperature (hot, warm, cold), as the report "
        "counts them",
    )
    async def funnel_counts(caller: Caller = viewer) -> dict[str, Any]:
        records = await store.campaigns()
        names = {r.name for r in records} | set(supervisor.campaigns)
        # Its contacts may change while this service drives it, or another process does.
        running = {n for n, m in supervisor.campaigns.items() if m.driving} | {
            r.name for r in records if r.state is CampaignState.RUNNING
        }
        return {
            "at": datetime.now(UTC).isoformat(),
            "campaigns": await funnels.all((n, n in running) for n in sorted(names)),
        }
