"""The API's lists, contacts, do-not-call, reports and webhook state, against a real
`dialer serve` process over real HTTP: for every route, each role below the least one
gets 403 and each role from it on succeeds; uploads (multipart and raw), streamed
exports in three formats, the audit log, and every route in /openapi.json with a
summary."""

from __future__ import annotations

import asyncio
import csv
import http.client
import io
import json
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from dialer.simpbx import SimulatedPbx
from dialer.store import open_store
from tests.integration.service_helpers import Service, api, make_token, start_service, until
from tests.integration.test_cli import seeded_db, write_campaign

pytestmark = pytest.mark.timeout(240)

NAME = "spring-promo"
RANK = {"viewer": 0, "supervisor": 1, "admin": 2}
CSV_TYPE = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SMALL_CSV = b"phone,name\n+79161234567,Anna\nnot a number,Bad\n"
DNC_BODY = {"numbers": ["+79160000001"], "source": "test"}

# (method, path, least role, body: None, a JSON value, or (content type, bytes))
ROUTES: list[tuple[str, str, str, Any]] = [
    ("GET", "/lists", "viewer", None),
    ("GET", f"/campaigns/{NAME}/summary", "viewer", None),
    ("GET", f"/campaigns/{NAME}/summary?format=csv", "viewer", None),
    ("GET", f"/campaigns/{NAME}/summary?format=xlsx", "viewer", None),
    ("GET", f"/campaigns/{NAME}/webhooks", "viewer", None),
    ("POST", "/dnc/add", "supervisor", DNC_BODY),
    ("POST", "/dnc/check", "supervisor", DNC_BODY),
    ("POST", "/dnc/remove", "supervisor", DNC_BODY),
    ("POST", "/dnc/import", "supervisor", (CSV_TYPE, b"number\n+79160000002\n")),
    ("POST", "/lists/upload/import", "admin", (CSV_TYPE, SMALL_CSV)),
    ("GET", "/lists/spring/export?format=csv", "admin", None),
    ("GET", "/lists/spring/export?format=json", "admin", None),
    ("GET", "/lists/spring/export?format=xlsx", "admin", None),
    ("GET", "/contacts/+79161234567", "admin", None),
    ("DELETE", "/contacts/+79169999999", "admin", None),
    ("GET", f"/campaigns/{NAME}/report?format=csv", "admin", None),
    ("GET", f"/campaigns/{NAME}/report?format=json", "admin", None),
    ("GET", f"/campaigns/{NAME}/report?format=xlsx", "admin", None),
]


def send(
    url: str, method: str, path: str, token: str | None, body: Any = None
) -> tuple[int, str, bytes]:
    """(status, content type, body) of one real HTTP request."""
    where = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    payload = None
    if isinstance(body, tuple):
        headers["Content-Type"], payload = body
    elif body is not None:
        headers["Content-Type"], payload = "application/json", json.dumps(body).encode()
    try:
        conn.request(method, path, payload, headers)
        response = conn.getresponse()
        return response.status, response.getheader("content-type") or "", response.read()
    finally:
        conn.close()


def multipart(name: str, content: bytes) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return f"multipart/form-data; boundary={boundary}", body


async def call(service: Service, method: str, path: str, token: str, body: Any = None) -> Any:
    return await asyncio.to_thread(send, service.url, method, path, token, body)


async def finished_campaign(pbx: SimulatedPbx, tmp_path: Path, contacts: int) -> tuple:
    db = await seeded_db(tmp_path, contacts)
    tokens = {role: await make_token(db, role) for role in RANK}
    path = write_campaign(
        tmp_path / "c.yaml", pbx.port, pacing={"max_channels": 4, "calls_per_second": 20}
    )
    service = await start_service(db)
    await api(service.url, "POST", "/campaigns", tokens["admin"], {"content": path.read_text()})
    await api(service.url, "POST", f"/campaigns/{NAME}/start", tokens["admin"])

    async def finished() -> bool:
        _, status = await api(service.url, "GET", f"/campaigns/{NAME}", tokens["viewer"])
        return bool(status.get("state") == "finished")

    await until(finished, timeout=90)
    return db, tokens, service


async def test_every_data_route_refuses_lower_roles_and_serves_the_others(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    _, tokens, service = await finished_campaign(pbx, tmp_path, 20)
    try:
        for method, path, least, body in ROUTES:
            got, _, _ = await call(service, method, path, "", body)
            assert got == 401, (method, path)
            for role, token in tokens.items():
                got, _, text = await call(service, method, path, token, body)
                if RANK[role] < RANK[least]:
                    assert got == 403, (method, path, role, got)
                    assert b"needs a" in text
                else:
                    assert got == 200, (method, path, role, got, text[:300])
        # Every route of the API is in the OpenAPI document, with a summary.
        got, _, text = await call(service, "GET", "/openapi.json", tokens["viewer"])
        spec = json.loads(text)
        for _, path, _, _ in ROUTES:
            route = urllib.parse.urlsplit(path).path.replace(NAME, "{name}")
            route = route.replace("/lists/spring/", "/lists/{name}/")
            route = route.replace("/lists/upload/", "/lists/{name}/")
            route = route.replace("/contacts/+79161234567", "/contacts/{number}")
            route = route.replace("/contacts/+79169999999", "/contacts/{number}")
            assert route in spec["paths"], route
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                assert operation.get("summary"), (method, path)
    finally:
        assert await service.stop() == 0


async def test_uploads_exports_dnc_and_reports_do_what_the_commands_do(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db, tokens, service = await finished_campaign(pbx, tmp_path, 30)
    admin, boss = tokens["admin"], tokens["supervisor"]
    try:
        # Import by multipart: every valid row lands, each bad one answered with its line.
        rows = b"phone;name\n+79161234567;Anna\n12;Short\n+79161234568;Boris\n;Empty\n"
        got, _, text = await call(service, "POST", "/lists/fresh/import", admin,
                                  multipart("people.csv", rows))  # fmt: skip
        report = json.loads(text)
        assert got == 200, report
        assert (report["inserted"], report["rejected"]) == (2, 2)
        assert [r["row"] for r in report["rejects"]] == [3, 5]
        assert Path(report["reject_file"]).is_file()
        # A raw XLSX body imports too; a file that is no contact file is a clear 400.
        got, _, text = await call(service, "GET", "/lists/fresh/export?format=xlsx", admin)
        assert got == 200
        got, _, text2 = await call(service, "POST", "/lists/again/import", admin, (XLSX, text))
        assert got == 200 and json.loads(text2)["inserted"] == 2
        got, _, text = await call(service, "POST", "/lists/x/import", admin,
                                  (CSV_TYPE, b"\x00\x01garbage"))  # fmt: skip
        assert got == 400 and b"Traceback" not in text
        no_phone = multipart("nophone.csv", b"name,city\nAnna,Moscow\n")
        got, _, text = await call(service, "POST", "/lists/x/import", admin, no_phone)
        assert got == 400 and json.loads(text)["detail"].startswith("nophone.csv: "), text
        assert b"tmp" not in text  # the private copy's name is never shown
        got, _, text = await call(service, "POST", "/lists/x/import", admin, ("image/png", b"x"))
        assert got == 415

        # Exports in three formats: the whole list, streamed.
        got, kind, text = await call(service, "GET", "/lists/spring/export?format=csv", admin)
        lines = list(csv.DictReader(io.StringIO(text.decode("utf-8-sig"))))
        assert got == 200 and kind.startswith("text/csv") and len(lines) == 30
        assert f"{NAME}.final_outcome" in lines[0]
        got, _, text = await call(service, "GET", "/lists/spring/export?format=json", admin)
        assert len(json.loads(text)) == 30
        got, _, text = await call(service, "GET", "/lists/nope/export", admin)
        assert got == 404

        # Reports: contact rows in CSV, JSON and XLSX; the summary carries no number.
        got, _, text = await call(service, "GET", f"/campaigns/{NAME}/report?format=xlsx", admin)
        sheet = load_workbook(io.BytesIO(text), read_only=True).active
        assert sheet is not None and len(list(sheet.rows)) == 31
        got, _, text = await call(service, "GET", f"/campaigns/{NAME}/summary", tokens["viewer"])
        summary = json.loads(text)
        assert summary["contacts"] == 30 and "+7" not in text.decode()
        got, _, text = await call(
            service, "GET", f"/campaigns/{NAME}/summary?format=csv", tokens["viewer"]
        )
        assert text.decode().splitlines()[0] == "figure,key,value"

        # Do-not-call: add, check, remove, import; numbers without + read in the region.
        body = {"numbers": ["89160000010", "+79160000011"], "campaign": NAME}
        got, _, text = await call(service, "POST", "/dnc/add", boss, body)
        assert json.loads(text)["added"] == 2
        got, _, text = await call(
            service, "POST", "/dnc/check", boss, {"numbers": ["+79160000010"], "campaign": "other"}
        )
        assert json.loads(text)["listed"] is False  # on the campaign's list, not the global
        got, _, text = await call(service, "POST", "/dnc/check", boss, body)
        checked = json.loads(text)
        assert checked["listed"] is True
        assert checked["numbers"]["+79160000010"][0]["list"] == NAME
        got, _, text = await call(service, "POST", "/dnc/remove", boss, body)
        assert json.loads(text)["removed"] == 2
        got, _, text = await call(service, "POST", "/dnc/add", boss, {"numbers": ["nonsense"]})
        assert got == 400 and b"not a number" in text
        dnc_file = multipart("dnc.csv", b"+79160000020\n+79160000021\nbad\n")
        got, _, text = await call(service, "POST", "/dnc/import?source=regulator", boss, dnc_file)
        imported = json.loads(text)
        assert (imported["added"], imported["rejected"]) == (2, 1), imported

        # Show and erase one person.
        got, _, text = await call(service, "GET", "/contacts/+79161234567", admin)
        person = json.loads(text)
        assert {c["list"] for c in person["contacts"]} == {"fresh", "again"}
        got, _, text = await call(service, "DELETE", "/contacts/+79161234567", admin)
        assert got == 200 and json.loads(text)["contacts"] == 2
        got, _, text = await call(service, "GET", "/contacts/+79161234567", admin)
        assert json.loads(text)["contacts"] == []  # nothing left to show
    finally:
        assert await service.stop() == 0
    store = await open_store(db)
    try:
        entries = await store.audit_entries()
    finally:
        await store.close()
    actions = [(e.action, e.subject, e.rows) for e in entries if e.actor.startswith("api token")]
    assert ("contacts.export", "spring", 30) in actions
    assert ("report.export", NAME, 30) in actions
    assert ("dnc.import", "dnc:global", 2) in actions
    assert {"contacts.show", "contacts.erase", "dnc.add", "dnc.remove"} <= {
        a for a, _, _ in actions
    }
