"""Which node takes an orphaned campaign: the least loaded first, any after the patience."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dialer.policy.campaign_spread import may_take_orphan


def test_the_least_loaded_node_takes_at_once_a_busier_one_waits() -> None:
    assert may_take_orphan(0, [1, 2], orphaned_for_s=0.0, patience_s=10.0)
    assert may_take_orphan(1, [1, 2], orphaned_for_s=0.0, patience_s=10.0)  # a tie: both may
    assert not may_take_orphan(2, [1, 3], orphaned_for_s=9.9, patience_s=10.0)


def test_after_the_patience_any_node_takes_it() -> None:
    assert may_take_orphan(5, [0], orphaned_for_s=10.0, patience_s=10.0)


def test_a_node_alone_takes_every_orphan() -> None:
    assert may_take_orphan(7, [], orphaned_for_s=0.0, patience_s=10.0)


@given(st.lists(st.integers(0, 50), min_size=1, max_size=8))
def test_some_node_of_any_cluster_takes_an_orphan_at_once(loads: list[int]) -> None:
    takers = [
        may_take_orphan(mine, loads[:i] + loads[i + 1 :], orphaned_for_s=0.0, patience_s=10.0)
        for i, mine in enumerate(loads)
    ]
    assert any(takers)
    assert all(t == (loads[i] == min(loads)) for i, t in enumerate(takers))
