"""Which changes to a campaign file a running campaign takes live, and applying them.

A running campaign takes new pacing numbers at once (the pacer keeps what it learnt).
Anything else shapes calls already in progress or state the runner built at its start
(the AMI link, the dial string, the answer plan and script, the retry rules, the
pacer's mode): such an update is refused whole, with the reason, and the operator
stops the campaign, registers the file again and starts it.

The compliance section (calling hours, holidays, caps, consent) is taken live too: the
new file was validated against its profile as a whole, and the runner judges every
lease with the rules of its current campaign. Other settings join through
`register_live_change`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from dialer.campaign.model import Campaign


class LiveCampaign(Protocol):
    """What a live change reaches: the runner's campaign and its pacing."""

    campaign: Campaign

    def retune(self, new: Campaign) -> None: ...


Applier = Callable[[LiveCampaign, Campaign], None]


def _retune_pacing(target: LiveCampaign, new: Campaign) -> None:
    target.retune(new)


def _rules_follow_the_campaign(target: LiveCampaign, new: Campaign) -> None:
    """Nothing more to do: the runner rebuilds its compliance gate when its campaign is
    replaced, so new calling hours, caps and consent rules judge the next lease."""


# Dotted path of a setting -> how a running campaign takes it.
LIVE_CHANGES: dict[str, Applier] = {
    "compliance": _rules_follow_the_campaign,
    "pacing.max_channels": _retune_pacing,
    "pacing.calls_per_second": _retune_pacing,
    "pacing.ratio": _retune_pacing,
    "pacing.abandon_target": _retune_pacing,
    "pacing.share": _retune_pacing,
}

# Why a section cannot change under a running campaign (longest prefix wins).
REFUSAL_REASONS: dict[str, str] = {
    "name": "the name is the campaign: a file with another name is another campaign",
    "list": "the campaign's contacts are enrolled from its list",
    "ami": "the AMI link (server, user, secret) is logged in and shared with other campaigns",
    "servers": "the pool's AMI links are logged in, and calls in progress are on them",
    "dial": "calls in progress were placed with these dial settings",
    "pacing.mode": "the pacer's learnt state belongs to its mode",
    "pacing": "the pacer and the dialplan were set up with it",
    "on_answer": "calls in progress run the answer plan they were placed with",
    "ivr": "calls in progress run the script they were placed with",
    "fastagi": "the FastAGI server is listening where it was started",
    "retry": "the closer decides next steps with the rules it started with",
}
RESTART_HINT = "stop the campaign, add the file again, then start it"


def register_live_change(path: str, applier: Applier) -> None:
    """Let a running campaign take changes of `path` (a dotted setting, e.g.
    "compliance.windows") by calling `applier(campaign, new_campaign)`."""
    LIVE_CHANGES[path] = applier


@dataclass(frozen=True)
class UpdatePlan:
    changed: tuple[str, ...]  # dotted paths of the settings that differ
    refused: tuple[tuple[str, str], ...]  # (path, why it cannot change live)

    @property
    def live(self) -> bool:
        return not self.refused

    def refusal(self) -> str:
        lines = [f"{path}: {why}" for path, why in self.refused]
        return "; ".join(lines) + f" ({RESTART_HINT})"


def plan_update(old: Campaign, new: Campaign) -> UpdatePlan:
    changed = tuple(_differences(old.model_dump(mode="json"), new.model_dump(mode="json")))
    refused = tuple((path, _reason(path)) for path in changed if _applier(path) is None)
    return UpdatePlan(changed, refused)


def apply_update(plan: UpdatePlan, target: LiveCampaign, new: Campaign) -> None:
    """Apply a plan that is `live` to a running campaign."""
    if not plan.live:
        raise ValueError(plan.refusal())
    appliers: list[Applier] = []
    for path in plan.changed:
        applier = _applier(path)
        if applier is not None and applier not in appliers:
            appliers.append(applier)
    target.campaign = new  # read by the runner's loop (max_channels) from now on
    for applier in appliers:
        applier(target, new)


def _applier(path: str) -> Applier | None:
    while path:
        if path in LIVE_CHANGES:
            return LIVE_CHANGES[path]
        path = path.rpartition(".")[0]
    return None


def _reason(path: str) -> str:
    probe = path
    while probe:
        if probe in REFUSAL_REASONS:
            return REFUSAL_REASONS[probe]
        probe = probe.rpartition(".")[0]
    return "a running campaign cannot take it"


def _differences(old: Any, new: Any, path: str = "") -> Iterator[str]:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            yield from _differences(old.get(key), new.get(key), sub)
    elif old != new:
        yield path or "(campaign)"
