"""`/metrics` in the Prometheus text format. A custom collector reads every campaign's
runner snapshot and pacer status when Prometheus scrapes: the call path keeps no metric
bookkeeping of its own, and the figures are the ones `dialer status` shows.

Like every path, it needs a token: a viewer token is enough (Prometheus sends it with
`authorization: {credentials_file: ...}` in its scrape config)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from fastapi import Depends, FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dialer.control.service.http_auth import role_check
from dialer.control.service.managed import ManagedCampaign
from dialer.control.service.supervisor import Supervisor
from dialer.control.service.tokens import Caller, Role
from dialer.engine.run_snapshot import RunSnapshot
from dialer.pbx.link_state import LinkState


class CampaignCollector(Collector):
    """Every campaign the service has driven since it started, labelled by campaign: the
    live runner's figures, or how its last run ended. Counters restart with a new run
    of the campaign (Prometheus' rate() takes a reset in its stride)."""

    def __init__(
        self,
        campaigns: Mapping[str, ManagedCampaign],
        agi_sessions: Callable[[], int | None] = lambda: None,
    ) -> None:
        self._campaigns = campaigns
        self._agi_sessions = agi_sessions

    def collect(self) -> Iterator[Metric]:
        calls = CounterMetricFamily(
            "dialer_calls", "Calls closed, by outcome", labels=["campaign", "outcome"]
        )
        originated = CounterMetricFamily(
            "dialer_originated", "Calls originated at the PBX", labels=["campaign"]
        )
        up = GaugeMetricFamily("dialer_calls_up", "Calls in progress", labels=["campaign"])
        abandon = GaugeMetricFamily(
            "dialer_abandon_rate",
            "Abandoned share of live-answered calls, per rolling window",
            labels=["campaign", "window"],
        )
        operators = GaugeMetricFamily(
            "dialer_operators", "Operators of the campaign's queues, by state",
            labels=["campaign", "state"],
        )  # fmt: skip
        dial_level = GaugeMetricFamily(
            "dialer_dial_level", "Calls per operator expected free", labels=["campaign"]
        )
        held = GaugeMetricFamily(
            "dialer_held_back", "Contacts held back by the compliance rules, by reason",
            labels=["campaign", "reason"],
        )  # fmt: skip
        link = GaugeMetricFamily(
            "dialer_ami_link_state", "1 for the AMI link's current state, 0 for the others",
            labels=["campaign", "state"],
        )  # fmt: skip
        driving = GaugeMetricFamily(
            "dialer_campaign_driving", "1 while the service drives the campaign (paused too)",
            labels=["campaign"],
        )  # fmt: skip
        for name, managed in sorted(self._campaigns.items()):
            snapshot = _snapshot_of(managed)
            driving.add_metric([name], 1.0 if managed.driving else 0.0)
            if snapshot is None:
                continue
            for outcome, count in sorted(snapshot.outcomes.items()):
                calls.add_metric([name, outcome], count)
            originated.add_metric([name], snapshot.originated)
            up.add_metric([name], snapshot.in_flight)
            for reason, count in sorted(snapshot.held.items()):
                held.add_metric([name, reason], count)
            for state in LinkState:
                link.add_metric([name, state.value], 1.0 if state is snapshot.link_state else 0.0)
            pacing = _pacing_of(managed, snapshot)
            for window, counts in sorted((pacing.get("abandon") or {}).items()):
                if counts.get("rate") is not None:
                    abandon.add_metric([name, window], counts["rate"])
            for state, count in sorted((pacing.get("operators") or {}).items()):
                operators.add_metric([name, state], count)
            if pacing.get("dial_level") is not None:
                dial_level.add_metric([name], pacing["dial_level"])
        yield from (calls, originated, up, abandon, operators, dial_level, held, link, driving)
        sessions = self._agi_sessions()
        if sessions is not None:
            agi = GaugeMetricFamily("dialer_fastagi_sessions", "FastAGI sessions open")
            agi.add_metric([], sessions)
            yield agi


def _snapshot_of(managed: ManagedCampaign) -> RunSnapshot | None:
    if managed.runner is not None:
        return managed.runner.snapshot
    return managed.last_run


def _pacing_of(managed: ManagedCampaign, snapshot: RunSnapshot) -> dict[str, Any]:
    """The pacer's figures: live while the campaign is driven, else as its run left them."""
    if managed.driving and managed.runner is not None:
        return managed.runner.pacing.status()
    return snapshot.pacing or {}


def metrics_routes(app: FastAPI, supervisor: Supervisor) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CampaignCollector(supervisor.campaigns, supervisor.agi_sessions))
    viewer = Depends(role_check(supervisor.store, Role.VIEWER))

    # async: the snapshots are read on the event loop that mutates them, never in a thread.
    @app.get("/metrics", summary="Prometheus text format (a viewer token may scrape)")
    async def metrics(caller: Caller = viewer) -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
