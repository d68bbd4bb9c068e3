"""What a running campaign shows: the snapshot the runner keeps current, and its stored
form (`dialer status` in another process, and the held-back counts a restarted run
goes on from)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialer.held_back import HeldReason
from dialer.outcomes import CampaignState
from dialer.pbx.link_state import LinkState


@dataclass
class RunSnapshot:
    """What a progress display shows. Mutated by the runner; read by the CLI."""

    campaign: str
    state: CampaignState = CampaignState.STARTING
    total: int = 0
    done: int = 0
    pending: int = 0
    in_flight: int = 0
    originated: int = 0
    closed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    next_due_at: datetime | None = None
    link_ready: bool = False
    link_state: LinkState = LinkState.CONNECTING
    pacing: dict[str, Any] | None = None  # the pacer's status (mode, dial level, abandon)
    store_waiting: str | None = None  # a store hiccup being waited out, e.g. "store busy"
    held: Counter[str] = field(default_factory=Counter)  # contacts held back, by reason


def status_of(s: RunSnapshot) -> dict[str, Any]:
    return {
        "campaign": s.campaign,
        "state": s.state,
        "total": s.total,
        "done": s.done,
        "pending": s.pending,
        "in_flight": s.in_flight,
        "originated": s.originated,
        "attempts_closed": s.closed,
        "outcomes": dict(s.outcomes),
        "link_ready": s.link_ready,
        "link_state": s.link_state.value,
        "pacing": s.pacing,
        "store_waiting": s.store_waiting,
        "held": dict(s.held),
    }


def held_counts_of(status: dict[str, object]) -> dict[str, int]:
    """The held-back counts of a stored status; what is not a known reason with a count
    (an older or damaged status) is left out."""
    held = status.get("held")
    if not isinstance(held, dict):
        return {}
    known = {reason.value for reason in HeldReason}
    return {str(k): v for k, v in held.items() if k in known and isinstance(v, int) and v >= 0}
