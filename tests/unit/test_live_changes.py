"""Which changes of a campaign file a running campaign takes live, the pause switch, and
applying new pacing numbers to the pacer in place."""

from __future__ import annotations

from dialer.campaign.loader import parse_campaign
from dialer.campaign.model import Campaign
from dialer.engine import live_changes
from dialer.engine.dial_gate import DialGate, GatedPacing
from dialer.engine.live_changes import apply_update, plan_update, register_live_change
from dialer.operators import OperatorChange, OperatorState

BASE = """\
name: c
list: l
ami: {secret: x}
dial: {channel: "PJSIP/{number}@trunk"}
on_answer: {action: play_and_queue, queue: ops}
"""


def campaign(extra: str = "") -> Campaign:
    return parse_campaign(BASE + extra)


class Live:
    """A running campaign as live_changes sees it."""

    def __init__(self, c: Campaign, pacing: GatedPacing) -> None:
        self.campaign = c
        self.pacing = pacing

    def retune(self, new: Campaign) -> None:
        self.pacing.retune(new.pacing)


def test_given_only_pacing_numbers_changed_then_the_update_is_live_and_applied() -> None:
    old = campaign("pacing: {max_channels: 2, calls_per_second: 1}\n")
    new = campaign("pacing: {max_channels: 7, calls_per_second: 3}\n")
    plan = plan_update(old, new)
    assert plan.live
    assert plan.changed == ("pacing.calls_per_second", "pacing.max_channels")
    pacing = GatedPacing(old, DialGate(), clock=lambda: 100.0)
    target = Live(old, pacing)
    apply_update(plan, target, new)
    assert target.campaign is new
    assert pacing.status()["max_channels"] == 7
    assert pacing.status()["calls_per_second"] == 3


def test_given_other_settings_changed_then_the_whole_update_is_refused_with_reasons() -> None:
    old = campaign()
    new = parse_campaign(
        BASE.replace("ami: {secret: x}", "ami: {secret: y, host: 10.0.0.9}").replace(
            "PJSIP/{number}@trunk", "PJSIP/{number}@other"
        )
        + "pacing: {max_channels: 3}\n"
    )
    plan = plan_update(old, new)
    assert not plan.live
    refused = dict(plan.refused)
    assert set(refused) == {"ami.host", "ami.secret", "dial.channel"}
    assert "shared with other campaigns" in refused["ami.host"]
    assert "calls in progress were placed with these dial settings" in refused["dial.channel"]
    assert plan.refusal().endswith("(stop the campaign, add the file again, then start it)")


def test_given_a_mode_change_then_refused_though_other_pacing_numbers_are_live() -> None:
    plan = plan_update(
        campaign(),
        campaign("pacing: {mode: power, ratio: 2, compliance_message: id}\n"),
    )
    assert dict(plan.refused).keys() == {"pacing.mode", "pacing.compliance_message"}
    assert "learnt state belongs to its mode" in dict(plan.refused)["pacing.mode"]


def test_given_new_calling_hours_and_caps_then_the_update_is_live() -> None:
    old = campaign()
    new = campaign(
        "compliance:\n  calling_hours: {mon-fri: '10:00-19:00', sat-sun: none}\n"
        "  frequency: {attempts_per_day: 1}\n"
    )
    plan = plan_update(old, new)
    assert plan.live, plan.refused
    assert "compliance.frequency.attempts_per_day" in plan.changed


def test_a_registered_live_change_is_applied_by_its_own_function() -> None:
    seen: list[str] = []
    old, new = campaign(), campaign("retry: {max_attempts: 5}\n")
    assert not plan_update(old, new).live
    register_live_change("retry.max_attempts", lambda target, c: seen.append(c.name))
    try:
        plan = plan_update(old, new)
        assert plan.live
        apply_update(plan, Live(old, GatedPacing(old, DialGate())), new)
    finally:
        del live_changes.LIVE_CHANGES["retry.max_attempts"]
    assert seen == ["c"]


def test_a_closed_gate_allows_no_call_and_reopening_it_wakes_the_runner() -> None:
    gate = DialGate()
    pacing = GatedPacing(campaign("pacing: {max_channels: 5}\n"), gate, clock=lambda: 50.0)
    woken: list[bool] = []
    pacing.on_change = lambda: woken.append(True)
    assert pacing.allowance(0) == 1  # the fixed pace starts with one call
    gate.close()
    assert pacing.allowance(0) == 0
    assert pacing.status()["paused"] is True
    gate.open()
    assert woken == [True, True]
    assert pacing.status()["paused"] is False


def test_retune_reaches_the_operator_pacers_limits_ratio_and_abandon_target() -> None:
    power = campaign("pacing: {mode: power, ratio: 1.5, max_channels: 3, compliance_message: id}\n")
    pacing = GatedPacing(power, DialGate(), clock=lambda: 10.0)
    pacing.operators_changed(
        [
            OperatorChange("ops", f"PJSIP/op{i}", f"op{i}", OperatorState.LOGGED_OUT,
                           OperatorState.AVAILABLE)
            for i in range(4)
        ]
    )  # fmt: skip
    assert pacing.allowance(0) == 1  # capped by the rate limiter's first token
    pacing.retune(
        campaign(
            "pacing: {mode: power, ratio: 3, max_channels: 9, compliance_message: id}\n"
        ).pacing
    )
    assert pacing._operator_pacer is not None
    assert pacing._operator_pacer.limiter is not None
    assert pacing._operator_pacer.limiter.max_channels == 9
    assert pacing._operator_pacer.ratio == 3
    predictive = "pacing: {mode: predictive, abandon_target: 0.03, compliance_message: id}\n"
    paced = GatedPacing(campaign(predictive), DialGate())
    paced.retune(campaign(predictive.replace("0.03", "0.01")).pacing)
    assert paced.status()["abandon_target"] == 0.01
