"""What the operator pacers learn about calls: running means with priors, duration
distributions with survival, and the set of estimates one pacer keeps. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from dialer.policy.talk_times import TalkTimes


@dataclass
class Estimate:
    """Exponentially weighted mean that starts from a prior worth `prior_weight` samples.

    Each sample weighs 1 and older ones fade by (1 - 1/memory) per new sample: the mean
    follows a change within about `memory` samples, and a handful already move it off the
    prior. `weight` doubles as the sample size behind the mean.
    """

    value: float
    memory: float = 200.0
    prior_weight: float = 2.0
    weight: float = field(init=False)
    samples: int = 0

    def __post_init__(self) -> None:
        self.weight = self.prior_weight

    def observe(self, sample: float, count: int = 1) -> None:
        """Add `count` samples whose mean is `sample` (in whatever order they came)."""
        self.weight = self.weight * (1.0 - 1.0 / self.memory) ** count + count
        self.value += (sample - self.value) * count / self.weight
        self.samples += count

    def observe_all(self, samples: list[float]) -> None:
        self.observe(sum(samples) / len(samples), len(samples))

    def relative_variance(self) -> float:
        """Squared relative standard error of a proportion estimated this way."""
        p = min(max(self.value, 0.01), 1.0)
        return (1.0 - p) / (p * self.weight)


@dataclass
class Durations:
    """How long something takes, as a histogram of 1 s bins up to `longest_s`.

    Weighted like `Estimate` (older samples fade) and started from an exponential prior
    worth `prior_weight` samples. Beside the mean it tells the share still going on at a
    given age: ring times are far from memoryless (almost nobody answers in the first two
    seconds, unanswered calls ring to the timeout), and a burst of calls placed together
    is only judged right with their real shape.
    """

    prior_mean: float
    longest_s: float
    memory: float = 500.0
    prior_weight: float = 2.0
    samples: int = 0
    _bins: list[float] = field(init=False)
    _tails: list[float] | None = field(init=False, default=None)
    _mean: float | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        shape = [math.exp(-(i + 0.5) / self.prior_mean) for i in range(math.ceil(self.longest_s))]
        self._bins = [self.prior_weight * w / sum(shape) for w in shape]

    @property
    def value(self) -> float:
        if self._mean is None:
            self._mean = sum((i + 0.5) * w for i, w in enumerate(self._bins)) / sum(self._bins)
        return self._mean

    def observe(self, sample: float) -> None:
        self.observe_all([sample])

    def observe_all(self, samples: list[float]) -> None:
        fade = (1.0 - 1.0 / self.memory) ** len(samples)
        self._bins = [w * fade for w in self._bins]
        last = len(self._bins) - 1
        for sample in samples:
            self._bins[min(max(int(sample), 0), last)] += 1.0
        self.samples += len(samples)
        self._tails = None
        self._mean = None

    def survival(self, age: float) -> float:
        """Share of the durations longer than `age`."""
        if self._tails is None:
            tails = [0.0] * (len(self._bins) + 1)
            for i in range(len(self._bins) - 1, -1, -1):
                tails[i] = tails[i + 1] + self._bins[i]
            self._tails = tails
        if age <= 0.0:
            return 1.0
        i = int(age)
        if i >= len(self._bins):
            return 0.0
        inside = self._bins[i] * (1.0 - (age - i))
        return (self._tails[i + 1] + inside) / self._tails[0]


def _share(prior: float) -> Estimate:
    # Proportions need more samples than times for the same precision.
    return Estimate(prior, memory=500.0)


@dataclass
class Estimates:
    """What the pacers learn. The priors say every call yields a lead, so with no data the
    predictive pacer dials about one call per free operator (progressive) and learns."""

    ring_s: Durations  # placed -> person on the line
    miss_s: Durations  # placed -> over with no person
    person: Estimate = field(default_factory=lambda: _share(1.0))  # P(a person answers)
    transfer: Estimate = field(default_factory=lambda: _share(1.0))  # P(lead | person)
    # person -> transfer
    message_s: Durations = field(default_factory=lambda: Durations(15.0, 120.0))
    talk_s: TalkTimes = field(default_factory=lambda: TalkTimes(180.0))
    wrap_s: Durations = field(default_factory=lambda: Durations(15.0, 600.0))

    @property
    def lead_yield(self) -> float:
        """Share of placed calls that end up asking for an operator."""
        return self.person.value * self.transfer.value

    def yield_uncertainty(self) -> float:
        """Relative standard error of `lead_yield`."""
        return math.sqrt(self.person.relative_variance() + self.transfer.relative_variance())

    def as_dict(self) -> dict[str, float]:
        return {
            "person_answer_rate": round(self.person.value, 4),
            "transfer_share": round(self.transfer.value, 4),
            "ring_s": round(self.ring_s.value, 2),
            "message_s": round(self.message_s.value, 2),
            "talk_s": round(self.talk_s.value, 1),
            "wrap_s": round(self.wrap_s.value, 1),
        }
