"""The service's HTTP API over real HTTP: every role's permissions (401 without a valid
token, 403 for a role that may not), the OpenAPI document, the audited report export,
the live event stream, and the CLI's clear errors when no service answers."""

from __future__ import annotations

import asyncio
import csv
import http.client
import io
import json
import urllib.parse
from pathlib import Path

import pytest

from dialer.simpbx import SimulatedPbx
from dialer.store import open_store
from tests.integration.service_helpers import (
    Service,
    api,
    dialer_cli,
    make_token,
    start_service,
    until,
)
from tests.integration.test_cli import run_dialer, seeded_db, write_campaign

pytestmark = pytest.mark.timeout(180)

NAME = "spring-promo"
# (method, path, least role allowed); the body of POST /campaigns is filled in below.
ENDPOINTS = [
    ("GET", "/openapi.json", "viewer"),
    ("GET", "/campaigns", "viewer"),
    ("GET", f"/campaigns/{NAME}", "viewer"),
    ("GET", "/events", "viewer"),
    ("POST", f"/campaigns/{NAME}/start", "supervisor"),
    ("POST", f"/campaigns/{NAME}/pause", "supervisor"),
    ("POST", f"/campaigns/{NAME}/resume", "supervisor"),
    ("POST", f"/campaigns/{NAME}/stop", "supervisor"),
    ("POST", "/campaigns", "admin"),
    ("GET", f"/campaigns/{NAME}/report?format=csv", "admin"),
    ("GET", f"/campaigns/{NAME}/report?format=json", "admin"),
]
RANK = {"viewer": 0, "supervisor": 1, "admin": 2}


def status_only(url: str, method: str, path: str, token: str | None, body: object) -> int:
    """The status of a request, without reading an endless body (the event stream)."""
    where = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    payload = json.dumps(body).encode() if body is not None else None
    if payload:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, payload, headers)
        return conn.getresponse().status
    finally:
        conn.close()


async def test_every_role_may_do_what_it_should_and_nothing_more(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await seeded_db(tmp_path, 30)
    tokens = {role: await make_token(db, role) for role in RANK}
    revoked = await make_token(db, "admin")
    code, _, err = await run_dialer("--db", str(db), "tokens", "revoke", "4")
    assert code == 0, err
    path = write_campaign(
        tmp_path / "c.yaml", pbx.port, pacing={"max_channels": 2, "calls_per_second": 5}
    )
    body = {"content": path.read_text(), "source": str(path)}
    service = await start_service(db)
    try:
        await api(service.url, "POST", "/campaigns", tokens["admin"], body)
        for method, where, least in ENDPOINTS:
            payload = body if where == "/campaigns" and method == "POST" else None
            for bad in (None, "", "dlr_not-a-token", revoked, tokens["admin"][:-2]):
                got = await asyncio.to_thread(status_only, service.url, method, where, bad, payload)
                assert got == 401, (method, where, bad)
            for role, token in tokens.items():
                got = await asyncio.to_thread(
                    status_only, service.url, method, where, token, payload
                )
                if RANK[role] < RANK[least]:
                    assert got == 403, (method, where, role)
                else:
                    assert got in (200, 201), (method, where, role, got)
        # A token in the query string or as Basic is no token.
        code, _ = await api(service.url, "GET", f"/campaigns?token={tokens['admin']}")
        assert code == 401
    finally:
        assert await service.stop() == 0


async def test_report_export_is_audited_openapi_lists_the_api_and_events_stream_live(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await seeded_db(tmp_path, 40)
    admin, viewer = await make_token(db, "admin"), await make_token(db, "viewer")
    path = write_campaign(
        tmp_path / "c.yaml", pbx.port, pacing={"max_channels": 4, "calls_per_second": 20}
    )
    service = await start_service(db)
    try:
        code, spec = await api(service.url, "GET", "/openapi.json", viewer)
        assert code == 200
        assert {"/campaigns", "/campaigns/{name}/pause", "/events"} <= set(spec["paths"])

        events = asyncio.create_task(asyncio.to_thread(read_events, service, viewer, 12))
        await asyncio.sleep(0.3)
        await api(service.url, "POST", "/campaigns", admin, {"content": path.read_text()})
        await api(service.url, "POST", f"/campaigns/{NAME}/start", admin)
        kinds = [kind for kind, _ in await asyncio.wait_for(events, 60)]
        assert kinds[:3] == ["campaign.registered", "campaign.starting", "campaign.started"]
        assert "call.originated" in kinds and "call.ended" in kinds
        for _, data in await asyncio.to_thread(read_events, service, viewer, 0, 0):
            assert "number" not in data  # no contact data in the stream

        async def finished() -> bool:
            _, status = await api(service.url, "GET", f"/campaigns/{NAME}", viewer)
            return status["state"] == "finished"

        await until(finished, timeout=90)
        code, text = await api(service.url, "GET", f"/campaigns/{NAME}/report?format=csv", admin)
        assert code == 200
        rows = list(csv.DictReader(io.StringIO(text)))
        assert len(rows) == 40 and rows[0]["number"].startswith("+7912")
        code, data = await api(service.url, "GET", f"/campaigns/{NAME}/report?format=json", admin)
        assert code == 200 and len(data) == 40
    finally:
        assert await service.stop() == 0
    store = await open_store(db)
    try:
        entries = await store.audit_entries()
    finally:
        await store.close()
    assert [(e.action, e.subject, e.detail, e.rows) for e in entries] == [
        ("report.export", NAME, "json via API", 40),
        ("report.export", NAME, "csv via API", 40),
    ]
    assert all(e.actor == "api token 1" for e in entries)


def read_events(
    service: Service, token: str, count: int, after: int | None = None
) -> list[tuple[str, dict[str, object]]]:
    """The first `count` events of the stream (with `after`: the kept ones after that id,
    until the stream goes quiet)."""
    where = urllib.parse.urlsplit(service.url)
    conn = http.client.HTTPConnection(
        where.hostname, where.port, timeout=5 if after is not None else 60
    )
    headers = {"Authorization": f"Bearer {token}"}
    if after is not None:
        headers["Last-Event-ID"] = str(after)
    conn.request("GET", "/events", headers=headers)
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    found: list[tuple[str, dict[str, object]]] = []
    kind = ""
    try:
        while after is not None or len(found) < count:
            line = response.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                found.append((kind, json.loads(line[6:])))
    except TimeoutError:
        pass
    finally:
        conn.close()
    return found


async def test_the_cli_says_clearly_when_no_service_answers_and_offline_commands_still_work(
    tmp_path: Path,
) -> None:
    db = await seeded_db(tmp_path, 5)
    nowhere = "http://127.0.0.1:9"  # discard port: nothing listens
    for command in ("start", "pause", "resume", "stop"):
        code, out, err = await dialer_cli(nowhere, "dlr_x", command, NAME)
        assert code == 5, (command, err)
        assert f"no dialer service answers at {nowhere}" in err
        assert "Traceback" not in err
    code, _, err = await dialer_cli(nowhere, "dlr_x", "status")
    assert code == 5 and "no dialer service answers" in err
    # With --db, status reads the contact base: no service needed.
    code, out, err = await dialer_cli(nowhere, "dlr_x", "--db", str(db), "status")
    assert code == 0, err
    code, out, err = await dialer_cli(nowhere, "dlr_x", "--db", str(db), "contacts", "lists")
    assert code == 0 and "spring" in out and "5 contacts" in out


async def test_bad_input_is_a_clear_error_never_a_traceback(tmp_path: Path) -> None:
    db = await seeded_db(tmp_path, 5)
    code, _, err = await run_dialer("--db", str(db), "serve", "--listen", "nonsense")
    assert code == 2 and "--listen 'nonsense': expected HOST:PORT" in err
    service = await start_service(db)
    try:
        port = service.url.rsplit(":", 1)[1]
        code, _, err = await run_dialer("--db", str(db), "serve", "--listen", f"127.0.0.1:{port}")
        assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err
        assert "Traceback" not in err
        admin = await make_token(db, "admin")
        bad = {"content": "name: x\nlist: spring\nami: {secret: s}\n", "source": "/x/bad.yaml"}
        code, answer = await api(service.url, "POST", "/campaigns", admin, bad)
        assert code == 400
        assert answer["detail"] == "/x/bad.yaml:1:1: dial: required field is missing"
        code, answer = await api(service.url, "POST", "/campaigns/nope/start", admin)
        assert code == 404 and "no campaign file registered as 'nope'" in answer["detail"]
        code, _, err = await dialer_cli(service.url, admin, "pause", "nope")
        assert code == 2 and "no campaign file registered as 'nope'" in err
    finally:
        assert await service.stop() == 0
