"""A queue the campaign dials for with no operator logged in is said loudly: in the
pacing status (`dialer status`) and in the live display."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from dialer.campaign.loader import parse_campaign
from dialer.control.display import _outcome_line
from dialer.control.status import no_operators_line, print_status
from dialer.engine.pacing_control import PacingControl
from dialer.engine.run_snapshot import RunSnapshot
from dialer.operators import OperatorChange
from dialer.operators import OperatorState as S
from tests.unit.test_campaign_pacing import BASE


def test_given_a_queue_s_operators_log_out_then_status_and_display_say_it() -> None:
    campaign = parse_campaign(BASE + "pacing: {mode: progressive, compliance_message: id}\n")
    pacing = PacingControl(campaign, clock=lambda: 1000.0)
    assert pacing.status()["queues_without_operators"] == ["ops"]  # nobody logged in yet
    pacing.operators_changed([OperatorChange("OPS", "SIP/1", "Ann", None, S.AVAILABLE)])
    pacing.operators_changed([OperatorChange("ops", "SIP/2", "Bob", None, S.PAUSED)])
    assert pacing.status()["queues_without_operators"] == []
    assert no_operators_line(pacing.status()) == ""
    pacing.operators_changed(
        [
            OperatorChange("ops", "SIP/1", "Ann", S.AVAILABLE, S.LOGGED_OUT),
            OperatorChange("ops", "SIP/2", "Bob", S.PAUSED, S.LOGGED_OUT),
        ]
    )
    status = pacing.status()
    assert status["queues_without_operators"] == ["ops"]
    assert status["operators"]["available"] == 0

    line = _outcome_line(RunSnapshot("c", pacing=status))
    assert "NO OPERATORS logged in to queue ops" in line


def test_given_a_saved_status_with_an_empty_queue_then_dialer_status_prints_the_warning() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    status = {"campaign": "c", "state": "dialing", "pacing": {"mode": "progressive",
              "dial_level": 0.0, "queues_without_operators": ["ops"]}}  # fmt: skip
    out = io.StringIO()
    print_status(Console(file=out, width=200), status, now, now, "running (held by h:1)")
    assert "NO OPERATORS logged in to queue ops" in out.getvalue()
