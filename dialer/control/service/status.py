"""A campaign's status as the API returns it: the figures `dialer status` shows (state,
progress, outcomes, link, pacing with dial level and abandon windows), live from the
runner when the service drives the campaign, else as its last run saved them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dialer.control.service.managed import ManagedCampaign
from dialer.control.status import campaign_standing, hold_json
from dialer.engine.run_snapshot import status_of
from dialer.engine.runner import CampaignRunner
from dialer.outcomes import CampaignState
from dialer.regulation import ABANDON_RATE_CAP
from dialer.store import ContactStore
from dialer.store.service_roles import WantedState


def live_figures(runner: CampaignRunner, paused: bool) -> dict[str, Any]:
    """The same keys the runner saves for `dialer status` (run_snapshot.status_of), read
    live, with a paused campaign shown as paused."""
    figures = status_of(runner.snapshot)
    figures["pacing"] = runner.pacing.status()
    due = runner.snapshot.next_due_at
    figures["next_due_at"] = due.isoformat() if due else None
    if paused and runner.snapshot.state is CampaignState.DIALING:
        figures["state"] = "paused"
    else:
        figures["state"] = runner.snapshot.state.value
    return figures


async def campaign_status(
    store: ContactStore,
    name: str,
    managed: ManagedCampaign | None,
    wanted: WantedState | None,
    now: datetime,
) -> dict[str, Any]:
    record = await store.get_campaign(name)
    hold = await store.campaign_hold(record.id) if record is not None else None
    standing = campaign_standing(record.state, hold, now) if record else "new"
    figures: dict[str, Any]
    saved_at: datetime | None
    if managed is not None and managed.driving and managed.runner is not None:
        figures = live_figures(managed.runner, paused=not managed.gate.is_open)
        saved_at = now
    elif record is not None:
        _, figures, saved_at = await store.load_runtime(record.id)
    else:
        figures, saved_at = {}, None
    # Before a run's first saved snapshot (e.g. right after a restart) the stored state
    # stands in, so every answer has a state.
    stored_state = record.state.value if record is not None else "new"
    return {
        "state": stored_state,
        **figures,
        "campaign": name,
        "list": record.list_name if record else (managed.parsed.list if managed else None),
        "version": managed.file.version if managed else await _version(store, name),
        "wanted": wanted.wanted if wanted else None,
        "driven_here": bool(managed and managed.driving),
        "stopping": bool(managed and managed.stopping),
        "error": managed.error if managed else None,
        "standing": standing,
        "saved_at": saved_at.isoformat() if saved_at else None,
        "hold": hold_json(hold),
        "abandon_cap": ABANDON_RATE_CAP,
    }


async def campaign_rows(
    store: ContactStore, managed: dict[str, ManagedCampaign], now: datetime
) -> list[dict[str, Any]]:
    """Every campaign the store or the service knows: the `dialer status` table's rows."""
    wanted = await store.wanted_states()
    records = {r.name: r for r in await store.campaigns()}
    names = sorted(set(records) | set(await store.campaign_file_names()) | set(managed))
    rows = []
    for name in names:
        record = records.get(name)
        live = managed.get(name)
        row: dict[str, Any] = {
            "campaign": name,
            "list": record.list_name if record else (live.parsed.list if live else ""),
            "state": "new",
            "wanted": wanted[name].wanted if name in wanted else None,
            "version": live.file.version if live else await _version(store, name),
            "contacts": 0,
            "final": 0,
            "pending": 0,
            "error": live.error if live else None,
            "next_due_at": None,  # the earliest retry or callback of a pending contact
        }
        if record is not None:
            progress = await store.progress(record.id, now)
            hold = await store.campaign_hold(record.id)
            row["state"] = campaign_standing(record.state, hold, now)
            row.update(contacts=progress.total, final=progress.done, pending=progress.pending)
            due = progress.next_due_at
            row["next_due_at"] = due.isoformat() if due else None
        if live is not None and live.driving and not live.gate.is_open:
            row["state"] += ", paused"
        rows.append(row)
    return rows


async def _version(store: ContactStore, name: str) -> int | None:
    file = await store.campaign_file(name)
    return file.version if file else None
