"""How many calls to place now, for any pacing mode, fed by what the PBX link sees.

Owns the pacer (dialer.policy) and, for the operator-paced modes, the queue tracker
(dialer.pbx.queue_tracker): call milestones and operator changes go in, the allowance
and an inspectable status come out. The clock is wall time (seconds since the epoch):
the abandon ledger's 24 h and 30-day windows must mean the same after a restart.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dialer.campaign.model import AnswerAction, Campaign, PacingMode
from dialer.outcomes import Outcome
from dialer.pbx.link import CallProgress, Progress
from dialer.pbx.queue_tracker import OperatorChange, QueueTracker
from dialer.policy.abandon import AbandonLedger
from dialer.policy.pacing import FixedPacer
from dialer.policy.predictive import (
    OperatorPacer,
    PowerPacer,
    PredictivePacer,
    PredictiveSettings,
    ProgressivePacer,
)


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
    def __init__(self, campaign: Campaign, clock: Callable[[], float] = time.time) -> None:
        pacing = campaign.pacing
        self.mode = pacing.mode
        self._clock = clock
        self._limiter = FixedPacer(pacing.max_channels, pacing.calls_per_second)
        self.queues = campaign_queues(campaign)
        self.tracker = QueueTracker(self.queues) if pacing.operator_paced else None
        self._operator_pacer: OperatorPacer | None = None
        self._build = self._builder(campaign)
        if pacing.operator_paced:
            self._operator_pacer = self._build(None)
        self.on_change: Callable[[], None] = lambda: None  # the runner wakes up

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
            return self._limiter.allowance(now, in_flight)
        assert self.tracker is not None
        self._apply(self.tracker.tick(now), now)
        return self._operator_pacer.allowance(now, in_flight)

    def placed(self, attempt_ids: Iterable[str]) -> None:
        ids = list(attempt_ids)
        if self._operator_pacer is None:
            self._limiter.placed(len(ids))
            return
        now = self._clock()
        for attempt_id in ids:
            self._operator_pacer.call_placed(now, attempt_id)
        self._operator_pacer.placed(len(ids))

    def seconds_until_next(self) -> float:
        pacer = self._operator_pacer or self._limiter
        return pacer.seconds_until_next_token()

    # --- what the PBX link saw ------------------------------------------------------------
    def on_progress(self, progress: CallProgress) -> None:
        pacer = self._operator_pacer
        if pacer is None:
            return
        now = self._clock()
        feed = {
            Progress.ANSWERED: pacer.call_answered,
            Progress.TRANSFER: pacer.call_transfer,
            Progress.CONNECTED: pacer.call_connected,
            Progress.ABANDONED: pacer.call_abandoned,
        }[progress.milestone]
        feed(now, progress.attempt_id)
        self.on_change()

    def on_ended(self, attempt_id: str, outcome: Outcome) -> None:
        pacer = self._operator_pacer
        if pacer is None:
            return
        now = self._clock()
        if not outcome.reached_a_person:
            pacer.call_unanswered(now, attempt_id)
        pacer.call_ended(now, attempt_id)

    def on_queue_event(self, event: Mapping[str, str]) -> None:
        if self.tracker is not None:
            now = self._clock()
            self._apply(self.tracker.apply(event, now), now)

    def load_queues(self, items: Iterable[Mapping[str, str]]) -> None:
        """A fresh QueueStatus (at start, after a reconnect)."""
        if self.tracker is not None:
            self._apply(self.tracker.load_status(items), self._clock())

    def _apply(self, changes: list[OperatorChange], now: float) -> None:
        if self._operator_pacer is None or not changes:
            return
        for change in changes:
            self._operator_pacer.operator_state(now, change.interface, change.after)
        self.on_change()

    # --- status -----------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """JSON-able: what `dialer status` and the progress display show."""
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
            "callers_waiting": self.tracker.callers_waiting() if self.tracker else 0,
        }


def _round(value: float | None) -> float | None:
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return round(value, 4)
