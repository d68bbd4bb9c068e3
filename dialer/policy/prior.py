"""What a campaign's past runs learnt, as the prior of its next run. Pure.

A new run of a campaign starts from what its last run had learnt (answer rate, transfer
share, talk, wrap-up, ring and message times) instead of the generic priors, worth a
bounded number of samples: as many as the learning stage asks for (100 calls rung out,
30 people through the message), so a run whose team is no bigger than the last one's
dials ahead as soon as the abandon headroom allows, and few enough that this run's calls
overrule them within a few hundred calls if the list or the hour differ (and a clear
rise in the answer rate, read from calls still ringing, restarts them at once). The
engine keeps `learnt(estimates)` in the store with the run's status and passes it back
to `start_from` at the next start.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from dialer.policy.estimates import Durations, Estimates
from dialer.policy.talk_times import TalkTimes

VERSION = 1
# Samples a stored figure is worth at most, per estimate.
PRIOR_RINGS = 100
PRIOR_MESSAGES = 30
PRIOR_TIMES = 10.0

_SHARES = ("person", "transfer")
_TIMES = ("talk_s", "wrap_s", "ring_s", "message_s")


def learnt(estimates: Estimates) -> dict[str, float]:
    """The figures worth keeping, with how many samples stood behind the shares."""
    e = estimates
    return {
        "version": VERSION,
        "person": round(e.person.value, 4),
        "person_samples": e.person.samples,
        "transfer": round(e.transfer.value, 4),
        "transfer_samples": e.transfer.samples,
        "talk_s": round(e.talk_s.value, 1),
        "wrap_s": round(e.wrap_s.value, 1),
        "ring_s": round(e.ring_s.value, 2),
        "message_s": round(e.message_s.value, 2),
    }


def start_from(estimates: Estimates, stored: Mapping[str, object]) -> bool:
    """Seed `estimates` with a past run's figures; False (and nothing changed) when they
    are missing, of another version or out of range."""
    figures = _valid(stored)
    if figures is None:
        return False
    e = estimates
    for name, cap in (("person", PRIOR_RINGS), ("transfer", PRIOR_MESSAGES)):
        estimate = getattr(e, name)
        weight = min(float(cap), figures[f"{name}_samples"])
        if weight < 1.0:
            continue
        estimate.value = figures[name]
        estimate.weight = weight
        estimate.samples = int(weight)
    e.talk_s = TalkTimes(figures["talk_s"], prior_weight=PRIOR_TIMES)
    e.wrap_s = Durations(max(figures["wrap_s"], 0.5), e.wrap_s.longest_s, prior_weight=PRIOR_TIMES)
    e.ring_s = Durations(figures["ring_s"], e.ring_s.longest_s, prior_weight=PRIOR_TIMES)
    e.message_s = Durations(figures["message_s"], e.message_s.longest_s, prior_weight=PRIOR_TIMES)
    return True


def _valid(stored: Mapping[str, object]) -> dict[str, float] | None:
    if stored.get("version") != VERSION:
        return None
    figures: dict[str, float] = {}
    for key in (*_SHARES, *(f"{s}_samples" for s in _SHARES), *_TIMES):
        value = stored.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if not math.isfinite(value) or value < 0.0:
            return None
        figures[key] = float(value)
    if not all(0.001 <= figures[s] <= 1.0 for s in _SHARES):
        return None
    if not all(0.5 <= figures[t] <= 36000.0 for t in ("talk_s", "ring_s", "message_s")):
        return None
    return figures
