"""Campaign scenarios for the pacing simulation, and how one call's fate is drawn.

Every call consumes exactly `DRAWS_PER_CALL` uniforms from the call stream and every
talk and wrap-up `DRAWS_PER_CONNECTION` from their own streams, whatever happens to
it. So with one seed the k-th call placed meets the same person under every policy
(common random numbers): policies are compared on the same contacts, not on luck.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import IntEnum

DRAWS_PER_CALL = 8
DRAWS_PER_CONNECTION = 2


def lognormal(mean: float, sd: float, u1: float, u2: float) -> float:
    """Lognormal with this mean and standard deviation, from two uniforms (Box-Muller)."""
    sigma2 = math.log(1.0 + (sd / mean) ** 2)
    mu = math.log(mean) - sigma2 / 2.0
    z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
    return math.exp(mu + math.sqrt(sigma2) * z)


@dataclass(frozen=True)
class Scenario:
    name: str
    operators: int
    answer_rate: float  # share of calls answered, by a person or a machine
    machine_share: float = 0.2  # of answered calls (detected by AMD and hung up)
    want_operator: float = 0.7  # of persons: how many stay through the message to transfer
    busy_share: float = 0.08  # of all calls
    failed_share: float = 0.03  # of all calls (congestion, invalid)
    ring_mean: float = 8.0  # placed -> answered, for answered calls
    ring_sd: float = 4.0
    ring_timeout: float = 25.0
    amd_min: float = 1.5  # answered -> person/machine known
    amd_max: float = 3.5
    message_mean: float = 15.0  # person answered -> transfer point
    message_sd: float = 3.0
    talk_mean: float = 180.0
    talk_sd: float = 120.0
    wrap_mean: float = 15.0
    wrap_sd: float = 5.0
    patience_mean: float = 30.0  # callers hang up waiting after an exponential time
    connect_limit: float = 2.0  # past this wait in the queue the call is dropped: abandoned
    duration: float = 7200.0
    shift_change_at: float | None = None  # half the operators log out after this
    # (at, new answer rate): a drop or a rise (a scenario file's `answer_rate_change`)
    answer_drop: tuple[float, float] | None = None
    # (at, operators logged in from then on): more log in, or the last ones log out after
    # their call and wrap-up (a scenario file's `operators_schedule`)
    operators_schedule: tuple[tuple[float, int], ...] = ()
    abandon_target: float = 0.03  # of live-answered calls
    seeds: int | None = None  # the bench's --seeds unless a scenario file says

    def answer_rate_at(self, t: float) -> float:
        if self.answer_drop is not None and t >= self.answer_drop[0]:
            return self.answer_drop[1]
        return self.answer_rate

    @property
    def lead_yield(self) -> float:
        """Leads per call placed, at the starting answer rate."""
        return self.answer_rate * (1.0 - self.machine_share) * self.want_operator

    @property
    def talk_ceiling(self) -> float:
        """Talk minutes per operator-hour if every operator talked back to back."""
        return 60.0 * self.talk_mean / (self.talk_mean + self.wrap_mean)


class Fate(IntEnum):
    LEAD = 0  # person who stays through the message and asks for an operator
    PERSON_LEAVES = 1  # person who hangs up during the message
    MACHINE = 2
    BUSY = 3
    FAILED = 4
    NO_ANSWER = 5


@dataclass(frozen=True)
class CallFate:
    fate: Fate
    resolve: float  # placed -> person answered, or placed -> call over (no person)
    message: float  # person answered -> transfer point, or -> hangup
    patience: float  # how long a lead waits in the queue before hanging up


def draw_fate(s: Scenario, t: float, u: list[float]) -> CallFate:
    answered, machine, r1, r2, amd, want, msg, patience = u
    ring = min(lognormal(s.ring_mean, s.ring_sd, r1, r2), s.ring_timeout)
    detect = s.amd_min + amd * (s.amd_max - s.amd_min)
    rate = s.answer_rate_at(t)
    wait = -s.patience_mean * math.log(1.0 - patience)
    if answered < rate:
        if machine < s.machine_share:
            return CallFate(Fate.MACHINE, ring + detect, 0.0, wait)
        message = lognormal(s.message_mean, s.message_sd, msg, r2)
        if want < s.want_operator:
            return CallFate(Fate.LEAD, ring + detect, message, wait)
        # `want` is uniform on [want_operator, 1) here: where in the message they leave.
        leaves_at = (want - s.want_operator) / (1.0 - s.want_operator)
        return CallFate(Fate.PERSON_LEAVES, ring + detect, message * leaves_at, wait)
    # Not answered: `answered` is uniform on [rate, 1); busy and failed are shares of all.
    rest = answered - rate
    if rest < s.busy_share:
        return CallFate(Fate.BUSY, 1.0 + 3.0 * r1, 0.0, wait)
    if rest < s.busy_share + s.failed_share:
        return CallFate(Fate.FAILED, 0.5 + 1.5 * r1, 0.0, wait)
    return CallFate(Fate.NO_ANSWER, s.ring_timeout, 0.0, wait)


def scenarios(duration: float) -> list[Scenario]:
    """The bench's scenarios: pool sizes, answer rates, a shift change, an answer drop."""
    half = duration / 2.0
    base = [
        Scenario("10 ops, 40% answer", 10, 0.40),
        Scenario("10 ops, 15% answer", 10, 0.15),
        Scenario("50 ops, 40% answer", 50, 0.40),
        Scenario("50 ops, 15% answer", 50, 0.15),
        Scenario("200 ops, 40% answer", 200, 0.40),
        Scenario("200 ops, 15% answer", 200, 0.15),
        Scenario("50 ops, 40%, shift change", 50, 0.40, shift_change_at=half),
        Scenario("50 ops, 40% -> 15% answer", 50, 0.40, answer_drop=(half, 0.15)),
    ]
    return [replace(s, duration=duration) for s in base]
