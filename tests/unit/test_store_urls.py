"""How a store location is read: which backend a --db value names, and a PostgreSQL URL
as messages show it (never its password)."""

from __future__ import annotations

import pytest

from dialer.store import is_postgres_url, sqlite_location
from dialer.store.postgres.connection import redacted


@pytest.mark.parametrize(
    ("target", "postgres"),
    [
        ("postgresql://dialer@db1/dialer", True),
        ("postgres://u:p@127.0.0.1:5432/x", True),
        ("POSTGRESQL://u@h/x", True),
        ("dialer.db", False),
        ("sqlite:///dialer.db", False),
        ("/srv/postgresql/dialer.db", False),
    ],
)
def test_the_scheme_chooses_the_backend(target: str, postgres: bool) -> None:
    assert is_postgres_url(target) is postgres


def test_the_default_follows_dialer_db(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALER_DB", "postgresql://u@h/x")
    assert is_postgres_url(None)
    monkeypatch.setenv("DIALER_DB", "/srv/dialer.db")
    assert not is_postgres_url(None)
    assert sqlite_location(None) == "/srv/dialer.db"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://dialer:s3cret@db1:5432/dialer", "postgresql://dialer:***@db1:5432/dialer"),
        ("postgresql://dialer@db1/dialer", "postgresql://dialer@db1/dialer"),
        ("postgresql://db1/dialer", "postgresql://db1/dialer"),
        ("postgresql://u:p@ss:w@h/x", "postgresql://u:***@h/x"),
    ],
)
def test_a_url_is_shown_without_its_password(url: str, shown: str) -> None:
    assert redacted(url) == shown
