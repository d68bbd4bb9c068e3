"""Calls an earlier process placed and never saw end, as the runner takes them over."""

from __future__ import annotations

from dialer.engine.dialer_port import OpenCall
from dialer.store.base import LeasedContact, OpenAttempt


def lease_of(attempt: OpenAttempt) -> LeasedContact:
    """What the runner keeps for a call in flight; the contact's name, zone and fields
    are not needed to close it."""
    return LeasedContact(
        campaign_id=attempt.campaign_id,
        contact_id=attempt.contact_id,
        number=attempt.number,
        name=None,
        timezone=None,
        fields={},
        attempts_made=attempt.attempts_made,
        outcome_counts=attempt.outcome_counts,
    )


def open_call_of(attempt: OpenAttempt) -> OpenCall:
    """The call for the PBX side to find again, on the server it was placed on."""
    return OpenCall(attempt.attempt_id, attempt.started_at, attempt.server)
