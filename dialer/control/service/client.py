"""The CLI's side of the API: one JSON request to the running service.

Where the service is: --server, else $DIALER_SERVER, else http://127.0.0.1:8080; the
token: $DIALER_TOKEN. Plain http.client in a thread: one request per command needs no
HTTP library.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import urllib.parse
from dataclasses import dataclass
from typing import Any

SERVER_ENV = "DIALER_SERVER"
TOKEN_ENV = "DIALER_TOKEN"
DEFAULT_SERVER = "http://127.0.0.1:8080"
TIMEOUT_S = 30.0


class NoService(Exception):
    """Nothing answers at the service's address."""


class ServiceRefused(Exception):
    """The service answered with an error: `status` and its reason."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


@dataclass(frozen=True)
class ServiceAddress:
    url: str
    explicit: bool  # named by --server or $DIALER_SERVER (not the default)


def service_address(server: str | None) -> ServiceAddress:
    if server:
        return ServiceAddress(server, True)
    from_env = os.environ.get(SERVER_ENV)
    if from_env:
        return ServiceAddress(from_env, True)
    return ServiceAddress(DEFAULT_SERVER, False)


async def call(address: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """The decoded JSON answer; NoService, ServiceRefused (with the service's reason)."""
    token = os.environ.get(TOKEN_ENV, "")
    return await asyncio.to_thread(_request, address, method, path, body, token)


def _request(address: str, method: str, path: str, body: dict[str, Any] | None, token: str) -> Any:
    url = urllib.parse.urlsplit(address)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise NoService(f"{address!r} is not an http:// address of the service")
    kind = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    conn = kind(url.hostname, url.port, timeout=TIMEOUT_S)
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = None
    if body is not None:
        payload = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, url.path.rstrip("/") + path, payload, headers)
        response = conn.getresponse()
        data = response.read()
    except (ConnectionError, TimeoutError, OSError) as exc:
        raise NoService(f"no dialer service answers at {address} ({_why(exc)})") from exc
    finally:
        conn.close()
    try:
        decoded = json.loads(data) if data else None
    except ValueError:
        decoded = None
    if response.status >= 400:
        detail = decoded.get("detail") if isinstance(decoded, dict) else None
        raise ServiceRefused(response.status, _detail(detail) or response.reason)
    return decoded


def _detail(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):  # FastAPI's validation errors
        return "; ".join(str(item.get("msg", item)) for item in detail if isinstance(item, dict))
    return ""


def _why(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused: is `dialer serve` running?"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
