"""What the service (`dialer serve`) keeps in the store: registered campaign files by
version, the state each campaign is wanted in, and the HTTP API's tokens (hashed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

WANTED_STATES = ("running", "paused", "stopped")
TOKEN_ROLES = ("viewer", "supervisor", "admin")


@dataclass(frozen=True)
class CampaignFile:
    """One registered version of a campaign's YAML."""

    name: str
    version: int
    content: str
    source: str  # the path it was read from: relative paths inside resolve from there
    added_at: datetime
    added_by: str


@dataclass(frozen=True)
class WantedState:
    name: str
    wanted: str  # one of WANTED_STATES
    changed_at: datetime
    changed_by: str


@dataclass(frozen=True)
class ApiToken:
    id: int
    role: str  # one of TOKEN_ROLES
    name: str
    created_at: datetime
    revoked_at: datetime | None


class CampaignFiles(Protocol):
    """Campaign files registered with the service, and the state each is wanted in."""

    async def add_campaign_file(
        self, name: str, content: str, source: str, now: datetime, added_by: str
    ) -> int:
        """Keep a new version of the campaign's file; returns its version (1, 2, ...)."""
        ...

    async def campaign_file(self, name: str) -> CampaignFile | None:
        """The latest version, None if never registered."""
        ...

    async def campaign_file_names(self) -> list[str]: ...

    async def set_wanted_state(self, name: str, wanted: str, now: datetime, by: str) -> None: ...

    async def wanted_states(self) -> dict[str, WantedState]: ...


class ApiTokens(Protocol):
    """The HTTP API's tokens: only a hash of each token is kept."""

    async def add_api_token(self, token_hash: str, role: str, name: str, now: datetime) -> int: ...

    async def api_token(self, token_hash: str) -> ApiToken | None:
        """The live (not revoked) token of that hash."""
        ...

    async def api_tokens(self) -> list[ApiToken]: ...

    async def revoke_api_token(self, token_id: int, now: datetime) -> bool:
        """False: no live token of that id."""
        ...
