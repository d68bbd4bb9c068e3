"""Where the Asterisk link stands reaches the user: the live display of `dialer run` and
`dialer status` (from the runner's saved status) say when dialling waits for Asterisk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.console import Console

from dialer.control.display import _outcome_line
from dialer.control.status import print_status
from dialer.engine.run_snapshot import RunSnapshot
from dialer.outcomes import CampaignState
from dialer.pbx.link_state import LinkState

NOW = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)


def printed_status(
    status: dict[str, object], saved_at: datetime, standing: str = "running (held by h:1)"
) -> str:
    console = Console(record=True, width=200)
    print_status(console, status, saved_at, NOW, standing)
    return console.export_text()


def test_given_asterisk_booting_when_status_printed_then_it_says_dialling_waits() -> None:
    status = {"campaign": "c", "state": "dialing", "link_state": "booting"}
    text = printed_status(status, NOW - timedelta(seconds=1))
    assert "waiting for Asterisk to finish booting" in text


def test_given_asterisk_not_answering_when_status_printed_then_it_says_so() -> None:
    status = {"campaign": "c", "state": "dialing", "link_state": "unresponsive"}
    assert "NOT ANSWERING" in printed_status(status, NOW - timedelta(seconds=1))


def test_given_a_holder_that_died_when_printed_then_no_link_state_is_claimed() -> None:
    status = {"campaign": "c", "state": "dialing", "link_state": "booting"}
    text = printed_status(status, NOW - timedelta(minutes=5), "interrupted: holder died")
    assert "booting" not in text and "interrupted: holder died" in text


def test_given_each_link_state_when_displayed_then_the_live_line_names_it() -> None:
    for state in LinkState:
        snapshot = RunSnapshot("c", state=CampaignState.DIALING, link_state=state)
        assert state.description in _outcome_line(snapshot)
