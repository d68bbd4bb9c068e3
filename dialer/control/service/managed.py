"""One campaign of the service: its registered file, its pause switch, its stop event,
and the task that drives it (a `CampaignRunner` built by the node)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from dialer.campaign.model import Campaign
from dialer.engine.dial_gate import DialGate, GatedPacing
from dialer.engine.run_snapshot import RunSnapshot
from dialer.engine.runner import CampaignRunner
from dialer.store.service_roles import CampaignFile


@dataclass
class ManagedCampaign:
    file: CampaignFile
    parsed: Campaign
    gate: DialGate = field(default_factory=DialGate)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    runner: CampaignRunner | None = None
    last_run: RunSnapshot | None = None  # how the last run ended
    error: str | None = None  # why the last start or run failed

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def driving(self) -> bool:
        """A task drives the campaign now (dialling, paused, or draining to a stop)."""
        return self.task is not None and not self.task.done()

    @property
    def stopping(self) -> bool:
        return self.driving and self.stop.is_set()

    # --- LiveCampaign (dialer.engine.live_changes) ---------------------------------------
    @property
    def campaign(self) -> Campaign:
        return self.parsed

    @campaign.setter
    def campaign(self, new: Campaign) -> None:
        self.parsed = new
        if self.runner is not None:
            self.runner.campaign = new

    def retune(self, new: Campaign) -> None:
        if self.runner is not None and isinstance(self.runner.pacing, GatedPacing):
            self.runner.pacing.retune(new.pacing)
