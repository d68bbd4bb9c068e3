"""The AMI secret: written in the campaign file, or read from an environment variable.

Messages name the variable, never its value: they end up in logs and terminals.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import NoReturn

from dialer.campaign.errors import CampaignError, CampaignProblem
from dialer.campaign.model import Campaign


def resolve_ami_secret(campaign: Campaign, environ: Mapping[str, str] = os.environ) -> str:
    """ami.secret if given, else the value of the variable named by ami.secret_env."""
    ami = campaign.ami
    if ami.secret is not None:
        return ami.secret
    name = ami.secret_env or ""  # the model guarantees one of the two is set
    value = environ.get(name)
    if value is None:
        _fail(
            f"environment variable {name} is not set; set it to the secret of AMI user "
            f"{ami.username!r} (manager.conf), e.g. export {name}=...",
        )
    if not value:
        _fail(f"environment variable {name} is empty; it must hold the AMI secret")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        # The secret goes into an AMI header: a line break would inject headers.
        _fail(f"environment variable {name} contains a line break or control character")
    return value


def _fail(message: str) -> NoReturn:
    raise CampaignError([CampaignProblem(None, None, None, "ami.secret_env", message)])
