"""When a campaign hold is free: the pure rule (dialer.policy.campaign_hold)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialer.policy.campaign_hold import HoldStanding, hold_standing, is_free

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(seconds=15)


def test_hold_standing_follows_expiry_and_the_holders_pid_on_its_host() -> None:
    assert hold_standing(None, T0, on_this_host=True, holder_alive=True) is HoldStanding.FREE
    assert hold_standing(LATER, T0, False, True) is HoldStanding.HELD
    assert hold_standing(LATER, LATER, False, True) is HoldStanding.EXPIRED
    assert hold_standing(LATER, T0, True, True) is HoldStanding.HELD
    assert hold_standing(LATER, T0, True, False) is HoldStanding.HOLDER_GONE
    # On its own host a live holder holds on even with a late heartbeat (busy store).
    assert hold_standing(LATER, LATER, True, True) is HoldStanding.HELD
    assert [is_free(s) for s in HoldStanding] == [True, False, True, True]
