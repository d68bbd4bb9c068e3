"""The predictive pacer under sudden changes: a rise in the answer rate seen in calls
still ringing, the guard lifting, big teams, bursts of abandoned calls."""

from __future__ import annotations

from dialer.policy.abandon import AbandonLedger
from dialer.policy.answer_watch import AnswerWatch
from dialer.policy.predictive import PredictivePacer
from tests.unit.test_pacer_predictive import RAMP_S, T0, Desk


def ringing_then_answered(desk: Desk, calls: int, person_every: int) -> None:
    """`calls` placed now; 12 s later one in `person_every` has a person on the line and
    the others were busy (none has settled: that takes 35 s)."""
    placed = [desk.place() for _ in range(calls)]
    for i, call_id in enumerate(placed):
        if i % person_every:
            desk.pacer.call_unanswered(desk.now + 3.0, call_id)
        else:
            desk.pacer.call_answered(desk.now + 10.0, call_id)
    desk.now += 12.0


def test_given_answers_arriving_faster_than_learnt_when_still_ringing_then_it_brakes():
    steady, rise = (Desk(PredictivePacer(), operators=50) for _ in range(2))
    for desk in (steady, rise):
        desk.history(calls=3000, person_every=10)  # a person answers 10%
        desk.ask()
    ringing_then_answered(steady, calls=40, person_every=10)
    ringing_then_answered(rise, calls=40, person_every=2)  # now 50%
    # 4 or 20 people hear the message: what differs most is what it expects of the calls
    # it places now.
    braked, went_on = rise.ask(), steady.ask()
    assert steady.pacer.estimates.person.value < 0.15
    assert rise.pacer.estimates.person.value > 0.3  # learnt before any call settled
    assert braked < 0.5 * went_on


def test_given_a_steady_rate_when_watched_then_noise_is_not_read_as_a_rise():
    def answered_by(age: float) -> float:
        return 1.0 if age >= 12.0 else 0.0

    def watched(seconds: int, rise_at: int) -> float:
        """20 calls a second, a person answers one in 10 (one in 2 from `rise_at`) 12 s
        after the call is placed; the watch asked at the end."""
        watch = AnswerWatch(window_s=35.0)
        for second in range(seconds):
            every = 10 if second < rise_at else 2
            for i in range(20):
                watch.placed(T0 + second)
                if i % every == 0 and seconds - (second + 0.5) >= 12.0:
                    watch.answered(T0 + second)
        return watch.rate_floor(T0 + seconds, answered_by, learnt=0.1)

    assert watched(seconds=60, rise_at=60) == 0.0
    assert watched(seconds=50, rise_at=35) > 0.2  # 3 s of calls answered since the rise


def test_given_the_guard_lifts_when_asked_then_calls_ahead_ramp_up_not_one_burst():
    desk = Desk(PredictivePacer(), operators=40)
    desk.history(calls=1200, person_every=4, ramp=False)
    first = desk.ask()
    assert desk.pacer.snapshot(desk.now).state == "predictive"
    desk.now += RAMP_S / 2
    halfway = desk.ask()
    desk.now += RAMP_S / 2
    full = desk.ask()
    assert first == desk.pacer.progressive_gap() == 40
    assert first < halfway < full
    assert full > 100


def test_given_a_big_team_when_few_calls_settled_then_it_keeps_learning():
    small, big = Desk(PredictivePacer(), operators=10), Desk(PredictivePacer(), operators=200)
    for desk in (small, big):
        desk.history(calls=300, person_every=4)  # 300 rang out, 75 heard the message
    assert small.pacer.snapshot(small.now).state == "predictive"
    assert big.pacer.snapshot(big.now).state == "learning"
    assert big.ask() == 200  # progressive


def test_given_a_big_team_when_little_headroom_then_guarded_sooner():
    def desk_with(operators: int) -> Desk:
        ledger = AbandonLedger()
        for _ in range(500):
            ledger.record_live(T0)
        for _ in range(38):  # 38 of 1,500 live: headroom 7 abandoned calls
            ledger.record_abandoned(T0)
        ledger_desk = Desk(PredictivePacer(ledger=ledger), operators=operators)
        ledger_desk.history(calls=4000, person_every=4)
        return ledger_desk

    small, big = desk_with(100), desk_with(500)  # reserve 2 and 10 calls
    assert small.pacer.snapshot(small.now).state == "predictive"
    assert big.pacer.snapshot(big.now).state == "guarded"
    assert big.ask() == 500


def abandon_leads(desk: Desk, count: int) -> None:
    pacer = desk.pacer
    for _ in range(count):
        call_id = desk.place()
        pacer.call_answered(desk.now + 8.0, call_id)
        pacer.call_transfer(desk.now + 20.0, call_id)
        pacer.call_abandoned(desk.now + 22.0, call_id)
    desk.now += 22.0


def test_given_abandoned_calls_bunch_up_when_asked_then_it_slows_down():
    def desk() -> Desk:
        ledger = AbandonLedger()
        for _ in range(2000):
            ledger.record_live(T0)
        made = Desk(PredictivePacer(ledger=ledger), operators=50)
        made.history(calls=2000, person_every=4)
        return made

    calm, bunched = desk(), desk()
    abandon_leads(calm, 4)
    abandon_leads(bunched, 4)
    calm.now += 90.0  # those 4 are more than 60 s ago
    bunched.now += 10.0
    for d in (calm, bunched):
        d.ask()  # their leads settle
    calm_now, bunched_now = calm.now, bunched.now
    assert calm.pacer.ledger.counts(calm_now)["24h"].abandoned == 4
    assert bunched.pacer.ledger.counts(bunched_now)["24h"].abandoned == 4
    assert bunched.ask() < calm.ask()
