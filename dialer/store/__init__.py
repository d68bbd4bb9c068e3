"""The contact base: role interfaces (dialer.store.base), backends chosen by open_store."""

from __future__ import annotations

import os
from pathlib import Path

from dialer.store.base import (
    CampaignHold,
    CampaignLedger,
    ContactBase,
    ContactStore,
    NumberInCall,
    Reports,
    StoreBusy,
    StoreError,
)
from dialer.store.sqlite import SqliteStore

DB_ENV = "DIALER_DB"
DEFAULT_DB = "dialer.db"


def default_db_path() -> str:
    """Where the contact base lives unless told: $DIALER_DB, else ./dialer.db."""
    return os.environ.get(DB_ENV) or DEFAULT_DB


def is_postgres_url(target: str | Path | None) -> bool:
    """Whether `target` (None: default_db_path()) names a PostgreSQL database."""
    location = default_db_path() if target is None else str(target)
    return location.split("://", 1)[0].lower() in ("postgresql", "postgres") and "://" in location


async def open_store(target: str | Path | None = None) -> ContactStore:
    """Open the store named by a file path, a sqlite:/// URL or a postgresql:// URL.

    `sqlite:///relative.db` and `sqlite:////absolute/path.db` follow the SQLAlchemy
    convention; `postgresql://user:password@host:port/database` (or postgres://) opens
    the PostgreSQL backend; None means default_db_path().
    """
    if is_postgres_url(target):
        from dialer.store.postgres import PostgresStore  # asyncpg only when asked for

        return await PostgresStore.open(str(default_db_path() if target is None else target))
    return await SqliteStore.open(sqlite_location(target))


def sqlite_location(target: str | Path | None = None) -> str:
    """The SQLite file (or :memory:) that `open_store(target)` opens."""
    location = default_db_path() if target is None else str(target)
    if "://" in location:
        scheme, _, rest = location.partition("://")
        scheme = scheme.lower()
        if scheme in ("postgresql", "postgres"):
            raise StoreError("this command works on a SQLite file, not a PostgreSQL URL")
        if scheme != "sqlite":
            raise StoreError(
                f"unsupported store URL scheme {scheme!r}: give a file path, sqlite:///path"
                " or postgresql://..."
            )
        # sqlite:///x.db -> rest "/x.db" -> "x.db"; sqlite:////abs -> "/abs"; sqlite:// -> memory
        location = rest[1:] if rest.startswith("/") else rest
        location = location or ":memory:"
    return location


__all__ = [
    "DB_ENV",
    "CampaignHold",
    "CampaignLedger",
    "ContactBase",
    "ContactStore",
    "NumberInCall",
    "Reports",
    "SqliteStore",
    "StoreBusy",
    "StoreError",
    "default_db_path",
    "is_postgres_url",
    "open_store",
    "sqlite_location",
]
