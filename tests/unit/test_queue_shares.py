"""The split of one queue's operators among the campaigns feeding it, and the count of a
shared trunk's channels (pure policy), checked over many inputs with hypothesis."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dialer.policy.queue_shares import ShareClaim, busy_shares, free_shares, split_by_weight
from dialer.policy.trunk_channels import fair_part, trunk_grant

weights = st.floats(min_value=0.01, max_value=1000.0, allow_nan=False)
claims = st.lists(
    st.builds(
        ShareClaim,
        weight=weights,
        queued=st.integers(0, 30),
        waiting=st.integers(0, 60),
        dialling=st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


@given(st.integers(0, 500), claims, st.integers(0, 100))
def test_free_shares_never_sum_above_the_operators(
    free: int, cs: list[ShareClaim], turn: int
) -> None:
    shares = free_shares(free, cs, turn)
    assert len(shares) == len(cs)
    assert all(s >= 0 for s in shares)
    assert sum(shares) <= free
    if any(c.weight > 0 for c in cs):
        assert sum(shares) == free  # and none is left out of every view


@given(st.integers(0, 500), claims, st.integers(0, 100))
def test_busy_shares_never_sum_above_the_operators(
    busy: int, cs: list[ShareClaim], turn: int
) -> None:
    shares = busy_shares(busy, cs, turn)
    assert all(s >= 0 for s in shares) and sum(shares) == busy


@given(st.integers(0, 500), claims, st.integers(0, 100))
def test_callers_already_in_the_queue_are_covered_first(
    free: int, cs: list[ShareClaim], turn: int
) -> None:
    shares = free_shares(free, cs, turn)
    if sum(c.queued for c in cs) <= free:
        assert all(s >= c.queued for s, c in zip(shares, cs, strict=True))
    else:  # not enough for every caller: nobody gets more than its callers
        assert all(s <= c.queued for s, c in zip(shares, cs, strict=True))


@given(st.integers(0, 500), claims, st.integers(0, 100))
def test_a_paused_campaign_gets_no_free_operator_beyond_what_its_calls_want(
    free: int, cs: list[ShareClaim], turn: int
) -> None:
    shares = free_shares(free, cs, turn)
    if any(c.dialling for c in cs):
        for s, c in zip(shares, cs, strict=True):
            if not c.dialling:
                assert s <= max(c.queued, c.waiting)


@given(st.integers(0, 500), st.lists(weights, min_size=1, max_size=8), st.integers(0, 100))
def test_the_split_follows_the_weights_within_one_operator(
    units: int, ws: list[float], turn: int
) -> None:
    shares = split_by_weight(units, ws, (), turn)
    total = sum(ws)
    for share, w in zip(shares, ws, strict=True):
        assert abs(share - units * w / total) < 1.0 + 1e-6


@given(st.integers(1, 20), st.integers(1, 8))
def test_with_fewer_operators_than_campaigns_each_one_gets_its_turn(units: int, n: int) -> None:
    """Equal weights, equal demand: as `turn` rotates every campaign sees operators."""
    seen = [0] * n
    for turn in range(n):
        for i, share in enumerate(split_by_weight(units, [1.0] * n, (), turn)):
            seen[i] += share
    assert all(s > 0 for s in seen)


def test_two_campaigns_weighted_two_to_one_split_six_free_operators_four_and_two() -> None:
    cs = [ShareClaim(2.0), ShareClaim(1.0)]
    assert free_shares(6, cs) == [4, 2]
    # A caller of the second one waits in the queue: it is covered, the rest 5 go 2:1.
    assert free_shares(6, [ShareClaim(2.0), ShareClaim(1.0, queued=1, waiting=1)]) == [3, 3]
    # Paused, the first cedes its part; the second one dials for all of them.
    assert free_shares(6, [ShareClaim(2.0, dialling=False), ShareClaim(1.0)]) == [0, 6]
    # Unless calls it placed may still want an operator: it keeps one for each.
    paused = ShareClaim(2.0, queued=1, waiting=3, dialling=False)
    assert free_shares(6, [paused, ShareClaim(1.0)]) == [3, 3]


def test_a_tie_goes_to_the_campaign_whose_calls_still_want_an_operator() -> None:
    cs = [ShareClaim(1.0, waiting=0), ShareClaim(1.0, waiting=1)]
    assert free_shares(1, cs) == [0, 1]
    assert free_shares(1, cs, turn=1) == [0, 1]


in_flight = st.dictionaries(st.sampled_from("abcde"), st.integers(0, 60), min_size=1)


@given(st.integers(1, 100), in_flight, st.integers(0, 100), st.sets(st.sampled_from("abcde")))
def test_a_trunk_grant_never_takes_the_calls_above_its_limit(
    limit: int, counts: dict[str, int], wanted: int, refused: set[str]
) -> None:
    campaign = sorted(counts)[0]
    ws = dict.fromkeys(counts, 1.0)
    granted = trunk_grant(limit, campaign, wanted, counts, ws, frozenset(refused))
    assert 0 <= granted <= wanted
    assert sum(counts.values()) + granted <= max(limit, sum(counts.values()))
    if sum(counts.values()) >= limit:
        assert granted == 0


def test_a_campaign_at_its_part_waits_while_another_was_refused() -> None:
    ws = {"a": 1.0, "b": 1.0}
    assert fair_part(10, 1.0, ws) == 5
    assert trunk_grant(10, "a", 4, {"a": 6, "b": 2}, ws) == 2  # nobody refused: what is left
    assert trunk_grant(10, "a", 4, {"a": 6, "b": 2}, ws, frozenset({"b"})) == 0
    assert trunk_grant(10, "b", 4, {"a": 6, "b": 2}, ws, frozenset({"b"})) == 2
