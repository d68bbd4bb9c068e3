"""How often one person may be called, across every campaign. Pure: no I/O.

The caps are rolling windows (24 h, 7 days, 30 days) ending at `now`: stricter than
calendar days near midnight, and the same for every callee whatever their zone. A call
counts in a window while `now - started_at < window`; it leaves the window at
`started_at + window`. Calls still open count as attempts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import cached_property

from dialer.call_history import PastCall
from dialer.held_back import Held, HeldReason

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
MONTH = timedelta(days=30)
# The callee-local day began at most this long ago (a day is 25 h when clocks go back).
_LOCAL_DAY_LOOKBACK = timedelta(hours=26)


@dataclass(frozen=True)
class FrequencyCaps:
    """None: no cap of that kind."""

    attempts_per_day: int | None = None
    attempts_per_week: int | None = None
    attempts_per_month: int | None = None
    connected_per_day: int | None = None
    connected_per_week: int | None = None
    connected_per_month: int | None = None
    # No recall of a number whose call was abandoned within this, unless an operator is
    # guaranteed (Ofcom: 72 h). None: no such rule.
    abandoned_recall_hold: timedelta | None = None
    # No recall on the same (callee-local) day after AMD said machine, unless an operator
    # is guaranteed (Ofcom).
    no_same_day_machine_recall: bool = False

    @property
    def lookback(self) -> timedelta | None:
        """How far back a person's history matters to these rules (the `since` to read it
        from is now minus this); None: no rule is set, no history needs reading."""
        spans = [window for window, _, _ in self._caps]
        if self.abandoned_recall_hold is not None:
            spans.append(self.abandoned_recall_hold)
        if self.no_same_day_machine_recall:
            spans.append(_LOCAL_DAY_LOOKBACK)
        return max(spans, default=None)

    # Worked out once per caps: the verdict runs for every contact leased.
    @cached_property
    def _caps(self) -> tuple[tuple[timedelta, bool, int], ...]:
        """(window, connected calls only, cap) for every cap that is set."""
        every = (
            (DAY, False, self.attempts_per_day),
            (WEEK, False, self.attempts_per_week),
            (MONTH, False, self.attempts_per_month),
            (DAY, True, self.connected_per_day),
            (WEEK, True, self.connected_per_week),
            (MONTH, True, self.connected_per_month),
        )
        return tuple(
            (window, connected, cap) for window, connected, cap in every if cap is not None
        )

    @cached_property
    def _cap_of_zero(self) -> bool:
        """A cap of 0: held even with no call at all."""
        return any(cap <= 0 for _, _, cap in self._caps)


def frequency_verdict(
    caps: FrequencyCaps,
    history: Sequence[PastCall],
    now: datetime,
    zone: tzinfo | None,
    operator_guaranteed: bool,
) -> Held | None:
    """Whether one more call to this person now breaks a cap or a recall rule.

    `history` is the person's calls across every campaign (any order; calls older than
    `caps.lookback` may be left out). `zone` is the callee's, for the same-day rule (None:
    the UTC day). None: the call may be placed, and it keeps every cap, counting itself
    (as connected, since it may be). Otherwise the rule that holds the longest, with the
    earliest time it could be over (None: never by the passing of time, a cap of 0).
    An operator guaranteed lifts the recall rules, never the caps.
    """
    if not history and not caps._cap_of_zero:
        return None  # most people: nobody called them lately
    found: list[Held] = []
    for window, connected, cap in caps._caps:
        since = now - window
        counted = [
            call.started_at
            for call in history
            if call.started_at > since and (call.connected or not connected)
        ]
        if len(counted) < cap:
            continue
        if cap <= 0:
            found.append(Held(HeldReason.FREQUENCY_CAP))
            continue
        # Under the cap again once all but cap - 1 of the counted calls have left the window.
        counted.sort()
        found.append(Held(HeldReason.FREQUENCY_CAP, counted[len(counted) - cap] + window))
    if not operator_guaranteed:
        hold = caps.abandoned_recall_hold
        if hold is not None:
            _add_abandon_hold(found, hold, history, now)
        if caps.no_same_day_machine_recall:
            _add_machine_hold(found, history, now, zone)
    if not found:
        return None
    if len(found) == 1:
        return found[0]
    # Not callable before every rule is over: the latest end, "never" latest of all.
    return max(found, key=lambda held: (held.until is None, held.until or now))


def _add_abandon_hold(
    found: list[Held], hold: timedelta, history: Sequence[PastCall], now: datetime
) -> None:
    ends = [(call.ended_at or call.started_at) + hold for call in history if call.abandoned]
    if ends and max(ends) > now:
        found.append(Held(HeldReason.RECALL_HOLD, max(ends)))


def _add_machine_hold(
    found: list[Held], history: Sequence[PastCall], now: datetime, zone: tzinfo | None
) -> None:
    machines = [call.started_at for call in history if call.machine]
    if not machines:
        return
    local = zone or UTC
    today = now.astimezone(local).date()
    if all(started.astimezone(local).date() != today for started in machines):
        return
    # Midnight that does not exist (a zone that springs forward at 00:00) resolves to the
    # instant the clocks jump, which is the start of the next day all the same.
    midnight = datetime.combine(today + timedelta(days=1), time(0), tzinfo=local)
    found.append(Held(HeldReason.RECALL_HOLD, midnight.astimezone(UTC)))
