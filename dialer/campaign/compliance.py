"""What a campaign's compliance section means for the engine, and the settings a
profile refuses.

    hours = calling_hours_of(campaign)       # CallingHours, callee local
    caps = frequency_caps_of(campaign)       # FrequencyCaps, profile defaults + overrides
    scope = consent_scope_needed(campaign)   # None, or the purpose a consent must cover
    zones = zone_settings_of(campaign).zones_for(number, stored_timezone, fields)

compliance_problems(campaign) lists (path in the file, message) for every setting that
breaks the profile; the loader shows them as file:line errors. The README's
"Compliance" section cites the rule behind each limit (not legal advice).
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import timedelta

from dialer.campaign.compliance_settings import (
    ComplianceSettings,
    FrequencySettings,
    ProfileName,
    parse_days,
    parse_windows,
)
from dialer.campaign.model import AnswerAction, Campaign, PacingMode
from dialer.contacts.zones import ZoneSettings
from dialer.durations import format_duration
from dialer.policy.calling_windows import CallingHours, windows_text
from dialer.policy.compliance_profiles import PROFILES, ComplianceProfile, Purpose, fits
from dialer.policy.frequency import FrequencyCaps

__all__ = [
    "ComplianceSettings",
    "ProfileName",
    "calling_hours_of",
    "compliance_problems",
    "consent_scope_needed",
    "frequency_caps_of",
    "operator_guaranteed",
    "operator_in_flow",
    "profile_of",
    "purpose_of",
    "zone_settings_of",
]

YamlPath = tuple[str | int, ...]
Problem = tuple[YamlPath, str]
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_CAPS = ("attempts_per_", "connected_per_")


def profile_of(campaign: Campaign) -> ComplianceProfile:
    return PROFILES[campaign.compliance.profile.value]


def purpose_of(campaign: Campaign) -> Purpose:
    return campaign.compliance.purpose or profile_of(campaign).default_purpose


def calling_hours_of(campaign: Campaign) -> CallingHours:
    """The campaign's calling hours (callee local); unset parts take the profile's."""
    settings = campaign.compliance
    defaults = profile_of(campaign).default_hours
    weekly = list(defaults.weekly)
    for key, text in (settings.calling_hours or {}).items():
        for day in parse_days(key):
            weekly[day] = parse_windows(text)
    holidays = settings.holidays
    return CallingHours(
        weekly=tuple(weekly),
        on_holidays=holidays.windows if holidays else defaults.on_holidays,
        holiday_country=holidays.country if holidays else defaults.holiday_country,
        holiday_subdivision=holidays.subdivision if holidays else None,
        blackout_dates=frozenset(settings.blackout_dates),
    )


def frequency_caps_of(campaign: Campaign) -> FrequencyCaps:
    """The profile's caps with the campaign's overrides (validated to be no looser)."""
    chosen = campaign.compliance.frequency
    overrides = {
        name: value
        for name in FrequencySettings.model_fields
        if (value := getattr(chosen, name)) is not None
    }
    return replace(profile_of(campaign).frequency, **overrides)


def consent_scope_needed(campaign: Campaign) -> str | None:
    """None when the campaign may call without consent; else the purpose a contact's
    consent must cover."""
    purpose = purpose_of(campaign)
    needed = campaign.compliance.require_consent or purpose in profile_of(campaign).consent_purposes
    return purpose.value if needed else None


def operator_in_flow(campaign: Campaign) -> bool:
    """An answered call can reach a live operator: queued after the message, or an IVR
    transfer step."""
    if campaign.on_answer.action is AnswerAction.PLAY_AND_QUEUE:
        return True
    steps = campaign.ivr.steps.values() if campaign.ivr else ()
    return any(getattr(step, "kind", "") == "transfer" for step in steps)


def operator_guaranteed(campaign: Campaign) -> bool:
    """An operator is guaranteed only when calls are placed one per free operator
    (progressive) and every answered call can reach the queue."""
    return campaign.pacing.mode is PacingMode.PROGRESSIVE and operator_in_flow(campaign)


def zone_settings_of(campaign: Campaign) -> ZoneSettings:
    settings = campaign.compliance
    return ZoneSettings(
        timezone_field=settings.timezone_field,
        region_field=settings.region_field,
        region_zones={k.strip().casefold(): v for k, v in settings.region_zones.items()},
        default_timezone=settings.default_timezone,
    )


def compliance_problems(campaign: Campaign) -> list[Problem]:
    """Every setting of the campaign that its compliance profile refuses."""
    profile = profile_of(campaign)
    return [
        *_hours_problems(campaign.compliance, profile),
        *_frequency_problems(campaign.compliance.frequency, profile),
        *_purpose_problems(campaign, profile),
        *_pacing_problems(campaign, profile),
    ]


def _hours_problems(settings: ComplianceSettings, profile: ComplianceProfile) -> list[Problem]:
    problems: list[Problem] = []
    where = f"the {profile.name} profile"
    for key, text in (settings.calling_hours or {}).items():
        windows = parse_windows(text)
        for day in parse_days(key):
            legal = profile.legal_windows(day)
            if legal is not None and not fits(windows, legal):
                problems.append(
                    (
                        ("compliance", "calling_hours", key),
                        f"{text} is wider than {where} allows on {_DAY_NAMES[day]} "
                        f"({windows_text(legal)}, callee local time)",
                    )
                )
                break
    holidays = settings.holidays
    legal_holidays = profile.legal_hours.holiday_country if profile.legal_hours else None
    if legal_holidays and holidays and holidays.country != legal_holidays:
        problems.append(
            (
                ("compliance", "holidays", "country"),
                f"{where} follows the public holidays of {legal_holidays}, not {holidays.country}",
            )
        )
    holiday_legal = profile.legal_windows(None)
    if holidays and holiday_legal is not None and not fits(holidays.windows, holiday_legal):
        problems.append(
            (
                ("compliance", "holidays", "hours"),
                f"{holidays.hours} is wider than {where} allows on a public holiday "
                f"({windows_text(holiday_legal)}, callee local time)",
            )
        )
    return problems


def _frequency_problems(settings: FrequencySettings, profile: ComplianceProfile) -> list[Problem]:
    problems: list[Problem] = []
    ceiling = profile.frequency
    for spec in fields(FrequencyCaps):
        name = spec.name
        mine, limit = getattr(settings, name), getattr(ceiling, name)
        if mine is None or limit is None:
            continue
        looser = (
            mine > limit
            if name.startswith(_CAPS)
            else (mine < limit if isinstance(limit, timedelta) else limit and not mine)
        )
        if looser:
            shown = format_duration(limit) if isinstance(limit, timedelta) else str(limit).lower()
            problems.append(
                (
                    ("compliance", "frequency", name),
                    f"the {profile.name} profile sets {name} to {shown}; a campaign may "
                    "be stricter, not looser",
                )
            )
    return problems


def _purpose_problems(campaign: Campaign, profile: ComplianceProfile) -> list[Problem]:
    purpose = purpose_of(campaign)
    at: YamlPath = ("compliance", "purpose")
    if purpose not in profile.purposes:
        allowed = ", ".join(sorted(profile.purposes))
        return [(at, f"the {profile.name} profile is for {allowed} calls, not {purpose}")]
    if (
        profile.advertising_needs_operator
        and purpose is Purpose.ADVERTISING
        and not operator_in_flow(campaign)
    ):
        return [
            (
                at,
                f"the {profile.name} profile refuses advertising dialled automatically with "
                "no person in the call (38-FZ art. 18 part 2): put an operator in the flow "
                "(on_answer.action: play_and_queue, or an ivr transfer step)",
            )
        ]
    return []


def _pacing_problems(campaign: Campaign, profile: ComplianceProfile) -> list[Problem]:
    problems: list[Problem] = []
    pacing, name = campaign.pacing, profile.name
    if profile.max_abandon_rate is not None and pacing.abandon_target > profile.max_abandon_rate:
        problems.append(
            (
                ("pacing", "abandon_target"),
                f"the {name} profile allows at most {profile.max_abandon_rate:g} abandoned "
                f"calls per {format_duration(profile.abandon_period or timedelta(0))}",
            )
        )
    limit = profile.max_connect_limit
    if limit is not None and pacing.connect_limit > limit:
        problems.append(
            (
                ("pacing", "connect_limit"),
                f"the {name} profile gives a person at most {format_duration(limit)} to reach "
                "an operator or the identification message",
            )
        )
    ring = profile.min_ring_timeout
    if ring is not None and campaign.dial.ring_timeout < ring:
        problems.append(
            (
                ("dial", "ring_timeout"),
                f"the {name} profile lets a phone ring at least {format_duration(ring)}",
            )
        )
    if (
        profile.frequency.abandoned_recall_hold is not None
        and pacing.operator_guaranteed
        and not operator_guaranteed(campaign)
    ):
        problems.append(
            (
                ("pacing", "operator_guaranteed"),
                f"under the {name} profile an operator is guaranteed only in progressive "
                "mode with a queue in the flow",
            )
        )
    return problems
