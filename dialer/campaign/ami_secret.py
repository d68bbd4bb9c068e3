"""The AMI secret: written in the campaign file, or read from an environment variable.

Messages name the variable, never its value: they end up in logs and terminals.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

from dialer.campaign.connection import AmiSettings
from dialer.campaign.errors import CampaignError, CampaignProblem
from dialer.campaign.model import Campaign


def resolve_ami_secret(campaign: Campaign, environ: Mapping[str, str] = os.environ) -> str:
    """The first server's (ami:) secret: ami.secret if given, else the value of the
    variable named by ami.secret_env. Every other server's secret is checked too, so a
    pool with one unset variable fails here, before anything is dialled."""
    secrets = resolve_pool_secrets(campaign, environ)
    return secrets[campaign.ami.key]


def resolve_pool_secrets(
    campaign: Campaign, environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """Each Asterisk server's secret, by server name (AsteriskServer.key)."""
    return {
        server.key: server_secret(server, environ, "ami" if index == 0 else f"servers.{index - 1}")
        for index, server in enumerate(campaign.asterisk_servers)
    }


def server_secret(server: AmiSettings, environ: Mapping[str, str], where: str = "ami") -> str:
    if server.secret is not None:
        return server.secret
    name = server.secret_env or ""  # the model guarantees one of the two is set
    value = environ.get(name)
    field = f"{where}.secret_env"
    if value is None:
        _fail(
            field,
            f"environment variable {name} is not set; set it to the secret of AMI user "
            f"{server.username!r} (manager.conf), e.g. export {name}=...",
        )
    if not value:
        _fail(field, f"environment variable {name} is empty; it must hold the AMI secret")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        # The secret goes into an AMI header: a line break would inject headers.
        _fail(field, f"environment variable {name} contains a line break or control character")
    return value


def _fail(field: str, message: str) -> NoReturn:
    raise CampaignError([CampaignProblem(None, None, None, field, message)])
