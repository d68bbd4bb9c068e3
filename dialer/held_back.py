"""Why a contact that could be dialled is not dialled now: one vocabulary for the lease
gate, `dialer preview`, the live display, `dialer status` and the report.

Plain values, no imports from the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class HeldReason(StrEnum):
    WINDOW_CLOSED = "window_closed"  # outside the calling hours in the callee's local time
    AMBIGUOUS_ZONE = "ambiguous_zone"  # the number maps to several zones, not all are open
    HOLIDAY = "holiday"  # a public holiday or a blackout date in the callee's zone
    DNC = "dnc"  # on the global or the campaign's do-not-call list
    NO_CONSENT = "no_consent"  # the campaign needs consent the contact does not carry
    FREQUENCY_CAP = "frequency_cap"  # per-person attempts/connections across campaigns
    RECALL_HOLD = "recall_hold"  # abandoned (72 h) or answering machine (same day) before
    DEAD = "dead"  # the number is known not to exist
    NOT_YET_DUE = "not_yet_due"  # its retry or callback time has not come


@dataclass(frozen=True)
class Held:
    """A contact held back, and the earliest time the reason could be over (None: not by
    the passing of time, e.g. do-not-call)."""

    reason: HeldReason
    until: datetime | None = None
