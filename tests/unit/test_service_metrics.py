"""The /metrics collector over campaigns as the supervisor holds them: a run that ended
(its last snapshot), a campaign registered but never started."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dialer.control.service.http_metrics import CampaignCollector
from dialer.engine.run_snapshot import RunSnapshot
from dialer.held_back import HeldReason
from dialer.outcomes import CampaignState
from dialer.pbx.link_state import LinkState


def scrape(campaigns: dict[str, Any], agi: int | None = None) -> dict[tuple[str, str], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CampaignCollector(campaigns, lambda: agi))
    text = generate_latest(registry).decode()
    return {
        (s.name, ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def ended(snapshot: RunSnapshot) -> SimpleNamespace:
    return SimpleNamespace(runner=None, last_run=snapshot, driving=False)


def test_a_finished_run_shows_its_held_back_reasons_outcomes_and_link_state() -> None:
    snapshot = RunSnapshot(
        campaign="autumn",
        state=CampaignState.FINISHED,
        originated=7,
        outcomes=Counter({"answered": 5, "busy": 2}),
        held=Counter({HeldReason.DNC.value: 3, HeldReason.WINDOW_CLOSED.value: 11}),
        link_state=LinkState.DOWN,
        pacing={"mode": "progressive", "dial_level": 1.25, "operators": {"available": 2},
                "abandon": {"24h": {"rate": 0.02}, "30d": {"rate": None}}},
    )  # fmt: skip
    figures = scrape({"autumn": ended(snapshot)}, agi=4)

    assert figures["dialer_held_back", "campaign=autumn,reason=dnc"] == 3
    assert figures["dialer_held_back", "campaign=autumn,reason=window_closed"] == 11
    assert figures["dialer_calls_total", "campaign=autumn,outcome=busy"] == 2
    assert figures["dialer_originated_total", "campaign=autumn"] == 7
    assert figures["dialer_ami_link_state", "campaign=autumn,state=down"] == 1
    assert figures["dialer_ami_link_state", "campaign=autumn,state=ready"] == 0
    assert figures["dialer_dial_level", "campaign=autumn"] == 1.25
    assert figures["dialer_operators", "campaign=autumn,state=available"] == 2
    assert figures["dialer_abandon_rate", "campaign=autumn,window=24h"] == 0.02
    # A rate the pacer could not give (None) is left out, not shown as 0.
    assert ("dialer_abandon_rate", "campaign=autumn,window=30d") not in figures
    assert figures["dialer_campaign_driving", "campaign=autumn"] == 0
    assert figures["dialer_fastagi_sessions", ""] == 4


def test_a_campaign_never_started_shows_only_that_it_is_not_driven() -> None:
    figures = scrape({"winter": SimpleNamespace(runner=None, last_run=None, driving=False)})

    assert figures == {("dialer_campaign_driving", "campaign=winter"): 0}
