"""`/metrics` of a real `dialer serve` process against the simulated PBX, parsed with
prometheus_client's own text parser; the originate count is checked against the
simulator's record of every Originate it received."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dialer.simpbx import SimulatedPbx
from tests.integration.service_helpers import (
    api,
    make_token,
    originated_by,
    request,
    start_service,
    until,
)
from tests.integration.test_cli import seeded_db, write_campaign

pytestmark = pytest.mark.timeout(180)

CAMPAIGN = "spring-promo"


Scrape = dict[tuple[str, frozenset[tuple[str, str]]], float]


def samples(text: str) -> Scrape:
    """Every sample of a scrape: (name, labels) -> value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(figures: Scrape, name: str, **labels: str) -> float:
    return figures[(name, frozenset({"campaign": CAMPAIGN, **labels}.items()))]


async def scrape(url: str, token: str | None) -> tuple[int, str]:
    return await asyncio.to_thread(request, url, "GET", "/metrics", token)


async def test_metrics_show_a_campaigns_calls_as_the_pbx_counted_them_to_a_viewer_token(
    pbx: SimulatedPbx, tmp_path: Path
) -> None:
    db = await seeded_db(tmp_path, 60)
    admin, supervisor = await make_token(db, "admin"), await make_token(db, "supervisor")
    viewer = await make_token(db, "viewer")
    path = write_campaign(
        tmp_path / "c.yaml", pbx.port,
        pacing={"max_channels": 4, "calls_per_second": 20, "mode": "progressive",
                "compliance_message": "vm-goodbye"},
    )  # fmt: skip
    service = await start_service(db)
    try:
        code, _ = await scrape(service.url, None)
        assert code == 401

        code, answer = await api(
            service.url, "POST", "/campaigns", admin,
            {"content": path.read_text(), "source": str(path)},
        )  # fmt: skip
        assert code == 201, answer
        code, _ = await api(service.url, "POST", f"/campaigns/{CAMPAIGN}/start", supervisor)
        assert code == 200
        await until(lambda: len(originated_by(pbx, CAMPAIGN)) >= 10)

        code, text = await scrape(service.url, viewer)
        assert code == 200, text
        live = samples(text)
        assert value(live, "dialer_campaign_driving") == 1
        assert value(live, "dialer_ami_link_state", state="ready") == 1
        assert value(live, "dialer_ami_link_state", state="down") == 0
        assert value(live, "dialer_originated_total") >= 10
        assert value(live, "dialer_dial_level") >= 0
        assert {"24h", "30d"} <= {
            dict(labels)["window"] for name, labels in live if name == "dialer_abandon_rate"
        }
        assert any(name == "dialer_operators" for name, _ in live)

        async def finished() -> bool:
            _, status = await api(service.url, "GET", f"/campaigns/{CAMPAIGN}", viewer)
            return bool(status["standing"] == "finished" and not status["driven_here"])

        await until(finished, timeout=120)
        code, text = await scrape(service.url, viewer)
        assert code == 200
        done = samples(text)
        # Counted on the PBX side: every Originate the simulator received, no more.
        assert value(done, "dialer_originated_total") == len(originated_by(pbx, CAMPAIGN))
        assert value(done, "dialer_calls_up") == 0
        assert value(done, "dialer_campaign_driving") == 0
        closed = sum(v for (name, _), v in done.items() if name == "dialer_calls_total")
        _, status = await api(service.url, "GET", f"/campaigns/{CAMPAIGN}", viewer)
        assert closed == sum(status["outcomes"].values()) > 0
    finally:
        assert await service.stop() == 0
