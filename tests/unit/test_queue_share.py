"""Campaigns that feed one queue share its operators: every operator is in exactly one
pacer's view, so their allowances together never count a free operator twice. And
campaigns that name one trunk share its channel limit."""

from __future__ import annotations

import pytest

from dialer.campaign.errors import CampaignError
from dialer.campaign.loader import parse_campaign
from dialer.engine.dial_gate import DialGate, GatedPacing
from dialer.engine.live_changes import plan_update
from dialer.engine.pacing_control import PacingControl
from dialer.engine.queue_share import SharedQueue
from dialer.engine.trunk_share import SharedTrunk
from dialer.operators import OperatorChange
from dialer.operators import OperatorState as S
from dialer.outcomes import Outcome
from dialer.pbx.events import CallMilestone, Milestone

NOW = 1000.0
CLOCK = [NOW]  # the pacers' clock: a second later their rate limiters have refilled


def campaign_text(name: str, mode: str = "progressive", share: float = 1.0) -> str:
    return (
        f"name: {name}\nlist: l\nami: {{secret: x}}\n"
        'dial: {channel: "PJSIP/{number}@trunk"}\n'
        "on_answer: {action: play_and_queue, queue: ops}\n"
        f"pacing: {{mode: {mode}, compliance_message: id, share: {share}, "
        "max_channels: 100, calls_per_second: 1000}\n"
    )


def pacing(name: str, mode: str = "progressive", share: float = 1.0) -> PacingControl:
    return PacingControl(parse_campaign(campaign_text(name, mode, share)), clock=lambda: CLOCK[0])


def allowance(p: PacingControl, in_flight: int) -> int:
    """What the pacer allows once its rate limiter is full (it starts with one call)."""
    p.allowance(in_flight)
    CLOCK[0] += 1.0
    return p.allowance(in_flight)


def login(queue: SharedQueue, count: int, state: S = S.AVAILABLE) -> None:
    queue.operators_changed(
        [OperatorChange("ops", f"SIP/{n}", f"Op {n}", None, state) for n in range(count)]
    )


def free_seen(p: PacingControl) -> int:
    return int(p.status()["operators"].get("available", 0))


def test_two_progressive_campaigns_on_one_queue_never_both_dial_for_one_operator() -> None:
    a, b = pacing("a"), pacing("b")
    queue = SharedQueue("ops", clock=lambda: NOW)
    queue.join(a)
    queue.join(b)
    login(queue, 6)
    assert free_seen(a) + free_seen(b) == 6  # unshared, each would see 6
    assert allowance(a, 0) + allowance(b, 0) == 6
    assert (free_seen(a), free_seen(b)) == (3, 3)


def test_weights_split_the_operators_and_a_paused_campaign_cedes_its_part() -> None:
    a = pacing("a", share=2.0)
    gate = DialGate()
    b = GatedPacing(parse_campaign(campaign_text("b")), gate, clock=lambda: NOW)
    queue = SharedQueue("ops", clock=lambda: NOW)
    for each in (a, b):
        queue.join(each)
    login(queue, 6)
    assert (free_seen(a), free_seen(b)) == (4, 2)
    gate.close()
    assert (free_seen(a), free_seen(b)) == (6, 0)
    assert allowance(a, 0) == 6 and allowance(b, 0) == 0
    gate.open()
    assert (free_seen(a), free_seen(b)) == (4, 2)


def test_a_caller_taken_by_the_other_campaign_s_operator_moves_a_free_one_over() -> None:
    """app_queue gives the next free operator to the head of the queue, whichever
    campaign placed it: the free operators follow the callers still waiting."""
    a, b = pacing("a"), pacing("b")
    queue = SharedQueue("ops", clock=lambda: NOW)
    queue.join(a)
    queue.join(b)
    login(queue, 2)
    for p, call in ((a, "a1"), (b, "b1")):
        assert allowance(p, 0) == 1
        p.placed([call])
    for p, call in ((a, "a1"), (b, "b1")):
        for step in (Milestone.ANSWERED, Milestone.TRANSFER):
            p.on_milestone(CallMilestone(call, step, NOW))
    # a's caller is taken by the operator b's view held; b's caller still waits.
    taker = next(i for i, owner in queue._owner.items() if owner is b)
    queue.operators_changed([OperatorChange("ops", taker, "x", S.AVAILABLE, S.ON_CALL)])
    a.on_milestone(CallMilestone("a1", Milestone.CONNECTED, NOW))
    assert free_seen(b) == 1 and free_seen(a) == 0  # the last free one covers b's caller
    assert allowance(a, 1) + allowance(b, 1) == 0  # nobody dials for it a second time


def test_a_late_campaign_sees_its_part_at_once_and_a_leaving_one_hands_it_over() -> None:
    a = pacing("a")
    queue = SharedQueue("ops", clock=lambda: NOW)
    queue.join(a)
    login(queue, 4)
    login_busy = [OperatorChange("ops", "SIP/9", "Op 9", None, S.ON_CALL)]
    queue.operators_changed(login_busy)
    assert free_seen(a) == 4
    b = pacing("b")
    queue.join(b)  # no queue event needed: the view comes with the join
    assert (free_seen(a), free_seen(b)) == (2, 2)
    assert (
        a.status()["operators"].get("on_call", 0) + b.status()["operators"].get("on_call", 0) == 1
    )
    assert b.status()["queues_without_operators"] == []
    queue.leave(a)
    assert free_seen(b) == 4


def test_an_operator_s_talk_time_is_learnt_by_the_view_that_holds_it_only() -> None:
    clock = [NOW]
    a = PacingControl(parse_campaign(campaign_text("a")), clock=lambda: clock[0])
    b = PacingControl(parse_campaign(campaign_text("b")), clock=lambda: clock[0])
    queue = SharedQueue("ops", clock=lambda: clock[0])
    queue.join(a)
    queue.join(b)
    login(queue, 2, S.ON_CALL)
    clock[0] += 100.0
    queue.operators_changed([OperatorChange("ops", "SIP/0", "Op 0", S.ON_CALL, S.AVAILABLE)])
    samples = [p._operator_pacer.estimates.talk_s.samples for p in (a, b)]  # type: ignore[union-attr]
    assert sorted(samples) == [0, 1]


def test_campaigns_naming_one_trunk_never_place_more_calls_than_its_limit() -> None:
    fixed = 'name: {n}\nlist: l\nami: {{secret: x}}\ndial: {{channel: "PJSIP/{{number}}@t"}}\n'
    fixed += "pacing: {{max_channels: 50, calls_per_second: 1000}}\n"
    trunk = SharedTrunk("t", 30)
    paces = []
    for name in ("a", "b", "c"):
        p = PacingControl(parse_campaign(fixed.format(n=name)), clock=lambda: CLOCK[0])
        trunk.join(name, 1.0, 30)
        p.trunk = trunk
        paces.append(p)
    a, b, c = paces
    in_flight = dict.fromkeys("abc", 0)
    for p in paces:  # each asks before any has placed: the grants are reserved
        in_flight[p.name] += allowance(p, in_flight[p.name])
    assert in_flight == {"a": 30, "b": 0, "c": 0} and trunk.in_flight == 30
    a.placed([f"a{i}" for i in range(25)])  # 5 granted but not placed go back
    in_flight["a"] = 25
    assert trunk.in_flight == 25
    assert allowance(b, 0) == 5 and allowance(c, 0) == 0
    in_flight["b"] = 5
    b.placed([f"b{i}" for i in range(5)])
    for i in range(3):
        a.on_ended(f"a{i}", Outcome.NO_ANSWER)
    in_flight["a"] = 22
    assert trunk.in_flight == 27
    # b and c were refused: a, far above its third of the trunk, waits for them.
    assert allowance(a, 22) == 0
    assert allowance(c, 0) == 3
    assert trunk.in_flight == 30


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "pacing:\n  mode: progressive\n  compliance_message: id\n  share: 0\n",
            "campaign.yaml:9:10: pacing.share: must be greater than 0",
        ),
        (
            "pacing:\n  share: lots\n",
            "campaign.yaml:7:10: pacing.share: expected a number",
        ),
        (
            'dial:\n  channel: "PJSIP/{number}@t"\n  trunk: {name: t}\n',
            "campaign.yaml:7:3: dial.trunk.max_channels: required field is missing",
        ),
        (
            'dial:\n  channel: "PJSIP/{number}@t"\n  trunk: {name: "a b", max_channels: 5}\n',
            "campaign.yaml:7:17: dial.trunk.name: expected an Asterisk name",
        ),
    ],
)
def test_a_bad_share_or_trunk_is_refused_at_its_line(text: str, message: str) -> None:
    head = "name: c\nlist: l\nami: {secret: x}\n"
    if not text.startswith("dial"):
        head += 'dial: {channel: "PJSIP/{number}@t"}\n'
    head += "on_answer: {action: play_and_queue, queue: ops}\n"
    with pytest.raises(CampaignError) as error:
        parse_campaign(head + text)
    assert message in str(error.value)


def test_a_channel_freed_on_the_trunk_wakes_a_campaign_it_refused() -> None:
    woken: list[str] = []
    trunk = SharedTrunk("t", 1)
    for name in ("a", "b"):
        trunk.join(name, 1.0, 1, wake=lambda name=name: woken.append(name))
    assert trunk.grant("a", 0, 1) == 1
    assert trunk.grant("b", 0, 1) == 0  # refused: its runner sleeps
    trunk.ended("a")
    assert woken == ["b"]
    assert trunk.grant("b", 0, 1) == 1


def test_a_new_share_in_the_campaign_file_moves_the_operators_at_once() -> None:
    gate = DialGate()
    a = GatedPacing(parse_campaign(campaign_text("a")), gate, clock=lambda: NOW)
    b = pacing("b")
    queue = SharedQueue("ops", clock=lambda: NOW)
    queue.join(a)
    queue.join(b)
    login(queue, 6)
    assert (free_seen(a), free_seen(b)) == (3, 3)
    new = parse_campaign(campaign_text("a", share=2.0))
    plan = plan_update(parse_campaign(campaign_text("a")), new)
    assert plan.live and plan.changed == ("pacing.share",)  # taken by a running campaign
    a.retune(new.pacing)
    assert (free_seen(a), free_seen(b)) == (4, 2)


def test_the_status_shows_the_trunk_the_campaign_shares() -> None:
    p = pacing("a")
    p.trunk = SharedTrunk("t", 30)
    p.trunk.join("a", 1.0, 30)
    assert p.status()["trunk"] == {"name": "t", "max_channels": 30, "in_flight": 0}
