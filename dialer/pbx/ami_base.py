"""What every AMI module shares: the errors, the connection settings."""

from __future__ import annotations

from dataclasses import dataclass


class AmiError(Exception):
    """Base of AMI failures."""


class AmiConnectError(AmiError):
    """The AMI port could not be reached (refused, unreachable, timed out)."""


class AmiAuthError(AmiError):
    """Asterisk refused our username/secret. Fatal: retrying would not help."""


class AmiDisconnected(AmiError):
    """The link dropped (or was down) while the action was pending: its fate is unknown."""


class AmiActionTimeout(AmiError):
    """No response to an action within the action timeout."""


@dataclass(frozen=True)
class AmiConnectionSettings:
    host: str
    port: int
    username: str
    secret: str
    connect_timeout: float = 5.0
    action_timeout: float = 10.0
    ping_interval: float = 10.0
    reconnect_min_delay: float = 0.5
    reconnect_max_delay: float = 10.0
    # Past this without FullyBooted (a user without `system` read never gets it), go on.
    boot_timeout: float = 60.0
    # Unanswered this long while bytes still arrive: give up on the session, reconnect.
    stall_limit: float = 60.0

    def __repr__(self) -> str:  # never let the secret reach a log line or a traceback
        return f"AmiConnectionSettings({self.username}@{self.host}:{self.port})"
