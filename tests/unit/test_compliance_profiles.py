"""The figures each compliance profile sets (the README cites the rule behind each)."""

from __future__ import annotations

from datetime import timedelta

from dialer.policy.calling_windows import Window
from dialer.policy.compliance_profiles import PROFILES, Purpose, fits

EIGHT_TO_NINE = (Window.parse("08:00-21:00"),)


def test_profiles_are_the_five_the_campaign_file_names() -> None:
    assert set(PROFILES) == {"us", "uk", "ru", "ru-collection", "none"}


def test_us_tcpa_and_tsr() -> None:
    us = PROFILES["us"]
    assert us.legal_windows(0) == EIGHT_TO_NINE and us.legal_windows(6) == EIGHT_TO_NINE
    assert (us.max_abandon_rate, us.abandon_period) == (0.03, timedelta(days=30))
    assert us.max_connect_limit == timedelta(seconds=2)
    assert us.min_ring_timeout == timedelta(seconds=15)
    assert us.consent_purposes == {Purpose.ADVERTISING}


def test_uk_ofcom() -> None:
    uk = PROFILES["uk"]
    assert (uk.max_abandon_rate, uk.abandon_period) == (0.03, timedelta(hours=24))
    assert uk.frequency.abandoned_recall_hold == timedelta(hours=72)
    assert uk.frequency.no_same_day_machine_recall
    assert uk.max_connect_limit == timedelta(seconds=2)


def test_ru_advertising_needs_consent_and_a_person() -> None:
    ru = PROFILES["ru"]
    assert ru.legal_hours is None
    assert ru.default_hours.weekly[0] == (Window.parse("09:00-21:00"),)
    assert ru.consent_purposes == {Purpose.ADVERTISING}
    assert ru.advertising_needs_operator


def test_ru_collection_230_fz() -> None:
    collection = PROFILES["ru-collection"]
    assert collection.legal_windows(4) == (Window.parse("08:00-22:00"),)
    assert collection.legal_windows(5) == (Window.parse("09:00-20:00"),)
    assert collection.legal_windows(None) == (Window.parse("09:00-20:00"),)
    caps = collection.frequency
    assert (caps.connected_per_day, caps.connected_per_week, caps.connected_per_month) == (1, 2, 8)
    assert collection.purposes == {Purpose.COLLECTION}


def test_none_sets_no_limit() -> None:
    none = PROFILES["none"]
    assert none.legal_windows(0) is None and none.legal_windows(None) is None
    assert none.max_abandon_rate is None and not none.consent_purposes


def test_fits() -> None:
    assert fits((Window.parse("09:00-12:00"), Window.parse("13:00-20:00")), EIGHT_TO_NINE)
    assert not fits((Window.parse("07:59-12:00"),), EIGHT_TO_NINE)
    assert fits((), EIGHT_TO_NINE)
