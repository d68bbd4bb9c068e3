"""What `dialer status` says about who drives a campaign, from its stored state and hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialer.control.status import campaign_standing
from dialer.outcomes import CampaignState
from dialer.store.base import CampaignHold

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def hold(seen_ago: float, expires_in: float) -> CampaignHold:
    seen = NOW - timedelta(seconds=seen_ago)
    return CampaignHold(
        "t", "host-b", 42, seen - timedelta(hours=1), seen, NOW + timedelta(seconds=expires_in)
    )


def test_a_live_holder_is_named_with_when_it_was_last_seen() -> None:
    running = CampaignState.RUNNING
    assert campaign_standing(running, hold(2, 13), NOW) == (
        "running (held by host-b:42, last seen 2 s ago)"
    )
    assert campaign_standing(running, hold(12, 3), NOW) == (
        "running (held by host-b:42, last seen 12 s ago; heartbeat late: store busy?)"
    )


def test_a_dead_holder_shows_as_interrupted_never_as_running() -> None:
    assert campaign_standing(CampaignState.RUNNING, hold(16, -1), NOW) == (
        "interrupted: holder died (host-b:42, last seen 16 s ago)"
    )
    assert campaign_standing(CampaignState.RUNNING, None, NOW) == "interrupted: holder died"


def test_without_a_live_holder_the_stored_state_stands() -> None:
    assert campaign_standing(CampaignState.STOPPED, None, NOW) == "stopped"
    assert campaign_standing(CampaignState.FINISHED, hold(30, -15), NOW) == "finished"
    assert campaign_standing(CampaignState.NEW, None, NOW) == "new"
