"""Compliance profiles: the legal defaults and limits a campaign names with
`compliance.profile`. Pure values; the campaign loader refuses settings that break them.

The README's "Compliance" section cites the rule behind each figure. This is not legal
advice: the figures are the project's reading of the rules, to be checked by whoever
runs the campaign.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from dialer.policy.calling_windows import CallingHours, Window, Windows
from dialer.policy.frequency import FrequencyCaps
from dialer.regulation import ABANDONED_RECALL_HOLD


class Purpose(StrEnum):
    ADVERTISING = "advertising"
    INFORMATIONAL = "informational"
    COLLECTION = "collection"
    SURVEY = "survey"


# Without a profile's limit, calls go 09:00-21:00 every day in the callee's local time.
USUAL_HOURS = CallingHours.every_day(Window.parse("09:00-21:00"))


@dataclass(frozen=True)
class ComplianceProfile:
    name: str
    # The widest calling hours the rule allows, callee local (None: no legal limit);
    # on_holidays applies on the public holidays of holiday_country.
    legal_hours: CallingHours | None
    max_abandon_rate: float | None = None  # abandoned share of live-answered calls...
    abandon_period: timedelta | None = None  # ...measured over this, per campaign
    # Longest wait between the callee's greeting and an operator or the identification.
    max_connect_limit: timedelta | None = None
    min_ring_timeout: timedelta | None = None
    frequency: FrequencyCaps = field(default_factory=FrequencyCaps)  # defaults and ceilings
    consent_purposes: frozenset[Purpose] = frozenset()  # purposes that need prior consent
    # Advertising may not be dialled automatically with no person in the call (38-FZ).
    advertising_needs_operator: bool = False
    purposes: frozenset[Purpose] = frozenset(Purpose)  # what the profile is for
    default_purpose: Purpose = Purpose.INFORMATIONAL

    @property
    def default_hours(self) -> CallingHours:
        """09:00-21:00 every day, cut to the legal hours."""
        legal = self.legal_hours
        if legal is None:
            return USUAL_HOURS
        usual = USUAL_HOURS.weekly[0]
        return CallingHours(
            weekly=tuple(_cut(usual, day) for day in legal.weekly),
            on_holidays=_cut(usual, legal.on_holidays) if legal.holiday_country else (),
            holiday_country=legal.holiday_country,
        )

    def legal_windows(self, weekday: int | None) -> Windows | None:
        """The legal windows of a weekday (0 = Monday), or of a public holiday (None);
        None when the profile sets no limit."""
        legal = self.legal_hours
        if legal is None:
            return None
        if weekday is not None:
            return legal.weekly[weekday]
        if legal.holiday_country:
            return legal.on_holidays
        # No holiday rule of its own: a holiday may fall on any day, so every day's limit.
        return _common(legal.weekly)


def fits(windows: Windows, legal: Windows) -> bool:
    """Every window lies inside one legal window."""
    return all(any(limit.covers(w) for limit in legal) for w in windows)


def _cut(windows: Windows, limits: Windows) -> Windows:
    cut = []
    for w in windows:
        for limit in limits:
            start, end = max(w.start, limit.start), min(w.end, limit.end)
            if start < end:
                cut.append(Window(start, end))
    return tuple(sorted(cut))


def _common(days: tuple[Windows, ...]) -> Windows:
    common = days[0]
    for day in days[1:]:
        common = _cut(common, day)
    return common


_EIGHT_TO_NINE = CallingHours.every_day(Window.parse("08:00-21:00"))
_WORKDAY = (Window.parse("08:00-22:00"),)
_DAY_OFF = (Window.parse("09:00-20:00"),)

PROFILES: dict[str, ComplianceProfile] = {
    profile.name: profile
    for profile in (
        # FCC TCPA 47 CFR 64.1200(c)(1), FTC TSR 16 CFR 310.4(c): 08:00-21:00 callee
        # local. TSR 310.4(b)(4): abandoned <= 3% of live-answered calls per 30 days per
        # campaign; a live operator or the identification message within 2 s of the
        # greeting; ringing at least 15 s or 4 rings. 47 CFR 64.1200(a)(2)-(3):
        # prerecorded advertising needs prior express written consent.
        ComplianceProfile(
            name="us",
            legal_hours=_EIGHT_TO_NINE,
            max_abandon_rate=0.03,
            abandon_period=timedelta(days=30),
            max_connect_limit=timedelta(seconds=2),
            min_ring_timeout=timedelta(seconds=15),
            consent_purposes=frozenset({Purpose.ADVERTISING}),
        ),
        # Ofcom's statement of policy on persistent misuse: abandoned <= 3% per 24 h per
        # campaign; an information message within 2 s; no call again within 72 h of an
        # abandoned call, nor the same day after an answering machine was detected,
        # unless an operator is guaranteed; ringing at least 15 s. PECR reg. 19:
        # automated marketing calls need prior consent. Hours: 08:00-21:00, a sane limit.
        ComplianceProfile(
            name="uk",
            legal_hours=_EIGHT_TO_NINE,
            max_abandon_rate=0.03,
            abandon_period=timedelta(hours=24),
            max_connect_limit=timedelta(seconds=2),
            min_ring_timeout=timedelta(seconds=15),
            frequency=FrequencyCaps(
                abandoned_recall_hold=ABANDONED_RECALL_HOLD, no_same_day_machine_recall=True
            ),
            consent_purposes=frozenset({Purpose.ADVERTISING}),
        ),
        # 38-FZ "On Advertising" art. 18 part 1: advertising by telephone needs the
        # callee's prior consent; part 2: automatic dialling of advertising "without
        # human participation" is banned. Hours as configured (default 09:00-21:00).
        ComplianceProfile(
            name="ru",
            legal_hours=None,
            consent_purposes=frozenset({Purpose.ADVERTISING}),
            advertising_needs_operator=True,
        ),
        # 230-FZ art. 7: a debtor may be called on working days 08:00-22:00 and on days
        # off and public holidays 09:00-20:00, callee local; a conversation at most once
        # a day, twice a week, eight times a month.
        ComplianceProfile(
            name="ru-collection",
            legal_hours=CallingHours(
                weekly=(_WORKDAY,) * 5 + (_DAY_OFF,) * 2,
                on_holidays=_DAY_OFF,
                holiday_country="RU",
            ),
            frequency=FrequencyCaps(
                connected_per_day=1, connected_per_week=2, connected_per_month=8
            ),
            purposes=frozenset({Purpose.COLLECTION}),
            default_purpose=Purpose.COLLECTION,
        ),
        ComplianceProfile(name="none", legal_hours=None),
    )
}
