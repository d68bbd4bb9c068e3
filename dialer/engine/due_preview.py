"""What a campaign would call at a given moment, and why the rest would not: the lease
gate's rules run over the whole list without leasing or dialling anything."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from dialer.engine.compliance_gate import Callee, ComplianceGate
from dialer.held_back import Held, HeldReason
from dialer.outcomes import ContactStatus
from dialer.store.due_view import DueView

# A reason that no passing of time ends is counted before "not yet due": a do-not-call
# number due tomorrow is held by do-not-call, not by its retry time.
_LASTING = frozenset({HeldReason.DEAD, HeldReason.DNC, HeldReason.NO_CONSENT})


@dataclass
class DuePreview:
    at: datetime
    due: int = 0
    held: Counter[str] = field(default_factory=Counter)
    final: int = 0  # already done in this campaign
    in_call: int = 0  # leased or in a call right now

    @property
    def total(self) -> int:
        return self.due + sum(self.held.values()) + self.final + self.in_call

    def as_json(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "due": self.due,
            "held": {reason.value: self.held.get(reason.value, 0) for reason in HeldReason},
            "final": self.final,
            "in_call": self.in_call,
            "total": self.total,
        }


def classify(view: DueView, held: Held | None, at: datetime) -> HeldReason | None:
    """The reason a contact not yet final is not dialled at `at` (None: it would be)."""
    if held is not None and held.reason in _LASTING:
        return held.reason
    if view.next_due_at is not None and view.next_due_at > at:
        return HeldReason.NOT_YET_DUE
    return held.reason if held is not None else None


async def preview_due(
    gate: ComplianceGate, views: AsyncIterator[list[DueView]], at: datetime
) -> DuePreview:
    """`views`: the store's due_view_batches(...) of the campaign's list."""
    counts = DuePreview(at)
    async for batch in views:
        open_views = []
        for view in batch:
            if view.status is ContactStatus.DONE and not view.retired:
                counts.final += 1
            elif view.status is ContactStatus.DIALING:
                counts.in_call += 1
            else:
                open_views.append(view)
        callees = [Callee(v.number, v.timezone, v.fields, v.dead) for v in open_views]
        verdicts = await gate.verdicts(callees, at)
        for view, held in zip(open_views, verdicts, strict=True):
            reason = classify(view, held, at)
            if view.retired and (reason is None or reason is HeldReason.NOT_YET_DUE):
                counts.final += 1  # retired by a rule that no longer holds it
            elif reason is None:
                counts.due += 1
            else:
                counts.held[reason.value] += 1
    return counts
