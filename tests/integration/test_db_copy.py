"""`dialer db migrate` and `dialer db copy`: a one-node SQLite base, after a real campaign
run, moved to a private PostgreSQL with every table's history, and what is refused."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialer.control.app import run_campaign
from dialer.simpbx import SimulatedPbx
from dialer.store import open_store
from dialer.store.base import CampaignHold, ContactStore
from dialer.store.outbox_role import NewWebhookEvent
from tests.integration.conftest import SECRET, fill_list, make_campaign
from tests.integration.test_cli import run_dialer
from tests.pg_server import PrivatePostgres

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


async def _one_node_base(path: Path, pbx: SimulatedPbx) -> None:
    """A base with something in every table: a campaign run to its end, and the rest."""
    store = await open_store(path)
    try:
        numbers = await fill_list(store, "spring", 60)
        await run_campaign(make_campaign(pbx.port), store, SECRET, asyncio.Event())
        record = await store.get_campaign("spring-promo")
        assert record is not None
        await store.add_do_not_call(["+79990000001"], "cli", T0)
        await store.add_do_not_call(["+79990000002"], "file", T0, campaign="spring-promo")
        await store.erase_person(numbers[5], T0)
        await store.record_audit(T0, "me@host", "contacts.export", "spring", "csv", 60)
        await store.add_campaign_file("spring-promo", "name: spring-promo\n", "/x.yaml", T0, "me")
        await store.set_wanted_state("spring-promo", "paused", T0, "me")
        await store.add_api_token("ab" * 32, "admin", "ops", T0)
        event = NewWebhookEvent("e1", "spring-promo", "lead.hot", "http://x/h", "HOOK", "{}")
        await store.add_webhook_events([event], T0)
        hold = CampaignHold("tok", "host", 1, T0, T0, T0 + timedelta(seconds=15))
        await store.take_hold(record.id, hold, replacing=None)
    finally:
        await store.close()


async def _everything(store: ContactStore) -> dict[str, object]:
    """What the base tells through its roles, for comparing two backends."""
    record = await store.get_campaign("spring-promo")
    assert record is not None
    return {
        "lists": await store.list_names(),
        "contacts": await store.contacts("spring"),
        "campaigns": await store.campaigns(),
        "report": await store.contact_report(record.id),
        "attempts": await store.attempts(record.id),
        "progress": await store.progress(record.id, T0),
        "runtime": await store.load_runtime(record.id),
        "hold": await store.campaign_hold(record.id),
        "dnc": [batch async for batch in store.do_not_call_batches()],
        "dnc_campaign": [batch async for batch in store.do_not_call_batches("spring-promo")],
        "audit": await store.audit_entries(),
        "file": await store.campaign_file("spring-promo"),
        "wanted": await store.wanted_states(),
        "tokens": await store.api_tokens(),
        "outbox": await store.due_webhook_events(T0 + timedelta(days=1), 10),
        "stats": await store.base_stats(),
        "changes": await store.campaign_changes(record.id),
    }


async def test_copy_moves_every_table_and_the_copy_goes_on_from_there(
    tmp_path: Path, pbx: SimulatedPbx, pg_server: PrivatePostgres
) -> None:
    source = tmp_path / "dialer.db"
    await _one_node_base(source, pbx)
    target = pg_server.new_database()

    code, out, err = await run_dialer("db", "copy", f"sqlite:///{source}", target)
    assert code == 0, err
    assert "row counts checked on both sides" in out
    assert "attempts" in out and "campaign_contacts" in out

    before = await open_store(source)
    after = await open_store(target)
    try:
        assert await _everything(after) == await _everything(before)
        # Ids go on past the copied ones: a new import and a new token do not collide.
        await fill_list(after, "autumn", 5)
        assert min(c.id for c in await after.contacts("autumn")) > max(
            c.id for c in await before.contacts("spring")
        )
        assert await after.add_api_token("cd" * 32, "viewer", "", T0) == 2
    finally:
        await before.close()
        await after.close()

    code, _, err = await run_dialer("db", "copy", str(source), target)
    assert code != 0
    assert "is not empty (table lists has rows)" in err
    assert "Traceback" not in err


async def test_copy_refuses_arguments_the_wrong_way_round_and_a_missing_base(
    tmp_path: Path, pg_server: PrivatePostgres
) -> None:
    target = pg_server.new_database()
    code, _, err = await run_dialer("db", "copy", target, str(tmp_path / "x.db"))
    assert code != 0 and "takes a SQLite base then a PostgreSQL URL" in err
    code, _, err = await run_dialer("db", "copy", str(tmp_path / "none.db"), target)
    assert code != 0 and "no SQLite contact base there" in err
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_migrate_brings_a_new_base_to_the_current_schema(
    tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    if kind == "postgresql":
        target = request.getfixturevalue("pg_server").new_database()
    else:
        target = str(tmp_path / "new.db")
    code, out, err = await run_dialer("db", "migrate", "--db", target)
    assert code == 0, err
    assert f"{'PostgreSQL' if kind == 'postgresql' else 'SQLite'} schema at version" in out
    store = await open_store(target)
    assert await store.list_names() == []
    await store.close()


async def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = await run_dialer("db", "migrate", "--db", "postgresql://u:pw@127.0.0.1:1/x")
    assert code != 0
    assert "cannot reach PostgreSQL at postgresql://u:***@127.0.0.1:1/x" in err
    assert "pw" not in err and "Traceback" not in err
