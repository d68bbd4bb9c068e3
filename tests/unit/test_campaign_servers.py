"""The `servers:` of a campaign: a pool of Asterisk servers beside `ami:`; errors name
the file, line and field; each server's secret is checked before anything is dialled."""

from __future__ import annotations

import pytest

from dialer.campaign.ami_secret import resolve_pool_secrets
from dialer.campaign.loader import CampaignError, parse_campaign, resolve_ami_secret

POOL = """\
name: spring-promo
list: spring
ami:
  host: 10.0.0.11
  secret_env: PBX_A
  weight: 2
dial:
  channel: PJSIP/{{number}}@trunk
servers:
  - host: 10.0.0.12
    secret_env: PBX_B
    max_channels: 30
{more}"""


def test_given_a_pool_then_servers_have_names_weights_and_limits() -> None:
    campaign = parse_campaign(POOL.format(more=""))
    assert [(s.key, s.weight, s.max_channels) for s in campaign.asterisk_servers] == [
        ("10.0.0.11:5038", 2, None),
        ("10.0.0.12:5038", 1, 30),
    ]


def test_given_the_same_server_twice_then_the_error_names_it() -> None:
    with pytest.raises(CampaignError) as caught:
        parse_campaign(POOL.format(more="  - host: 10.0.0.12\n    secret_env: PBX_C\n"))
    text = str(caught.value)
    assert "campaign.yaml:9" in text and "servers" in text
    assert "10.0.0.12:5038" in text and "twice" in text


def test_given_a_bad_weight_then_file_line_and_field_are_named() -> None:
    with pytest.raises(CampaignError) as caught:
        parse_campaign(POOL.format(more="").replace("max_channels: 30", "weight: 0"))
    text = str(caught.value)
    assert "campaign.yaml:12" in text and "servers[0].weight" in text


def test_given_one_servers_secret_unset_then_it_fails_before_dialling_naming_it() -> None:
    campaign = parse_campaign(POOL.format(more=""))
    with pytest.raises(CampaignError) as caught:
        resolve_ami_secret(campaign, environ={"PBX_A": "a"})
    assert "PBX_B" in str(caught.value) and "servers.0.secret_env" in str(caught.value)
    assert resolve_pool_secrets(campaign, {"PBX_A": "a", "PBX_B": "b"}) == {
        "10.0.0.11:5038": "a",
        "10.0.0.12:5038": "b",
    }
