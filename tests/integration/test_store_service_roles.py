"""What the service keeps in a real base (a SQLite file, a private PostgreSQL): campaign
files by version, wanted states, and API tokens of which only the hash is stored."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialer.control.service.tokens import Role, authenticate, create_token
from dialer.store import StoreError, open_store

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.store_backends
async def test_campaign_files_are_versioned_and_wanted_states_kept(store_url: str) -> None:
    store = await open_store(store_url)
    try:
        assert await store.add_campaign_file("a", "v1", "/x/a.yaml", NOW, "me") == 1
        assert await store.add_campaign_file("a", "v2", "/x/a.yaml", NOW, "me") == 2
        assert await store.add_campaign_file("b", "b1", "", NOW, "me") == 1
        latest = await store.campaign_file("a")
        assert latest is not None and (latest.version, latest.content) == (2, "v2")
        assert await store.campaign_file("nope") is None
        assert await store.campaign_file_names() == ["a", "b"]
        await store.set_wanted_state("a", "running", NOW, "me")
        await store.set_wanted_state("a", "paused", NOW, "token 3")
        wanted = await store.wanted_states()
        assert (wanted["a"].wanted, wanted["a"].changed_by) == ("paused", "token 3")
        with pytest.raises(StoreError):
            await store.set_wanted_state("a", "dancing", NOW, "me")
    finally:
        await store.close()


async def test_only_a_hash_of_each_token_is_stored_and_a_revoked_one_stops_working(
    tmp_path: Path,
) -> None:
    db = tmp_path / "d.db"
    store = await open_store(db)
    try:
        token_id, token = await create_token(store, Role.SUPERVISOR, "wall screen", NOW)
        caller = await authenticate(store, f"Bearer {token}")
        assert caller is not None and caller.role is Role.SUPERVISOR
        assert caller.actor == f"api token {token_id} (wall screen)"
        assert await authenticate(store, f"Bearer {token}x") is None
        assert await authenticate(store, f"Basic {token}") is None
        assert await authenticate(store, None) is None
        raw = db.read_bytes() + (tmp_path / "d.db-wal").read_bytes()
        assert token.encode() not in raw
        assert token[4:].encode() not in raw
        assert await store.revoke_api_token(token_id, NOW)
        assert not await store.revoke_api_token(token_id, NOW)
        assert await authenticate(store, f"Bearer {token}") is None
    finally:
        await store.close()
    with sqlite3.connect(db) as conn:
        (stored,) = conn.execute("SELECT token_hash FROM api_tokens").fetchone()
    assert len(stored) == 64 and stored != token
