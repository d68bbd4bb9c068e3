"""The HTTP API's tokens and what each role may do.

A token is `dlr_` and 32 random bytes (URL-safe base64), shown once when created; the
store keeps only its SHA-256, so a copy of the database gives no way in. Roles nest:
a viewer reads figures; a supervisor also steers campaigns (start, pause, resume,
stop); an admin also registers campaign files (they name the AMI server and the
environment variable of its secret) and takes contact data out (reports: audited).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dialer.store.service_roles import ApiTokens

TOKEN_PREFIX = "dlr_"
SECRET_BYTES = 32


class Role(StrEnum):
    VIEWER = "viewer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return (Role.VIEWER, Role.SUPERVISOR, Role.ADMIN).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class Caller:
    """Who sent a request: the token's id, role and name (never the token)."""

    token_id: int
    role: Role
    name: str

    @property
    def actor(self) -> str:
        """How the audit log and the wanted state name who did it."""
        return f"api token {self.token_id}" + (f" ({self.name})" if self.name else "")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_token(store: ApiTokens, role: Role, name: str, now: datetime) -> tuple[int, str]:
    """(token id, the token itself): the only moment the token is known."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    token_id = await store.add_api_token(token_hash(token), role.value, name, now)
    return token_id, token


async def authenticate(store: ApiTokens, authorization: str | None) -> Caller | None:
    """The caller of an `Authorization: Bearer <token>` header; None if absent, malformed,
    unknown or revoked."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    found = await store.api_token(token_hash(token))
    if found is None:
        return None
    return Caller(found.id, Role(found.role), found.name)
