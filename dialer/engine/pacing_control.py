"""How many calls to place now, for any pacing mode, fed by what the PBX link sees.

Owns the pacer (dialer.policy). Call milestones and operator changes, as the PBX link
reports them, go in; the allowance and an inspectable status come out. The clock is
wall time (seconds since the epoch): the abandon ledger's 24 h and 30-day windows must
mean the same after a restart.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dialer.campaign.model import AnswerAction, Campaign, PacingMode
from dialer.operators import OperatorChange, OperatorState
from dialer.outcomes import Outcome
from dialer.pbx.events import CallMilestone, Milestone
from dialer.policy.abandon import AbandonLedger
from dialer.policy.operator_pacer import OperatorPacer, PowerPacer, ProgressivePacer, Stage
from dialer.policy.pacing import FixedPacer
from dialer.policy.predictive import PredictivePacer, PredictiveSettings
from dialer.policy.queue_shares import ShareClaim

if TYPE_CHECKING:
    from dialer.engine.trunk_share import SharedTrunk


TRUNK_RECHECK_S = 0.5  # refused by a shared trunk: look again this often at the latest


def campaign_queues(campaign: Campaign) -> set[str]:
    """The Asterisk queues a campaign hands its calls to."""
    queues = set()
    if campaign.on_answer.action is AnswerAction.PLAY_AND_QUEUE and campaign.on_answer.queue:
        queues.add(campaign.on_answer.queue)
    if campaign.ivr is not None:
        for step in campaign.ivr.steps.values():
            queue = getattr(step, "queue", None)
            if getattr(step, "kind", "") == "transfer" and queue:
                queues.add(queue)
    return queues


class PacingControl:
    def __init__(
        self,
        campaign: Campaign,
        clock: Callable[[], float] = time.time,
        callers_waiting: Callable[[], int] = lambda: 0,
    ) -> None:
        pacing = campaign.pacing
        self.mode = pacing.mode
        self._clock = clock
        self._callers_waiting = callers_waiting  # in the campaign's queues, for the status
        self._limiter = FixedPacer(pacing.max_channels, pacing.calls_per_second)
        # The queues whose operators the pacer dials for (none for a fixed pace).
        self.queues = campaign_queues(campaign) if pacing.operator_paced else set()
        # Logged-in operators per queue (lower-case name): a queue with none stops the
        # pacer, and the status says so (after an Asterisk restart that forgot them).
        self._logged_in: dict[str, set[str]] = {q.lower(): set() for q in self.queues}
        self._operator_pacer: OperatorPacer | None = None
        self._build = self._builder(campaign)
        if pacing.operator_paced:
            self._operator_pacer = self._build(None)
        self.on_change: Callable[[], None] = lambda: None  # the runner wakes up
        # Sharing with other campaigns of the node: the queues' operators
        # (engine/queue_share.py) and the trunk's channels (engine/trunk_share.py).
        self.name = campaign.name
        self.share_weight = pacing.share
        self.on_share_change: Callable[[], None] = lambda: None  # shared queues rebalance
        self._members_of: dict[str, int] = {}  # logged-in operators per shared queue
        self.trunk: SharedTrunk | None = None
        self._granted = 0  # trunk channels granted by the last allowance
        self._trunk_bound = False  # the trunk granted less than the pacer wanted

    @staticmethod
    def _builder(campaign: Campaign) -> Callable[[AbandonLedger | None], OperatorPacer]:
        pacing = campaign.pacing
        connect_s = pacing.connect_limit.total_seconds()
        ring_s = campaign.dial.ring_timeout.total_seconds()

        def build(ledger: AbandonLedger | None) -> OperatorPacer:
            limiter = FixedPacer(pacing.max_channels, pacing.calls_per_second)
            common: dict[str, Any] = {
                "limiter": limiter,
                "ledger": ledger,
                "connect_limit_s": connect_s,
                "ring_timeout_s": ring_s,
            }
            if pacing.mode is PacingMode.PROGRESSIVE:
                return ProgressivePacer(**common)
            if pacing.mode is PacingMode.POWER:
                return PowerPacer(pacing.ratio, **common)
            settings = PredictiveSettings(
                abandon_target=pacing.abandon_target, connect_limit_s=connect_s
            )
            del common["connect_limit_s"]  # the predictive pacer takes it from its settings
            return PredictivePacer(settings, **common)

        return build

    @property
    def operator_paced(self) -> bool:
        return self._operator_pacer is not None

    def restore(self, ledger: Mapping[str, Any]) -> None:
        """Continue the abandon windows of an earlier run. Swapped in place: the pacer
        already knows the operators from the first QueueStatus."""
        if self._operator_pacer is not None and ledger:
            self._operator_pacer.ledger = AbandonLedger.from_dict(dict(ledger))

    def ledger(self) -> dict[str, Any]:
        return self._operator_pacer.ledger.to_dict() if self._operator_pacer else {}

    # --- the runner's questions -----------------------------------------------------------
    def allowance(self, in_flight: int) -> int:
        now = self._clock()
        if self._operator_pacer is None:
            wanted = self._limiter.allowance(now, in_flight)
        else:
            wanted = self._operator_pacer.allowance(now, in_flight)
        if self.trunk is None:
            return wanted
        self._granted = self.trunk.grant(self.name, in_flight, wanted, self.share_weight)
        self._trunk_bound = self._granted < wanted
        return self._granted

    def placed(self, attempt_ids: Iterable[str]) -> None:
        ids = list(attempt_ids)
        if self.trunk is not None:
            self.trunk.unused(self.name, self._granted - len(ids))
            self._granted = 0
        self._placed(ids)
        if ids:
            self.on_share_change()

    def _placed(self, ids: list[str]) -> None:
        if self._operator_pacer is None:
            self._limiter.placed(len(ids))
            return
        now = self._clock()
        for attempt_id in ids:
            self._operator_pacer.call_placed(now, attempt_id)
        self._operator_pacer.placed(len(ids))

    def seconds_until_next(self) -> float:
        if self._trunk_bound:  # a channel freed on the trunk wakes the runner sooner
            return TRUNK_RECHECK_S
        pacer = self._operator_pacer or self._limiter
        return pacer.seconds_until_next_token()

    # --- what the PBX link saw ------------------------------------------------------------
    def on_milestone(self, event: CallMilestone) -> None:
        pacer = self._operator_pacer
        if pacer is None:
            return
        now = self._clock()
        feed = {
            Milestone.ANSWERED: pacer.call_answered,
            Milestone.TRANSFER: pacer.call_transfer,
            Milestone.CONNECTED: pacer.call_connected,
            Milestone.ABANDONED: pacer.call_abandoned,
        }[event.milestone]
        feed(now, event.attempt_id)
        if event.milestone is not Milestone.ANSWERED:  # the callers in the queue changed
            self.on_share_change()
        self.on_change()

    def on_ended(self, attempt_id: str, outcome: Outcome) -> None:
        if self.trunk is not None:
            self.trunk.ended(self.name)
        pacer = self._operator_pacer
        if pacer is None:
            return
        now = self._clock()
        if outcome is Outcome.PBX_FAILURE:
            pacer.call_cut(now, attempt_id)
            return
        if outcome is Outcome.ABANDONED:
            pacer.adopted_call_abandoned(now, attempt_id)
        if not outcome.reached_a_person:
            pacer.call_unanswered(now, attempt_id)
        pacer.call_ended(now, attempt_id)
        self.on_share_change()

    def operators_changed(self, changes: Sequence[OperatorChange]) -> None:
        """OperatorListener: operators of the campaign's queues changed state."""
        pacer = self._operator_pacer
        if pacer is None or not changes:
            return
        now = self._clock()
        for change in changes:
            pacer.operator_state(now, change.interface, change.after)
            members = self._logged_in.setdefault(change.queue.lower(), set())
            if change.after is OperatorState.LOGGED_OUT:
                members.discard(change.interface)
            else:
                members.add(change.interface)
        self.on_change()

    def queues_without_operators(self) -> list[str]:
        """The campaign's queues with no operator logged in (the pacer dials for none)."""
        return sorted(
            q
            for q in self.queues
            if not (self._logged_in.get(q.lower()) or self._members_of.get(q.lower()))
        )

    # --- a queue shared with other campaigns (engine/queue_share.py) ------------------
    @property
    def dialling(self) -> bool:
        """False while the campaign places no new calls (paused): it cedes its part."""
        return True

    def share_claim(self) -> ShareClaim:
        pacer = self._operator_pacer
        if pacer is None:
            return ShareClaim(self.share_weight, dialling=self.dialling)
        queued = pacer.calls(Stage.QUEUED)
        return ShareClaim(self.share_weight, queued, pacer.waiting_for_operator, self.dialling)

    def operator_seen(self, interface: str, state: OperatorState) -> None:
        """One of the operators of this campaign's part changed state."""
        if self._operator_pacer is not None:
            self._operator_pacer.operator_state(self._clock(), interface, state)
            self.on_change()

    def operator_moved(self, interface: str, state: OperatorState | None, since: float) -> None:
        """An operator joins this campaign's part of a shared queue (or leaves it)."""
        if self._operator_pacer is not None:
            self._operator_pacer.operator_moved(interface, state, since)
            self.on_change()

    def queue_members(self, queue: str, logged_in: int) -> None:
        """Operators logged in to a shared queue, all parts together (for the status)."""
        self._members_of[queue.lower()] = logged_in

    # --- status -----------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """JSON-able: what `dialer status` and the progress display show."""
        figures = self._status()
        if self.trunk is not None:
            figures["trunk"] = {
                "name": self.trunk.name,
                "max_channels": self.trunk.limit,
                "in_flight": self.trunk.in_flight,  # every campaign's calls through it
            }
        return figures

    def _status(self) -> dict[str, Any]:
        if self._operator_pacer is None:
            pacing = self._limiter
            return {
                "mode": self.mode.value,
                "max_channels": pacing.max_channels,
                "calls_per_second": pacing.calls_per_second,
            }
        snap = self._operator_pacer.snapshot(self._clock())
        return {
            "mode": snap.mode,
            "state": snap.state,
            "dial_level": _round(snap.dial_level),
            "margin": _round(snap.margin),
            "abandon_target": snap.abandon_target,
            "operators": snap.operators,
            "calls": snap.calls,
            "estimates": {k: _round(v) for k, v in snap.estimates.items()},
            "abandon": {
                window: {
                    "live": counts.live,
                    "abandoned": counts.abandoned,
                    "rate": _round(counts.rate),
                }
                for window, counts in snap.abandon.items()
            },
            "callers_waiting": self._callers_waiting(),
            "queues_without_operators": self.queues_without_operators(),
        }


def _round(value: float | None) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return round(value, 4)
