"""Operator-driven pacers, driven by hand with a fake clock and invented calls."""

from __future__ import annotations

import pytest

from dialer.operators import OperatorState
from dialer.policy.abandon import AbandonLedger
from dialer.policy.estimates import Durations
from dialer.policy.operator_pacer import OperatorPacer, PowerPacer, ProgressivePacer, Stage
from dialer.policy.pacing import FixedPacer, Pacer
from dialer.policy.predictive import PredictivePacer, PredictiveSettings, calls_within

T0 = 1_790_000_000.0
RAMP_S = PredictiveSettings().ramp_s


class Desk:
    """A campaign seen through the pacer's events: operators and a stream of calls."""

    def __init__(self, pacer: OperatorPacer, operators: int) -> None:
        self.pacer = pacer
        self.now = T0
        self._next = 0
        for i in range(operators):
            pacer.operator_state(self.now, f"op{i}", OperatorState.AVAILABLE)

    def ask(self) -> int:
        return self.pacer.allowance(self.now, in_flight=0)

    def place(self) -> str:
        call_id = f"c{self._next}"
        self._next += 1
        self.pacer.call_placed(self.now, call_id)
        return call_id

    def history(
        self, calls: int, person_every: int, transfer: bool = True, ramp: bool = True
    ) -> None:
        """`calls` finished calls, one in `person_every` answered by a person who asks for
        an operator (or hangs up during the message), then enough time for all to settle
        (and, with `ramp`, for a pacer that may then dial ahead to ramp up)."""
        pacer = self.pacer
        for i in range(calls):
            call_id = self.place()
            if i % person_every:
                pacer.call_unanswered(self.now + 3.0, call_id)
                continue
            pacer.call_answered(self.now + 8.0, call_id)
            if transfer:
                pacer.call_transfer(self.now + 20.0, call_id)
                pacer.call_connected(self.now + 20.0, call_id)
            pacer.call_ended(self.now + 60.0, call_id)
            self.now += 1.0
        self.now += 120.0
        if ramp:
            self.ask()  # learns what has settled
            self.now += RAMP_S

    def log_out(self, count: int) -> None:
        for i in range(count):
            self.pacer.operator_state(self.now, f"op{i}", OperatorState.LOGGED_OUT)


def test_every_pacer_is_a_pacer_the_engine_can_drive():
    pacers: list[Pacer] = [FixedPacer(5, 1.0), ProgressivePacer(), PredictivePacer()]
    assert all(p.allowance(T0, 0) >= 0 for p in pacers)


def test_given_no_data_when_asked_then_predictive_dials_one_call_per_free_operator():
    desk = Desk(PredictivePacer(), operators=5)
    assert desk.ask() == 5
    for _ in range(5):
        desk.place()
    assert desk.ask() == 0
    assert desk.pacer.snapshot(desk.now).state == "learning"


def test_given_few_calls_settled_when_asked_then_still_learning_and_progressive():
    desk = Desk(PredictivePacer(), operators=10)
    desk.history(calls=60, person_every=4)  # 60 rang out, 15 heard the message
    assert desk.ask() == 10
    assert desk.pacer.snapshot(desk.now).state == "learning"


def test_given_steady_answer_rate_when_learnt_then_estimates_and_ratio_near_theory():
    desk = Desk(PredictivePacer(), operators=100)
    desk.history(calls=2000, person_every=4)  # lead yield 0.25: theory says 4 calls a lead
    estimates = desk.pacer.estimates
    assert estimates.person.value == pytest.approx(0.25, abs=0.02)
    assert estimates.transfer.value == pytest.approx(1.0, abs=0.01)
    per_free_operator = desk.ask() / 100
    # Below 4 by the safety margin, far above progressive (1).
    assert 3.0 <= per_free_operator <= 4.0
    assert desk.pacer.snapshot(desk.now).state == "predictive"


def test_given_operators_log_out_when_asked_then_fewer_calls_and_none_without_operators():
    desk = Desk(PredictivePacer(), operators=40)
    desk.history(calls=1200, person_every=4)
    full = desk.ask()
    desk.log_out(20)
    half = desk.ask()
    assert 0 < half < full * 0.6
    desk.log_out(40)
    assert desk.ask() == 0


def test_given_answer_rate_drops_when_learnt_then_more_calls_per_operator():
    desk = Desk(PredictivePacer(), operators=40)
    desk.history(calls=1500, person_every=2)
    before = desk.ask()
    desk.history(calls=3000, person_every=6)
    after = desk.ask()
    assert desk.pacer.estimates.person.value == pytest.approx(1 / 6, abs=0.03)
    assert after > 2 * before


def test_given_quick_failures_first_when_learning_then_answer_rate_not_read_as_zero():
    pacer = PredictivePacer(ring_timeout_s=25.0)
    desk = Desk(pacer, operators=10)
    calls = [desk.place() for _ in range(100)]
    for call_id in calls[20:]:
        pacer.call_unanswered(T0 + 2.0, call_id)  # busy: over in two seconds
    pacer.allowance(T0 + 10.0, 0)
    assert pacer.estimates.person.value == 1.0  # nothing learnt before the calls settle
    for call_id in calls[:20]:
        pacer.call_answered(T0 + 12.0, call_id)
    pacer.allowance(T0 + 31.0, 0)
    assert pacer.estimates.person.value == pytest.approx(0.2, abs=0.02)


def test_given_rate_nearing_the_target_when_asked_then_slows_down_before_the_cap():
    def pacer_with(abandoned: int) -> Desk:
        ledger = AbandonLedger()
        for _ in range(1750):  # + 250 from the history below: 2,000 live-answered calls
            ledger.record_live(T0)
        for _ in range(abandoned):
            ledger.record_abandoned(T0)
        desk = Desk(PredictivePacer(ledger=ledger), operators=50)
        desk.history(calls=1000, person_every=4)
        return desk

    clean, near, at_cap = pacer_with(0), pacer_with(57), pacer_with(60)  # 0%, 2.85%, 3%
    assert near.ask() < clean.ask()
    assert at_cap.ask() == at_cap.pacer.progressive_gap() == 50  # progressive: no risk
    assert at_cap.pacer.snapshot(at_cap.now).state == "guarded"


def test_given_a_late_or_lost_lead_when_settled_then_counted_as_abandoned():
    pacer = PredictivePacer()
    desk = Desk(pacer, operators=1)
    late, lost, hung_up, left_in_message = (desk.place() for _ in range(4))
    for call_id in (late, lost, hung_up, left_in_message):
        pacer.call_answered(T0 + 5, call_id)
    for call_id in (late, lost, hung_up):
        pacer.call_transfer(T0 + 20, call_id)
    pacer.call_connected(T0 + 23, late)  # 3 s after the transfer point: too late
    pacer.call_abandoned(T0 + 22, lost)
    pacer.call_ended(T0 + 21, hung_up)  # hung up waiting
    pacer.call_ended(T0 + 10, left_in_message)  # never asked for an operator
    counts = pacer.snapshot(T0 + 30).abandon["24h"]
    assert (counts.live, counts.transfers, counts.abandoned) == (4, 3, 3)
    assert pacer.calls(Stage.QUEUED) == 0 and pacer.calls(Stage.CONNECTED) == 1


def test_given_a_restart_when_the_ledger_is_restored_then_the_history_counts():
    first = Desk(PredictivePacer(), operators=10)
    first.history(calls=400, person_every=4)  # 100 live, none abandoned: headroom 3
    saved = first.pacer.ledger.to_dict()
    again = PredictivePacer(ledger=AbandonLedger.from_dict(saved))
    counts = again.snapshot(first.now).abandon["24h"]
    assert counts.live == 100
    assert Desk(again, operators=10).ask() == 10  # no data yet: progressive, not reset


def test_progressive_keeps_one_call_per_free_operator():
    desk = Desk(ProgressivePacer(), operators=3)
    assert desk.ask() == 3
    desk.place()
    assert desk.ask() == 2
    desk.pacer.operator_state(desk.now, "op0", OperatorState.PAUSED)
    assert desk.ask() == 1


def test_power_keeps_a_fixed_ratio_per_free_operator():
    desk = Desk(PowerPacer(2.5), operators=4)
    assert desk.ask() == 10
    for _ in range(7):
        desk.place()
    assert desk.ask() == 3
    with pytest.raises(ValueError):
        PowerPacer(0.5)


def test_given_a_limiter_when_operators_want_more_then_channels_and_rate_cap_it():
    pacer = ProgressivePacer(limiter=FixedPacer(max_channels=4, calls_per_second=2))
    desk = Desk(pacer, operators=10)
    assert desk.ask() == 1  # the limiter starts gently: one call
    pacer.placed(1)
    assert pacer.allowance(T0 + 1.0, in_flight=1) == 2
    assert pacer.seconds_until_next_token() == pytest.approx(0.0)
    assert pacer.allowance(T0 + 5.0, in_flight=4) == 0  # every channel busy


def test_given_operators_busy_when_asked_again_then_recheck_soon_not_spin():
    desk = Desk(ProgressivePacer(limiter=FixedPacer(10, 100)), operators=1)
    desk.place()
    assert desk.ask() == 0
    assert desk.pacer.seconds_until_next_token() == 0.5


def test_given_ring_times_when_learnt_then_share_still_ringing_follows_their_shape():
    durations = Durations(prior_mean=10.0, longest_s=30.0)
    durations.observe_all([5.0 + i / 100 for i in range(500)])  # all between 5 and 10 s
    assert durations.survival(0.0) == 1.0
    assert durations.survival(4.0) > 0.99  # nobody answered yet: unlike a memoryless guess
    assert durations.survival(7.5) == pytest.approx(0.5, abs=0.05)
    assert durations.survival(12.0) < 0.01
    assert durations.survival(31.0) == 0.0
    assert durations.value == pytest.approx(7.5, abs=0.2)


def test_given_talk_and_wrap_up_when_operators_change_state_then_times_are_learnt():
    pacer = ProgressivePacer()
    for start in range(0, 6000, 60):
        pacer.operator_state(T0 + start, "op", OperatorState.ON_CALL)
        pacer.operator_state(T0 + start + 40, "op", OperatorState.WRAP_UP)
        pacer.operator_state(T0 + start + 50, "op", OperatorState.AVAILABLE)
    assert pacer.estimates.talk_s.value == pytest.approx(40, abs=5)
    assert pacer.estimates.wrap_s.value == pytest.approx(10, abs=2)
    assert pacer.operators(OperatorState.AVAILABLE) == 1


def test_given_a_status_display_when_snapshot_then_everything_it_shows_is_there():
    desk = Desk(PredictivePacer(PredictiveSettings(abandon_target=0.02)), operators=2)
    desk.place()
    snap = desk.pacer.snapshot(desk.now)
    assert snap.mode == "predictive"
    assert snap.operators["available"] == 2 and snap.calls["ringing"] == 1
    assert snap.abandon_target == 0.02 and snap.margin is not None
    assert set(snap.abandon) == {"24h", "30d"}
    assert "person_answer_rate" in snap.estimates


@pytest.mark.parametrize(
    ("gap", "variance", "mean", "var", "margin", "expected"),
    [
        (10.0, 0.0, 1.0, 0.0, 0.0, 10),  # certain leads: fill the gap
        (10.0, 0.0, 0.5, 0.25, 0.0, 20),  # no margin: expected leads = gap
        (10.0, 0.0, 0.5, 0.25, 2.0, 12),  # 0.5N + 2*sqrt(0.25N) <= 10
        (-1.0, 4.0, 0.5, 0.25, 1.0, 0),  # no gap
    ],
)
def test_calls_within_solves_the_margin_inequality(
    gap: float, variance: float, mean: float, var: float, margin: float, expected: int
):
    n = calls_within(gap, variance, mean, var, margin)
    assert n == expected
    if n:
        assert n * mean + margin * (variance + n * var) ** 0.5 <= gap + 1e-9
