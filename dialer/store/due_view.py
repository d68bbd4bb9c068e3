"""Where one contact of a list stands in a campaign: the record `dialer preview` reads
(Reports.due_view_batches)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from dialer.outcomes import ContactStatus


@dataclass(frozen=True)
class DueView:
    """Where one contact of a list stands in a campaign, for `dialer preview`."""

    contact_id: int
    number: str
    timezone: str | None
    fields: Mapping[str, str]
    dead: bool
    status: ContactStatus | None  # None: not enrolled in the campaign yet
    next_due_at: datetime | None
    # Done with no outcome of a call: retired by a rule (do-not-call, no consent), not
    # reached; preview counts it by that rule.
    retired: bool = False
