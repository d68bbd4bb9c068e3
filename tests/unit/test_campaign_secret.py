"""The AMI secret: from the file or from an environment variable, never shown."""

from __future__ import annotations

import pytest

from dialer.campaign.loader import CampaignError, parse_campaign, resolve_ami_secret
from dialer.campaign.model import Campaign

TEMPLATE = """\
name: spring-promo
list: spring
ami:
  {secret_line}
dial:
  channel: PJSIP/{{number}}@trunk
"""


def campaign_with(secret_line: str) -> Campaign:
    return parse_campaign(TEMPLATE.format(secret_line=secret_line))


def test_given_secret_in_file_then_it_is_used_and_environment_ignored() -> None:
    campaign = campaign_with("secret: s3cret")

    assert resolve_ami_secret(campaign, environ={"DIALER_AMI_SECRET": "other"}) == "s3cret"


def test_given_secret_env_then_the_variable_value_is_used() -> None:
    campaign = campaign_with("secret_env: DIALER_AMI_SECRET")

    assert resolve_ami_secret(campaign, environ={"DIALER_AMI_SECRET": "s3cret"}) == "s3cret"


def test_given_secret_env_and_no_environ_argument_then_process_environment_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DIALER_TEST_AMI_SECRET", "from-env")
    campaign = campaign_with("secret_env: DIALER_TEST_AMI_SECRET")

    assert resolve_ami_secret(campaign) == "from-env"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {},
            "ami.secret_env: environment variable DIALER_AMI_SECRET is not set; set it to "
            "the secret of AMI user 'dialer' (manager.conf), e.g. export DIALER_AMI_SECRET=...",
        ),
        (
            {"DIALER_AMI_SECRET": ""},
            "ami.secret_env: environment variable DIALER_AMI_SECRET is empty; "
            "it must hold the AMI secret",
        ),
        (
            {"DIALER_AMI_SECRET": "hunter2\r\nAction: Originate"},
            "ami.secret_env: environment variable DIALER_AMI_SECRET contains a line break "
            "or control character",
        ),
    ],
)
def test_given_secret_env_unusable_then_error_names_the_variable_not_the_value(
    environ: dict[str, str], message: str
) -> None:
    campaign = campaign_with("secret_env: DIALER_AMI_SECRET")

    with pytest.raises(CampaignError) as caught:
        resolve_ami_secret(campaign, environ=environ)

    assert str(caught.value) == message
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("secret_lines", "message"),
    [
        ("secret: a\n  secret_env: B", "give either secret or secret_env, not both"),
        ("host: pbx", "give secret_env (name of an environment variable holding the AMI "
         "secret) or secret"),
        ("secret: ''", "must not be empty"),
    ],
)  # fmt: skip
def test_given_secret_settings_wrong_then_file_is_rejected(secret_lines: str, message: str) -> None:
    with pytest.raises(CampaignError) as caught:
        campaign_with(secret_lines)

    assert [p.message for p in caught.value.problems] == [message]
