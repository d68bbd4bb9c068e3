"""An attempt's webhook events are queued in the store transaction that closes it: a
close that fails queues nothing, a queued event always has its closed attempt, and a
`dialer serve` killed with SIGKILL mid-campaign leaves every closed attempt with its
`attempt.finished` row and no row without its closed attempt. Leads and opt-outs raise
their own events, with the contact a CRM needs."""

from __future__ import annotations

import json
import signal
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from dialer.campaign.loader import load_campaign
from dialer.engine.webhook_events import attempt_events
from dialer.outcomes import ContactStatus, Outcome
from dialer.simpbx import SimulatedPbx
from dialer.store.base import NextStep
from dialer.store.outbox_role import NewWebhookEvent
from dialer.store.sqlite import SqliteStore
from tests.integration.service_helpers import api, make_token, start_service, until
from tests.integration.test_cli import seeded_db, write_campaign
from tests.store_cases import FINISHED, T0, done, open_spring, open_test_store

pytestmark = pytest.mark.timeout(180)

EVENTS = ["attempt.finished", "lead.hot", "lead.warm", "contact.opted_out"]


def hook(port: int = 9) -> dict[str, object]:
    return {"url": f"http://127.0.0.1:{port}/h", "events": EVENTS, "secret_env": "HOOK_SECRET"}


def closed_and_queued(db: Path) -> tuple[set[str], set[str]]:
    with sqlite3.connect(db) as conn:
        closed = {r[0] for r in conn.execute("SELECT id FROM attempts WHERE ended_at IS NOT NULL")}
        queued = {
            r[0].split(":", 1)[1]
            for r in conn.execute(
                "SELECT event_id FROM webhook_outbox WHERE kind = 'attempt.finished'"
            )
        }
    return closed, queued


async def test_a_close_that_fails_queues_nothing_and_one_that_succeeds_queues_its_events(
    tmp_path: Path,
) -> None:
    async with open_test_store(tmp_path / "d.db") as store:
        campaign_id = await open_spring(store, count=2)
        first, second = await store.lease_due(campaign_id, T0, 2)
        await store.start_attempt(first, "a-1", T0)
        await store.start_attempt(second, "a-2", T0)
        event = NewWebhookEvent("attempt.finished:a-1", "spring", "attempt.finished",
                                "http://x/h", "S", "{}")  # fmt: skip
        broken = replace(event, body=None)  # type: ignore[arg-type] - the insert fails
        with pytest.raises(sqlite3.IntegrityError):
            await store.finish_attempt(done("a-1", Outcome.BUSY, T0), FINISHED, [broken])
        assert (await store.webhook_backlog()).pending == 0
        [open_one] = [a for a in await store.attempts(campaign_id) if a.attempt_id == "a-1"]
        assert open_one.ended_at is None  # the close was rolled back with its events
        assert await store.finish_attempt(done("a-1", Outcome.BUSY, T0), FINISHED, [event])
        assert not await store.finish_attempt(done("a-1", Outcome.BUSY, T0), FINISHED, [event])
        assert (await store.webhook_backlog()).pending == 1  # closed once, queued once


async def test_leads_and_opt_outs_raise_their_events_with_the_contact(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    campaign = load_campaign(write_campaign(tmp_path / "c.yaml", pbx.port, webhooks=[hook()]))
    async with open_test_store(tmp_path / "d.db") as store:
        campaign_id = await open_spring(store, count=1)
        [lease] = await store.lease_due(campaign_id, T0, 1)
    hot = NextStep(ContactStatus.DONE, set_fields={"temperature": "hot", "disposition": "lead"})
    result = done("a-9", Outcome.TRANSFERRED, T0 + timedelta(seconds=50), answered_at=T0)
    rows = attempt_events(campaign, result, hot, lease)
    assert [r.kind for r in rows] == ["attempt.finished", "lead.hot"]
    body = json.loads(rows[1].body)
    assert body["contact"]["number"] == lease.number and body["contact"]["fields"] == {"i": "0"}
    assert body["lead"]["temperature"] == "hot" and body["id"] == "lead.hot:a-9"
    finished = json.loads(rows[0].body)
    assert "number" not in json.dumps(finished) and finished["outcome"] == "transferred"
    quit_ = NextStep(ContactStatus.DONE, opt_out=True, set_fields={"temperature": "warm"})
    kinds = [r.kind for r in attempt_events(campaign, result, quit_, lease)]
    assert kinds == ["attempt.finished", "lead.warm", "contact.opted_out"]
    no_hooks = campaign.model_copy(update={"webhooks": ()})
    assert attempt_events(no_hooks, result, quit_, lease) == []


async def test_sigkill_mid_campaign_never_splits_a_close_from_its_event(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await seeded_db(tmp_path, 300)
    admin = await make_token(db, "admin")
    path = write_campaign(
        tmp_path / "crm.yaml", pbx.port, name="crm", webhooks=[hook()],
        pacing={"max_channels": 30, "calls_per_second": 50},
    )  # fmt: skip
    service = await start_service(db)
    try:
        await api(service.url, "POST", "/campaigns", admin, {"content": path.read_text()})
        await api(service.url, "POST", "/campaigns/crm/start", admin)
        await until(lambda: len(closed_and_queued(db)[0]) >= 40, timeout=90)
        service.proc.send_signal(signal.SIGKILL)  # calls in flight, closes under way
        await service.proc.wait()
    finally:
        if service.proc.returncode is None:
            await service.stop()
    closed, queued = closed_and_queued(db)
    assert len(closed) >= 40
    assert closed == queued
    async with open_test_store(db) as store:
        assert isinstance(store, SqliteStore)
        assert (await store.webhook_backlog()).pending == len(queued)


async def test_delivery_state_is_visible_in_the_api(
    pbx: SimulatedPbx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    db = await seeded_db(tmp_path, 10)
    admin, viewer = await make_token(db, "admin"), await make_token(db, "viewer")
    down = {**hook(9), "url": "http://user:pw@127.0.0.1:9/h?key=secret"}  # nothing listens
    path = write_campaign(tmp_path / "crm.yaml", pbx.port, name="crm", webhooks=[down])
    service = await start_service(db)
    try:
        await api(service.url, "POST", "/campaigns", admin, {"content": path.read_text()})
        code, state = await api(service.url, "GET", "/campaigns/crm/webhooks", viewer)
        assert code == 200 and state["receivers"] == []  # registered, nothing sent yet
        await api(service.url, "POST", "/campaigns/crm/start", admin)

        async def all_failed_once() -> bool:
            _, state = await api(service.url, "GET", "/campaigns/crm/webhooks", viewer)
            closed = len(closed_and_queued(db)[0])
            found = state["receivers"]
            return bool(closed >= 10 and found and found[0]["failing"] == closed)

        await until(all_failed_once, timeout=90)
        _, state = await api(service.url, "GET", "/campaigns/crm/webhooks", viewer)
        [receiver] = state["receivers"]
        assert receiver["url"] == "http://127.0.0.1:9/h"  # no credentials, no query
        assert receiver["delivered"] == 0 and receiver["next_try_at"] is not None
        error = state["last_errors"][0]
        assert error["event"] == "attempt.finished" and error["tries"] >= 1
        assert "Connect" in error["error"] and error["next_try_at"] > state["at"][:19]
        code, _ = await api(service.url, "GET", "/campaigns/nope/webhooks", viewer)
        assert code == 404
    finally:
        assert await service.stop() == 0


async def test_a_transfer_is_sent_with_its_operator_for_a_fixed_pace_too(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await seeded_db(tmp_path, 20)
    admin = await make_token(db, "admin")
    transfers = {**hook(9), "events": ["call.transferred"]}
    path = write_campaign(
        tmp_path / "crm.yaml", pbx.port, name="crm", webhooks=[transfers],
        pacing={"max_channels": 6, "calls_per_second": 20},  # fixed pace: no operator pacer
    )  # fmt: skip
    service = await start_service(db)
    try:
        await api(service.url, "POST", "/campaigns", admin, {"content": path.read_text()})
        await api(service.url, "POST", "/campaigns/crm/start", admin)

        async def finished() -> bool:
            _, status = await api(service.url, "GET", "/campaigns/crm", admin)
            return bool(status.get("state") == "finished")

        await until(finished, timeout=90)
    finally:
        assert await service.stop() == 0
    with sqlite3.connect(db) as conn:
        transferred = {
            r[0] for r in conn.execute("SELECT id FROM attempts WHERE outcome = 'transferred'")
        }
        bodies = [json.loads(r[0]) for r in conn.execute("SELECT body FROM webhook_outbox")]
    assert transferred, "the simulated operators took no call"
    assert {b["attempt"] for b in bodies} == transferred
    assert all(b["event"] == "call.transferred" and b["operator"] for b in bodies)


async def test_a_keypad_campaign_queues_its_hot_leads_and_opt_outs(tmp_path: Path) -> None:
    from tests.integration.test_ivr_campaigns import example, import_personas, run_with_personas

    personas = {
        "+79120000001": "press:1",  # interested -> hot -> operator
        "+79120000002": "press:2",  # not interested -> cold
        "+79120000003": "press:9",  # stop calling me
    }
    campaign = example(
        "campaign-keypad.yaml", 5038, webhooks=[hook()],
        **{"ivr.steps.offer.timeout": "200ms", "retry.max_attempts": 1},
    )  # fmt: skip
    async with open_test_store(tmp_path / "d.db") as store:
        await import_personas(store, "spring", personas)
        await run_with_personas(store, campaign, personas)  # `dialer run`: no service
    with sqlite3.connect(tmp_path / "d.db") as conn:
        rows = [
            (r[0], json.loads(r[1])) for r in conn.execute("SELECT kind, body FROM webhook_outbox")
        ]
    kinds = sorted(kind for kind, _ in rows)
    assert kinds == ["attempt.finished"] * 3 + ["contact.opted_out", "lead.hot"]
    [hot] = [body for kind, body in rows if kind == "lead.hot"]
    assert hot["contact"]["number"] == "+79120000001" and hot["contact"]["fields"]["amount_due"]
    assert hot["lead"]["disposition"] == "interested"
    [quit_] = [body for kind, body in rows if kind == "contact.opted_out"]
    assert quit_["number"] == "+79120000003"
