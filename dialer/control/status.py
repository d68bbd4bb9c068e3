"""`dialer status`: what a campaign is doing now (or did last), from the contact base.

A running `dialer run` saves a status snapshot every two seconds (dialer.engine.runner),
so this works from any terminal, with no connection to the running process. Whether a
process drives the campaign now comes from its hold (renewed every few seconds), not
from the stored state alone: a killed run shows as interrupted, not running forever.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from dialer.control.held_view import held_table
from dialer.engine.campaign_hold import standing_of
from dialer.engine.run_snapshot import held_counts_of
from dialer.outcomes import CampaignState
from dialer.pbx.link_state import LinkState
from dialer.policy.campaign_hold import HEARTBEAT, HoldStanding
from dialer.store.base import CampaignHold


def campaign_standing(stored: CampaignState, hold: CampaignHold | None, now: datetime) -> str:
    """The truth about a campaign: driven now (by whom), or what its last run left."""
    standing = standing_of(hold, now)
    if hold is not None:
        seen = f"{hold.host}:{hold.pid}, last seen {_age(hold.seen_at, now)} ago"
        if standing is HoldStanding.HELD:
            if now - hold.seen_at > 2 * HEARTBEAT:
                # Alive (its pid is there, or the TTL has not run out) but not beating:
                # typically another process sitting on the store's write lock.
                return f"running (held by {seen}; heartbeat late: store busy?)"
            return f"running (held by {seen})"
        if stored is CampaignState.RUNNING:
            return f"interrupted: holder died ({seen})"
    elif stored is CampaignState.RUNNING:
        return "interrupted: holder died"
    return str(stored)


def hold_json(hold: CampaignHold | None) -> dict[str, Any] | None:
    if hold is None:
        return None
    return {
        "host": hold.host,
        "pid": hold.pid,
        "since": hold.since.isoformat(),
        "last_seen": hold.seen_at.isoformat(),
    }


def _age(moment: datetime, now: datetime) -> str:
    return f"{max(0.0, (now - moment).total_seconds()):.0f} s"


def campaigns_table(rows: Sequence[tuple[str, str, str, int, int, int]]) -> Table:
    table = Table(title="Campaigns")
    for column in ("campaign", "list", "state", "contacts", "final", "pending"):
        table.add_column(
            column, justify="right" if column in ("contacts", "final", "pending") else "left"
        )
    for name, list_name, state, total, done, pending in rows:
        table.add_row(name, list_name, state, str(total), str(done), str(pending))
    return table


def print_status(
    console: Console,
    status: dict[str, Any],
    saved_at: datetime | None,
    now: datetime,
    standing: str,
) -> None:
    if saved_at is None:
        console.print(f"{standing}: no status yet, the campaign has not run")
        return
    state = standing
    if standing.startswith("running"):
        state = f"{standing}, {status.get('state', '?')}"
        if status.get("store_waiting"):
            state += f" ({status['store_waiting']})"
    console.print(
        f"[bold]{status.get('campaign')}[/]: {state}, saved {saved_at:%Y-%m-%d %H:%M:%S} UTC; "
        f"{status.get('done', 0)} of {status.get('total', 0)} contacts final, "
        f"{status.get('in_flight', 0)} calls up, {status.get('originated', 0)} originated",
        highlight=False,
    )
    link = status.get("link_state")
    if isinstance(link, str) and link in set(LinkState) and standing.startswith("running"):
        console.print(f"Asterisk link: {LinkState(link).description}", highlight=False)
    pacing = status.get("pacing") or {}
    console.print(pacing_table(pacing))
    warning = no_operators_line(pacing)
    if warning:
        console.print(f"[bold red]{warning}[/]", highlight=False)
    windows = abandon_table(pacing)
    if windows is not None:
        console.print(windows)
    console.print(held_table(held_counts_of(status), "Held back so far (times)", "times"))


def pacing_table(pacing: dict[str, Any]) -> Table:
    table = Table(title="Pacing", min_width=60)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in ("mode", "state", "dial_level", "margin", "abandon_target", "callers_waiting"):
        if pacing.get(key) is not None:
            table.add_row(key.replace("_", " "), _fmt(pacing[key]))
    for key in ("max_channels", "calls_per_second"):
        if key in pacing:
            table.add_row(key.replace("_", " "), _fmt(pacing[key]))
    for group in ("operators", "calls", "estimates"):
        for key, value in (pacing.get(group) or {}).items():
            table.add_row(f"{group}: {key}", _fmt(value))
    return table


def abandon_table(pacing: dict[str, Any]) -> Table | None:
    """Abandoned share of live-answered calls per regulators' window (paced modes)."""
    abandon = pacing.get("abandon") or {}
    if not abandon:
        return None
    table = Table(title="Abandoned calls (regulators' windows)", min_width=60)
    for column in ("window", "live-answered", "abandoned", "rate", "target"):
        table.add_column(column, justify="right")
    target = pacing.get("abandon_target")
    for window, counts in abandon.items():
        table.add_row(
            window,
            str(counts.get("live", 0)),
            str(counts.get("abandoned", 0)),
            f"{100 * (counts.get('rate') or 0):.2f}%",
            f"{100 * target:.1f}%" if target else "",
        )
    return table


def pacing_line(pacing: dict[str, Any] | None) -> str:
    """One line for the live display."""
    if not pacing or "dial_level" not in pacing:
        return ""
    operators = pacing.get("operators") or {}
    abandon = (pacing.get("abandon") or {}).get("24h") or {}
    return (
        f"pacing {pacing.get('mode')} ({pacing.get('state')}), dial level "
        f"{_fmt(pacing.get('dial_level') or 0)}, operators "
        + ", ".join(f"{k} {v}" for k, v in operators.items() if v)
        + f"; abandoned 24h {100 * (abandon.get('rate') or 0):.2f}%"
        f" of {abandon.get('live', 0)} live"
    )


def no_operators_line(pacing: dict[str, Any] | None) -> str:
    """The loud line when a queue the campaign dials for has no operator logged in."""
    empty = (pacing or {}).get("queues_without_operators") or []
    if not empty:
        return ""
    return (
        f"NO OPERATORS logged in to queue {', '.join(empty)}: no calls are placed until one "
        "logs in (after an Asterisk restart: see README, Operators)"
    )


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(value)
