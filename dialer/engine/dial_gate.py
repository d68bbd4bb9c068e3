"""The runner's pause switch and its live pacing figures.

A paused campaign places no new calls while the calls it has in progress go on and close
normally. The runner asks its pacing how many calls to place; `GatedPacing` answers none
while the gate is closed, so the runner itself needs no notion of pause, and reopening
the gate wakes it at once (`on_change`). `retune` applies new pacing numbers to the
running pacer (the service's live update of a campaign file).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from dialer.campaign.model import Campaign, PacingSettings
from dialer.engine.pacing_control import PacingControl
from dialer.policy.operator_pacer import PowerPacer
from dialer.policy.pacing import FixedPacer
from dialer.policy.predictive import PredictivePacer

PAUSED_RECHECK_S = 1.0  # a paused runner looks again this often (reopening wakes it sooner)


class DialGate:
    """Open: the campaign dials. Closed: it is paused (no new calls)."""

    def __init__(self, is_open: bool = True) -> None:
        self._open = is_open
        self._on_change: list[Callable[[], None]] = []

    @property
    def is_open(self) -> bool:
        return self._open

    def on_change(self, callback: Callable[[], None]) -> None:
        self._on_change.append(callback)

    def close(self) -> None:
        self._set(False)

    def open(self) -> None:
        self._set(True)

    def _set(self, is_open: bool) -> None:
        if is_open == self._open:
            return
        self._open = is_open
        for callback in self._on_change:
            callback()


class GatedPacing(PacingControl):
    """The campaign's pacing, held at zero calls while its gate is closed."""

    def __init__(
        self,
        campaign: Campaign,
        gate: DialGate,
        clock: Callable[[], float] = time.time,
        callers_waiting: Callable[[], int] = lambda: 0,
    ) -> None:
        super().__init__(campaign, clock=clock, callers_waiting=callers_waiting)
        self.gate = gate
        gate.on_change(self._gate_moved)

    def _gate_moved(self) -> None:
        self.on_share_change()  # a paused campaign cedes its part of a shared queue
        self.on_change()  # the runner's wake-up, set after us

    @property
    def dialling(self) -> bool:
        return self.gate.is_open

    def allowance(self, in_flight: int) -> int:
        if not self.gate.is_open:
            if self.trunk is not None:  # wants none: not refused, others may take more
                self.trunk.grant(self.name, in_flight, 0, self.share_weight)
            return 0
        return super().allowance(in_flight)

    def seconds_until_next(self) -> float:
        if not self.gate.is_open:
            return PAUSED_RECHECK_S
        return super().seconds_until_next()

    def status(self) -> dict[str, Any]:
        return {**super().status(), "paused": not self.gate.is_open}

    def retune(self, pacing: PacingSettings) -> None:
        """New channel and rate limits, power ratio and abandon target, for the pacer in
        place: what it learnt (estimates, operators, abandon windows) stays."""
        limiters = [self._limiter]
        operator_pacer = self._operator_pacer
        if operator_pacer is not None and operator_pacer.limiter is not None:
            limiters.append(operator_pacer.limiter)
        for limiter in limiters:
            _retune_limiter(limiter, pacing)
        self.share_weight = pacing.share
        if isinstance(operator_pacer, PowerPacer):
            operator_pacer.ratio = pacing.ratio
        if isinstance(operator_pacer, PredictivePacer):
            operator_pacer.settings = dataclasses.replace(
                operator_pacer.settings, abandon_target=pacing.abandon_target
            )
        self.on_share_change()
        self.on_change()


def _retune_limiter(limiter: FixedPacer, pacing: PacingSettings) -> None:
    limiter.max_channels = pacing.max_channels
    limiter.calls_per_second = pacing.calls_per_second
    limiter._tokens = min(limiter._tokens, limiter.burst)  # a lower rate bursts no higher
