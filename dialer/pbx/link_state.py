"""Where the PBX link stands, as the engine and the displays show it."""

from __future__ import annotations

from enum import StrEnum


class LinkState(StrEnum):
    CONNECTING = "connecting"
    BOOTING = "booting"  # logged in, Asterisk not fully booted: no dialplan yet
    RECONCILING = "reconciling"  # (re)connected, checking the calls in flight
    READY = "ready"
    UNRESPONSIVE = "unresponsive"  # connected, but actions go unanswered
    SHUTTING_DOWN = "shutting_down"  # Asterisk refuses new calls until it is back
    DOWN = "down"  # lost, reconnecting

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    LinkState.CONNECTING: "AMI connecting",
    LinkState.BOOTING: "AMI up, waiting for Asterisk to finish booting (FullyBooted)",
    LinkState.RECONCILING: "AMI up, checking calls in flight",
    LinkState.READY: "AMI up",
    LinkState.UNRESPONSIVE: "Asterisk NOT ANSWERING AMI actions (dialling paused)",
    LinkState.SHUTTING_DOWN: "Asterisk shutting down or restarting (dialling paused)",
    LinkState.DOWN: "AMI DOWN (reconnecting)",
}
