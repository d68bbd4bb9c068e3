"""One Asterisk queue's operators, split among the campaigns of the node that feed it.

The node keeps one `SharedQueue` per queue of each PBX link; it is the link's only
listener for that queue's operators, and it hands each campaign's pacer a view of the
operators limited to its part: every operator is in exactly one campaign's view, so two
pacers never both count the same free operator. How many operators of each state each
campaign sees is pure policy (dialer/policy/queue_shares.py: weights `pacing.share`,
callers already in the queue covered first, a paused campaign ceding its free part).

The views follow the real operators: a change of state reaches the campaign whose view
holds the operator (its pacer learns talk and wrap-up times as usual), then the parts are
rebalanced by moving operators between views, which teaches nothing. Operators that keep
their state stay where they are, so views churn only as much as the split changes.
A campaign that joins gets its part at once, whatever the queue did before.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence

from dialer.engine.pacing_control import PacingControl
from dialer.operators import OperatorChange, OperatorState
from dialer.policy.queue_shares import busy_shares, free_shares

VIEW_STATES = (
    OperatorState.AVAILABLE,
    OperatorState.WRAP_UP,
    OperatorState.ON_CALL,
    OperatorState.PAUSED,
)


class SharedQueue:
    """OperatorListener of one queue: keeps its operators and the campaigns' views."""

    def __init__(self, queue: str, clock: Callable[[], float] = time.time) -> None:
        self.queue = queue
        self._clock = clock  # wall time, like the pacers' (the times an operator's state began)
        self._operators: dict[str, tuple[OperatorState, float]] = {}  # interface -> state, since
        self._campaigns: list[PacingControl] = []
        self._owner: dict[str, PacingControl] = {}  # interface -> the view holding it
        self._turns = itertools.count()
        self._turn = 0

    @property
    def campaigns(self) -> list[PacingControl]:
        return list(self._campaigns)

    def join(self, pacing: PacingControl) -> None:
        if pacing in self._campaigns:
            return
        self._campaigns.append(pacing)
        pacing.on_share_change = self._on_claims
        self._rebalance()

    def leave(self, pacing: PacingControl) -> None:
        """The campaign's run ended: its operators go to the others (it hears no more)."""
        if pacing not in self._campaigns:
            return
        self._campaigns.remove(pacing)
        pacing.on_share_change = lambda: None
        for interface in [i for i, owner in self._owner.items() if owner is pacing]:
            del self._owner[interface]
        self._rebalance()

    # --- OperatorListener ---------------------------------------------------------------
    def operators_changed(self, changes: Sequence[OperatorChange]) -> None:
        now = self._clock()
        for change in changes:
            interface = change.interface
            owner = self._owner.get(interface)
            if change.after is OperatorState.LOGGED_OUT:
                self._operators.pop(interface, None)
                self._owner.pop(interface, None)
            else:
                self._operators[interface] = (change.after, now)
            if owner is not None:
                owner.operator_seen(interface, change.after)
        self._turn = next(self._turns)  # ties of the split rotate as operators change
        self._rebalance()

    def _on_claims(self) -> None:
        """A campaign's calls or its pause changed: the free operators may move."""
        self._rebalance()

    # --- inside -------------------------------------------------------------------------
    def _rebalance(self) -> None:
        campaigns = self._campaigns
        logged_in = len(self._operators)
        for pacing in campaigns:
            pacing.queue_members(self.queue, logged_in)
        if not campaigns:
            return
        claims = [p.share_claim() for p in campaigns]
        index = {id(p): i for i, p in enumerate(campaigns)}
        wanted: dict[str, PacingControl] = {}
        for state in VIEW_STATES:
            members = sorted(i for i, (s, _) in self._operators.items() if s is state)
            if not members:
                continue
            split = free_shares if state is OperatorState.AVAILABLE else busy_shares
            room = split(len(members), claims, self._turn)
            spare = []
            for interface in members:  # an operator stays in its view while there is room
                owner = self._owner.get(interface)
                if owner is not None and room[index[id(owner)]] > 0:
                    room[index[id(owner)]] -= 1
                    wanted[interface] = owner
                else:
                    spare.append(interface)
            takers = (i for i, n in enumerate(room) for _ in range(n))
            for interface, taker in zip(spare, takers, strict=False):
                wanted[interface] = campaigns[taker]
        self._move(wanted)

    def _move(self, wanted: dict[str, PacingControl]) -> None:
        for interface in sorted(set(self._owner) | set(wanted)):
            old, new = self._owner.get(interface), wanted.get(interface)
            if old is new:
                continue
            if old is not None:
                old.operator_moved(interface, None, 0.0)
            if new is not None:
                state, since = self._operators[interface]
                new.operator_moved(interface, state, since)
        self._owner = wanted
