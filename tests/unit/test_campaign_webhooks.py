"""The campaign file's `webhooks:` section: what it accepts and the line it blames."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.campaign.loader import CampaignError, load_campaign
from dialer.campaign.webhooks import WebhookEvent

CAMPAIGN = """\
name: spring-promo
list: spring
ami:
  secret_env: DIALER_AMI_SECRET
dial:
  channel: PJSIP/{number}@trunk
webhooks:
  - url: https://crm.example.com/hook
    events: [attempt.finished, campaign.finished]
    secret_env: CRM_HOOK_SECRET
"""


def test_webhooks_are_read(tmp_path: Path) -> None:
    path = tmp_path / "campaign.yaml"
    path.write_text(CAMPAIGN, encoding="utf-8")
    (hook,) = load_campaign(path).webhooks
    assert hook.url == "https://crm.example.com/hook"
    assert hook.events == [WebhookEvent.ATTEMPT_FINISHED, WebhookEvent.CAMPAIGN_FINISHED]
    assert hook.secret_env == "CRM_HOOK_SECRET"


@pytest.mark.parametrize(
    ("good", "bad", "line"),
    [
        ("events: [attempt.finished, campaign.finished]", "events: [lead.cold]", 9),
        ("secret_env: CRM_HOOK_SECRET", "secret: hunter2", 10),
        ("url: https://crm.example.com/hook", "url: crm.example.com", 8),
    ],
)
def test_a_bad_webhook_is_refused_at_its_line(
    tmp_path: Path, good: str, bad: str, line: int
) -> None:
    path = tmp_path / "campaign.yaml"
    path.write_text(CAMPAIGN.replace(good, bad), encoding="utf-8")
    with pytest.raises(CampaignError) as caught:
        load_campaign(path)
    assert f"campaign.yaml:{line}:" in str(caught.value)
