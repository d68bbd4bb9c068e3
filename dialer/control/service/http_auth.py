"""Every request of the API carries `Authorization: Bearer <token>`: 401 without one (or
with a token that is unknown or revoked), 403 when the token's role may not do it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Header, HTTPException

from dialer.control.service.tokens import Caller, Role, authenticate
from dialer.store.service_roles import ApiTokens

WHAT_ROLES_DO = {
    Role.VIEWER: "read figures",
    Role.SUPERVISOR: "steer campaigns or change and check the do-not-call lists",
    Role.ADMIN: "register campaign files, import, export, show or erase contact data",
}


def role_check(tokens: ApiTokens, needed: Role) -> Callable[[str | None], Awaitable[Caller]]:
    """A FastAPI dependency: the caller, if its token's role includes `needed`."""

    async def caller(authorization: str | None = Header(default=None)) -> Caller:
        found = await authenticate(tokens, authorization)
        if found is None:
            raise HTTPException(
                401,
                "a valid API token is needed: Authorization: Bearer <token> "
                "(dialer tokens create --role viewer|supervisor|admin)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not found.role.allows(needed):
            raise HTTPException(
                403,
                f"role {found.role.value} may not {WHAT_ROLES_DO[needed]}: "
                f"this needs a {needed.value} token",
            )
        return found

    return caller
