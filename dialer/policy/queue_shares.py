"""How the operators of one queue are split among the campaigns that feed it. Pure.

Several campaigns may hand their calls to the same Asterisk queue. Each campaign's pacer
dials for the operators it sees, so two pacers that both saw the same free operator would
both place a call for it. The queue's operators are therefore split: every operator is
seen by exactly one campaign, and the split per state follows each campaign's weight
(`pacing.share`).

Free operators first cover the callers already waiting in the queue (whichever campaign
placed them: app_queue hands the next free operator to the head of the queue, not to the
campaign that "owns" the operator), then the rest is split by weight among the campaigns
that are dialling (a paused campaign keeps only what its calls in progress may still
want, and cedes the rest). Operators that are not free (on a
call, in wrap-up, paused) are split by weight among every campaign: they are the
predictive pacer's operators soon free.

Integer shares come from the largest remainder; equal remainders go first to the
campaign with the most calls still wanting an operator, then to the one whose turn it
is (`turn` rotates, so with fewer operators than campaigns nobody waits for ever).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ShareClaim:
    """One campaign feeding the queue."""

    weight: float  # pacing.share, > 0
    queued: int = 0  # its callers waiting in the queue now
    waiting: int = 0  # its calls that may still want an operator (ringing, message, queued)
    dialling: bool = True  # False while paused: it cedes the free operators its calls need not


def split_by_weight(
    units: int, weights: Sequence[float], demand: Sequence[int] = (), turn: int = 0
) -> list[int]:
    """`units` whole operators split in proportion to `weights` (largest remainder).

    The result sums to `units` when some weight is positive, to 0 otherwise. Ties of the
    remainder go to the larger `demand`, then in the order given rotated by `turn`.
    """
    n = len(weights)
    total = sum(w for w in weights if w > 0)
    if units <= 0 or n == 0 or total <= 0:
        return [0] * n
    quotas = [units * max(w, 0.0) / total for w in weights]
    shares = [math.floor(q + 1e-9) for q in quotas]
    left = units - sum(shares)
    wants = list(demand) + [0] * (n - len(demand))

    def order(i: int) -> tuple[float, int, int]:
        unmet = wants[i] - shares[i]
        return (-(quotas[i] - shares[i]), -unmet, (i - turn) % n)

    for i in sorted((i for i in range(n) if weights[i] > 0), key=order)[:left]:
        shares[i] += 1
    return shares


def free_shares(free: int, claims: Sequence[ShareClaim], turn: int = 0) -> list[int]:
    """How many of the queue's `free` operators each campaign sees as free."""
    queued = [max(0, c.queued) for c in claims]
    if sum(queued) >= free:  # every free operator is about to take a waiting caller
        return split_by_weight(free, [float(q) for q in queued], queued, turn)
    shares = list(queued)
    rest = free - sum(queued)
    for i, c in enumerate(claims):  # a paused campaign keeps what its calls may still want
        if not c.dialling and rest > 0:
            kept = min(rest, max(0, c.waiting - queued[i]))
            shares[i] += kept
            rest -= kept
    takers = [i for i, c in enumerate(claims) if c.dialling and c.weight > 0]
    if not takers:  # nobody dials now: the views stay complete all the same
        takers = [i for i, c in enumerate(claims) if c.weight > 0]
    weights = [claims[i].weight if i in takers else 0.0 for i in range(len(claims))]
    demand = [max(0, c.waiting - q) for c, q in zip(claims, queued, strict=True)]
    for i, extra in enumerate(split_by_weight(rest, weights, demand, turn)):
        shares[i] += extra
    return shares


def busy_shares(busy: int, claims: Sequence[ShareClaim], turn: int = 0) -> list[int]:
    """How many of the queue's operators in one state that is not free (on a call, in
    wrap-up, paused) each campaign sees: by weight, whether dialling or not."""
    return split_by_weight(busy, [c.weight for c in claims], (), turn)
