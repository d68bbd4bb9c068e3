"""A campaign's webhooks: which events are POSTed to which URL, signed with which secret.

The secret itself never sits in the file (nor in the store): `secret_env` names the
environment variable of the service that holds it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from dialer.campaign.fields import Strict


class WebhookEvent(StrEnum):
    LEAD_HOT = "lead.hot"
    LEAD_WARM = "lead.warm"
    TRANSFERRED = "call.transferred"  # reached an operator
    ATTEMPT_FINISHED = "attempt.finished"
    OPT_OUT = "contact.opted_out"
    CAMPAIGN_FINISHED = "campaign.finished"


class WebhookSettings(Strict):
    """One receiver."""

    url: str = Field(..., pattern=r"^https?://\S+$", description="where events are POSTed")
    events: list[WebhookEvent] = Field(
        ..., min_length=1, description="which events this receiver is sent"
    )
    secret_env: str = Field(
        ...,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="environment variable holding the HMAC-SHA256 signing secret",
    )
