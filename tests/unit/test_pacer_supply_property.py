"""Properties of the predictive pacer's talk times (calls still going on counted) and
of the stored prior: the rules hold for any learnt data."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.policy.estimates import Durations, Estimates
from dialer.policy.prior import learnt, start_from
from dialer.policy.talk_times import TalkTimes

durations = st.lists(st.floats(0.0, 5000.0), max_size=60)
ongoing = st.lists(st.floats(0.0, 4000.0), max_size=60)


@settings(max_examples=30, deadline=None)
@given(durations, ongoing, st.floats(0.0, 3000.0), st.lists(st.floats(0.0, 120.0), max_size=8))
def test_talking_operator_frees_with_a_chance_that_grows_with_the_horizon(
    ended: list[float], going_on: list[float], elapsed: float, horizons: list[float]
) -> None:
    talk = TalkTimes(180.0)
    for sample in ended:
        talk.observe(sample)
    talk.refresh(going_on)
    chances = [talk.free_within(elapsed, h) for h in sorted(horizons)]
    assert all(0.0 <= p <= 1.0 for p in chances)
    assert chances == sorted(chances)
    assert talk.value > 0.0


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(1.0, 600.0), min_size=5, max_size=40), st.floats(1.0, 300.0))
def test_calls_still_going_on_make_talk_look_longer_not_shorter(
    ended: list[float], elapsed: float
) -> None:
    """The bias they remove: at the start only short calls have ended."""
    naive, censored = TalkTimes(180.0), TalkTimes(180.0)
    for sample in ended:
        naive.observe(sample)
        censored.observe(sample)
    censored.refresh([max(ended) + elapsed] * 20)
    assert censored.value >= naive.value - 1e-6


@given(
    st.floats(0.01, 1.0),
    st.integers(0, 10_000),
    st.floats(0.01, 1.0),
    st.integers(0, 10_000),
    st.floats(1.0, 900.0),
)
@settings(max_examples=30, deadline=None)
def test_a_stored_prior_starts_the_next_run_where_the_last_one_left(
    person: float, person_n: int, transfer: float, transfer_n: int, talk: float
) -> None:
    past = Estimates(ring_s=Durations(10.0, 35.0), miss_s=Durations(20.0, 35.0))
    past.person.value, past.person.samples = person, person_n
    past.transfer.value, past.transfer.samples = transfer, transfer_n
    past.talk_s = TalkTimes(talk, prior_weight=1000.0)
    stored = learnt(past)
    fresh = Estimates(ring_s=Durations(10.0, 35.0), miss_s=Durations(20.0, 35.0))
    assert start_from(fresh, stored)
    if person_n:
        assert fresh.person.value == round(person, 4)
        assert 1 <= fresh.person.samples <= 100  # worth a bounded number of calls
    else:
        assert fresh.person.value == 1.0  # nothing was learnt: the generic prior stays
    assert abs(fresh.talk_s.value - stored["talk_s"]) <= 0.1 * stored["talk_s"] + 2.0


@settings(deadline=None)
@given(st.dictionaries(st.text(max_size=12), st.none() | st.floats() | st.text(max_size=5)))
def test_a_damaged_stored_prior_is_ignored(stored: dict[str, object]) -> None:
    e = Estimates(ring_s=Durations(10.0, 35.0), miss_s=Durations(20.0, 35.0))
    assert not start_from(e, stored)
    assert e.person.value == 1.0
