"""Building blocks of the campaign model: the strict base model, the patterns names and
values must match (with the plain words the loader shows when they do not), and the
validators several sections share."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from ivr.script_fields import PATTERN_HINTS as IVR_PATTERN_HINTS

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
ASTERISK_NAME_PATTERN = r"^[A-Za-z0-9_/.-]{1,128}$"  # sound names, queue names, contexts
EXTEN_PATTERN = r"^[A-Za-z0-9_+*#]{1,32}$"
HOST_PATTERN = r"^[A-Za-z0-9_.:-]{1,253}$"  # host name, IPv4 or bare IPv6 address
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"
# Channel variable names and values end up in an AMI header: no separators, no newlines.
VAR_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
VAR_VALUE_PATTERN = r"^[^\r\n,=|]{0,200}$"
# Everything a dial string needs (PJSIP/{number}@trunk, SIP/trunk/{number},
# IAX2/peer/{number}, Local/{number}@ctx/n) and nothing Asterisk treats as a separator
# (& joins channels in Dial, ',' and '|' separate arguments, spaces and newlines end
# an AMI header).
CHANNEL_CHARS = re.compile(r"[A-Za-z0-9_.@:/+#*{}-]")
TECH_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]*/.")

# Plain words for each pattern above, used by the loader when a value does not match.
PATTERN_HINTS: dict[str, str] = {
    NAME_PATTERN: "expected a name of letters, digits, '_', '.' or '-' "
    "(starting with a letter or digit, at most 64 characters)",
    ASTERISK_NAME_PATTERN: "expected an Asterisk name of letters, digits, '_', '/', '.' or '-' "
    "(no spaces, at most 128 characters)",
    EXTEN_PATTERN: "expected a dialplan extension of letters, digits, '_', '+', '*' or '#'",
    HOST_PATTERN: "expected a host name or IP address (no spaces, no scheme, no port)",
    ENV_NAME_PATTERN: "expected an environment variable name such as DIALER_AMI_SECRET "
    "(letters, digits and '_', not starting with a digit)",
    VAR_NAME_PATTERN: "expected a variable name of letters, digits and '_' "
    "(not starting with a digit, at most 64 characters)",
    VAR_VALUE_PATTERN: "expected a channel variable value without line breaks, ',', '=' or '|' "
    "(at most 200 characters)",
    **IVR_PATTERN_HINTS,
}
# Error type raised when on_answer.action is ivr and the file has no ivr: section; the
# message is shown at on_answer.action, the line to change if the script was not meant.
IVR_SCRIPT_MISSING = "ivr_script_missing"

VariableName = Annotated[str, StringConstraints(pattern=VAR_NAME_PATTERN)]
VariableValue = Annotated[str, StringConstraints(pattern=VAR_VALUE_PATTERN)]


def single_line(value: str, what: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{what} must be a single line without control characters")
    return value


class Strict(BaseModel):
    """Unknown keys are errors (a typo must not silently fall back to a default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
