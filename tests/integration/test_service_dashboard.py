"""The dashboard in a real headless Chromium, against `dialer serve` as a real process
and the simulated PBX: the page loads (its files bundled, nothing from elsewhere), shows
a running campaign's figures changing, and its pause and resume buttons reach the
engine (counted at the simulator: no Originate while paused). A viewer's page steers
nothing, and the service's 403 is shown if its disabled buttons are forced. Then
`dialer demo --serve`: the demo's contact base on the dashboard, with the keypad
campaign's hot / warm / cold funnel, until Ctrl-C (exit 0)."""

from __future__ import annotations

import asyncio
import http.client
import os
import re
import signal
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialer.simpbx import SimulatedPbx
from tests.integration.browser import Page, chromium_page, skip_without_chromium
from tests.integration.service_helpers import (
    Service,
    api,
    make_token,
    originated_by,
    start_service,
    until,
)
from tests.integration.test_cli import seeded_db, write_campaign

pytestmark = pytest.mark.timeout(240)

NAME = "spring-live"
CARD = f'[data-campaign="{NAME}"]'
QUIET = "spring-quiet"  # held back by a blackout date: it places no call
Check = Callable[[], Awaitable[bool]]


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async for opened in chromium_page():
        yield opened


def raw_get(url: str, path: str, token: str | None = None) -> http.client.HTTPResponse:
    """A GET that follows no redirect; the response is read (body in .data)."""
    where = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.data = response.read()  # type: ignore[attr-defined]
        return response
    finally:
        conn.close()


async def test_the_page_is_served_without_a_token_and_every_figure_only_with_one(
    tmp_path: Path,
) -> None:
    db = await seeded_db(tmp_path, 5)
    viewer = await make_token(db, "viewer")
    service = await start_service(db)
    try:
        home = await asyncio.to_thread(raw_get, service.url, "/")
        assert home.status == 307 and home.getheader("location") == "/dashboard"
        # The page and its files hold no data: a browser opens them without a token.
        page = await asyncio.to_thread(raw_get, service.url, "/dashboard")
        assert page.status == 200
        assert page.getheader("content-type", "").startswith("text/html")
        assert "default-src 'self'" in page.getheader("content-security-policy", "")
        body = page.data.decode()  # type: ignore[attr-defined]
        assert '<script src="/dashboard/assets/dashboard.js"' in body
        assert "http://" not in body and "https://" not in body  # nothing from elsewhere
        for name, kind in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
            asset = await asyncio.to_thread(raw_get, service.url, f"/dashboard/assets/{name}")
            assert asset.status == 200 and asset.getheader("content-type", "").startswith(kind)
        for other in ("..%2Fhttp_api.py", "status.py", "%2Fetc%2Fpasswd"):
            refused = await asyncio.to_thread(raw_get, service.url, f"/dashboard/assets/{other}")
            assert refused.status == 404, other
        # What the page shows needs a token, like the rest of the API.
        for path in ("/dashboard/session", "/dashboard/funnels", "/campaigns", "/events"):
            answer = await asyncio.to_thread(raw_get, service.url, path)
            assert answer.status == 401, path
        code, session = await api(service.url, "GET", "/dashboard/session", viewer)
        assert code == 200
        assert session["role"] == "viewer" and session["may_steer"] is False
        assert session["abandon_cap"] == 0.03
        assert session["held_reasons"]["window_closed"].startswith("outside calling hours")
        code, funnels = await api(service.url, "GET", "/dashboard/funnels", viewer)
        assert code == 200 and funnels["campaigns"] == {}
    finally:
        assert await service.stop() == 0


async def running_campaign(pbx: SimulatedPbx, tmp_path: Path) -> tuple[Service, str, str]:
    """The service, dialling a progressive campaign (operators, dial level, abandon
    windows) slowly enough to outlast the test; (service, supervisor, viewer)."""
    db = await seeded_db(tmp_path, 3000)
    admin = await make_token(db, "admin")
    supervisor, viewer = await make_token(db, "supervisor"), await make_token(db, "viewer")
    path = write_campaign(
        tmp_path / "live.yaml", pbx.port, name=NAME,
        pacing={"mode": "progressive", "compliance_message": "vm-goodbye",
                "max_channels": 3, "calls_per_second": 6},
    )  # fmt: skip
    # A second campaign on the list, on a blackout date wherever its callees are: every
    # contact it leases is held back by the compliance rules, which its card shows.
    today = datetime.now(UTC).date()
    blackout = [str(today + timedelta(days=d)) for d in (-1, 0, 1)]
    quiet = write_campaign(
        tmp_path / "quiet.yaml", pbx.port, name=QUIET,
        compliance={"calling_hours": {"mon-sun": "00:00-24:00"}, "blackout_dates": blackout},
    )  # fmt: skip
    service = await start_service(db)
    for name, file in ((NAME, path), (QUIET, quiet)):
        code, answer = await api(
            service.url, "POST", "/campaigns", admin,
            {"content": file.read_text(), "source": str(file)},
        )  # fmt: skip
        assert code == 201, answer
        code, answer = await api(service.url, "POST", f"/campaigns/{name}/start", supervisor)
        assert code == 200, answer
    await until(lambda: len(originated_by(pbx, NAME)) >= 5)
    return service, supervisor, viewer


async def status_of(service: Service, token: str) -> dict[str, object]:
    code, status = await api(service.url, "GET", f"/campaigns/{NAME}", token)
    assert code == 200, status
    return status


async def figure(page: Page, key: str) -> str:
    return (await page.text(f'{CARD} [data-figure="{key}"]')) or ""


async def placed(page: Page) -> int:
    text = await figure(page, "originated")
    return int(text) if text.isdigit() else -1


async def test_the_page_shows_a_running_campaign_live_and_pause_resume_reach_the_engine(
    pbx: SimulatedPbx, tmp_path: Path, page: Page
) -> None:
    service, supervisor, _ = await running_campaign(pbx, tmp_path)
    try:
        # No token yet: the page asks for one, and takes it from its login field.
        await page.open(f"{service.url}/")  # redirected to /dashboard
        await page.wait_for("the login form", lambda: page.js(
            "return !document.getElementById('login').hidden"))  # fmt: skip
        await page.type_into("#token-input", supervisor)
        await page.click("#login-button")
        await page.wait_for("the campaign's card", lambda: page.text(CARD))
        assert await page.text("#role") == "supervisor token"
        assert await page.wait_for("the live stream", lambda: page.js(
            "return document.getElementById('stream-state').textContent === 'live'"))  # fmt: skip

        # The figures move: calls placed grows between two reads, as the service counts.
        await page.wait_for("calls placed", lambda: placed(page))
        first = await placed(page)
        await page.wait_for("more calls placed", _more_than(page, first + 3))
        assert await figure(page, "state") == "dialing"
        await page.wait_for("a call rate", _rate_shown(page))
        # Operators by state, dial level, abandon windows with the 3% cap drawn, held back.
        assert "available" in (await page.text(f'{CARD} [data-operators="available"]') or "")
        assert await figure(page, "dial_level") not in ("", "–")
        windows = await page.js(
            "return [...document.querySelectorAll(arguments[0] + ' [data-window]')]"
            ".map(e => e.dataset.window)",
            CARD,
        )
        assert sorted(windows) == ["24h", "30d"]
        assert (
            await page.js(
                "return document.querySelector(arguments[0] + ' line.cap').dataset.cap", CARD
            )
            == "0.03"
        )
        assert "cap 3%" in (await page.text(f"{CARD} svg.abandon") or "")
        assert await page.text(f"{CARD} .held") == "none held back"
        quiet = f'[data-campaign="{QUIET}"] .held'
        await page.wait_for("contacts held back", lambda: _text_with(page, quiet, "holiday"))
        _, status = await api(service.url, "GET", f"/campaigns/{QUIET}", supervisor)
        assert status["held"]["holiday"] > 0 and status["originated"] == 0
        assert str(status["held"]["holiday"]) in (await page.text(quiet) or "")
        assert originated_by(pbx, QUIET) == []
        assert await page.text(f'{CARD} [data-figure="next_due_at"]')

        # Pause from the page: the service says paused and the simulator gets no Originate.
        await page.wait_for("an enabled pause button", lambda: page.js(
            "return !document.querySelector(arguments[0] + ' [data-action=pause]').disabled",
            CARD))  # fmt: skip
        await page.click(f'{CARD} [data-action="pause"]')

        async def service_paused() -> bool:
            status = await status_of(service, supervisor)
            return status["state"] == "paused" and status["wanted"] == "paused"

        await until(service_paused, timeout=15)
        paused_at = time.time()
        await page.wait_for("the paused state", _state_is(page, "paused"))
        await asyncio.sleep(2.0)
        late = [o for o in pbx.originates if o.time > paused_at + 0.2]
        assert late == [], f"{len(late)} Originate(s) after the pause"
        assert "campaign.paused" in (await page.text("#event-log") or "")
        assert await page.js(
            "return document.querySelector(arguments[0] + ' [data-action=pause]').disabled", CARD
        )

        # Resume from the page: dialling goes on.
        before = len(originated_by(pbx, NAME))
        await page.click(f'{CARD} [data-action="resume"]')
        await until(lambda: len(originated_by(pbx, NAME)) >= before + 5, timeout=30)
        status = await status_of(service, supervisor)
        assert status["state"] == "dialing" and status["wanted"] == "running"
        await page.wait_for("the dialing state", _state_is(page, "dialing"))
        assert await page.console_errors() == []
    finally:
        assert await service.stop() == 0


async def test_a_viewer_page_has_no_working_controls_and_shows_the_403(
    pbx: SimulatedPbx, tmp_path: Path, page: Page
) -> None:
    service, supervisor, viewer = await running_campaign(pbx, tmp_path)
    try:
        await page.open(f"{service.url}/dashboard#token={viewer}")
        await page.wait_for("the campaign's card", lambda: page.text(CARD))
        # The token left the address bar at once (it stays in the tab's sessionStorage).
        assert "token" not in await page.call(lambda: page.driver.current_url)
        assert await page.text("#role") == "viewer token"
        assert "Read only" in (await page.text("#notice") or "")
        await page.wait_for("calls placed", lambda: placed(page))
        disabled = await page.js(
            "return [...document.querySelectorAll(arguments[0] + ' [data-action]')]"
            ".map(b => b.disabled)",
            CARD,
        )
        assert disabled == [True, True, True, True]

        # Forced: the button enabled by hand and clicked. The service refuses (403) and
        # the page says so; the campaign goes on.
        await page.js(
            "const b = document.querySelector(arguments[0] + ' [data-action=pause]');"
            "b.disabled = false; b.click();",  # at once: a refresh would disable it again
            CARD,
        )
        message = await page.wait_for(
            "the refusal", lambda: _text_with(page, f"{CARD} .message", "403")
        )
        assert "403 Forbidden" in message and "supervisor" in message
        status = await status_of(service, supervisor)
        assert status["state"] == "dialing" and status["wanted"] == "running"
        before = len(originated_by(pbx, NAME))
        await until(lambda: len(originated_by(pbx, NAME)) > before + 3)
    finally:
        assert await service.stop() == 0


async def test_demo_serve_shows_the_funnel_on_the_dashboard_until_ctrl_c(
    tmp_path: Path, page: Page
) -> None:
    skip_without_chromium()
    env = {**os.environ, "COLUMNS": "200"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "dialer", "--db", str(tmp_path / "demo.db"), "demo",
        "--contacts", "30", "--no-progress", "--serve", "--port", "0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    seen: list[str] = []
    try:
        while not any("dialer service listening" in line for line in seen):
            line = await asyncio.wait_for(proc.stdout.readline(), 180)
            assert line, "the demo ended early:\n" + "".join(seen)
            seen.append(line.decode())
        out = "".join(seen)
        assert "Leads (temperature set by the script)" in out
        found = re.search(r"dashboard: (http://127\.0\.0\.1:\d+/dashboard#token=(\S+))", out)
        assert found, out
        assert f"viewer token: {found.group(2)}" in out
        await page.open(found.group(1))
        card = '[data-campaign="demo-keypad"]'
        await page.wait_for("the keypad campaign", lambda: page.text(card))
        assert await page.text("#role") == "viewer token"
        await page.wait_for("the funnel", lambda: page.text(f'{card} .funnel [data-count="hot"]'))
        for temperature in ("hot", "warm", "cold"):
            count = await page.text(f'{card} .funnel [data-count="{temperature}"]')
            assert count is not None and int(count) > 0, temperature
        assert await page.text(f'{card} [data-figure="state"]') == "finished"
        assert await page.text('[data-campaign="demo"] [data-figure="state"]') == "finished"
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0


def _more_than(page: Page, count: int) -> Check:
    async def check() -> bool:
        return await placed(page) > count

    return check


def _state_is(page: Page, state: str) -> Check:
    async def check() -> bool:
        return await figure(page, "state") == state

    return check


def _rate_shown(page: Page) -> Check:
    async def check() -> bool:
        text = await figure(page, "calls_per_minute")
        return bool(text) and text != "–" and float(text) > 0

    return check


async def _text_with(page: Page, selector: str, part: str) -> str | None:
    text = await page.text(selector)
    return text if text and part in text else None
