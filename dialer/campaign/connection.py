"""Where a campaign reaches Asterisk: the AMI connection, the dial settings, and the
FastAGI server Asterisk calls back for IVR campaigns."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from dialer.campaign.fields import (
    ASTERISK_NAME_PATTERN,
    CHANNEL_CHARS,
    ENV_NAME_PATTERN,
    EXTEN_PATTERN,
    HOST_PATTERN,
    TECH_PREFIX,
    Strict,
    VariableName,
    VariableValue,
    single_line,
)
from dialer.durations import Duration, format_duration


class AmiSettings(Strict):
    """Asterisk Manager Interface connection (manager.conf on the Asterisk side)."""

    host: str = Field(
        "127.0.0.1", pattern=HOST_PATTERN, description="Asterisk host name or IP address"
    )
    port: int = Field(5038, ge=1, le=65535, description="AMI TCP port")
    username: str = Field(
        "dialer", min_length=1, description="AMI user: a [section] name in manager.conf"
    )
    secret: str | None = Field(
        None,
        min_length=1,
        repr=False,  # never show the secret in logs or tracebacks
        description="AMI secret written in this file; prefer secret_env",
    )
    secret_env: str | None = Field(
        None,
        pattern=ENV_NAME_PATTERN,
        description="name of the environment variable holding the AMI secret",
    )
    connect_timeout: Duration = Field(
        timedelta(seconds=5), gt=timedelta(0), description="give up a TCP connect after this"
    )
    action_timeout: Duration = Field(
        timedelta(seconds=10),
        gt=timedelta(0),
        description="give up waiting for the response to an AMI action after this",
    )
    ping_interval: Duration = Field(
        timedelta(seconds=10),
        gt=timedelta(0),
        description="send an AMI Ping this often to detect a dead connection",
    )

    @field_validator("username", "secret")
    @classmethod
    def _header_safe(cls, value: str | None) -> str | None:
        # Both go into AMI headers of the Login action: a line break would inject headers.
        return None if value is None else single_line(value, "this value")

    @model_validator(mode="after")
    def _one_secret(self) -> AmiSettings:
        if self.secret is not None and self.secret_env is not None:
            raise ValueError("give either secret or secret_env, not both")
        if self.secret is None and self.secret_env is None:
            raise ValueError(
                "give secret_env (name of an environment variable holding the AMI secret) or secret"
            )
        return self


class AsteriskServer(AmiSettings):
    """One Asterisk server a campaign dials through: its AMI connection, and its part of
    a pool (`ami:` is the first server; `servers:` adds more)."""

    name: str | None = Field(
        None,
        pattern=ASTERISK_NAME_PATTERN,
        description="the server's name in the store and in logs; default host:port. "
        "Keep it stable: calls open when the dialer stops are reconciled on the server "
        "of that name",
    )
    weight: int = Field(
        1, ge=1, le=1000, description="share of the calls: calls go where in-flight/weight is least"
    )
    max_channels: int | None = Field(
        None,
        ge=1,
        description="calls this server may carry at once (every campaign's calls on it); "
        "none: only the campaign's pacing.max_channels limits it",
    )

    @property
    def key(self) -> str:
        """The name the store keeps with each call placed on this server."""
        return self.name or f"{self.host}:{self.port}"


class TrunkSettings(Strict):
    """The trunk the calls go out through, when campaigns share its channels."""

    name: str = Field(
        ...,
        pattern=ASTERISK_NAME_PATTERN,
        description="the trunk's name; campaigns on the same Asterisk that give the same "
        "name share its channel limit",
    )
    max_channels: int = Field(
        ..., ge=1, le=5000, description="calls up at once through the trunk, all campaigns"
    )


class DialSettings(Strict):
    """How each call is placed: the fields of the AMI Originate action."""

    channel: str = Field(
        ...,
        description="dial string template; {number} is replaced by the E.164 number "
        "(digits and a leading + only), e.g. PJSIP/{number}@trunk",
    )
    caller_id: str = Field(
        "",
        max_length=128,
        description='caller ID shown to the callee, e.g. "Spring Promo" <+74950000000>; '
        "empty leaves it to the trunk",
    )
    context: str = Field(
        "dialer-answered",
        pattern=ASTERISK_NAME_PATTERN,
        description="dialplan context an answered call continues in",
    )
    exten: str = Field("s", pattern=EXTEN_PATTERN, description="extension in that context")
    priority: int = Field(1, ge=1, description="priority in that extension")
    ring_timeout: Duration = Field(
        timedelta(seconds=30),
        description="how long to let the callee's phone ring; at least 15s",
    )
    trunk: TrunkSettings | None = Field(
        None,
        description="a trunk whose channel limit this campaign shares with the other "
        "campaigns of the node naming it (none: only pacing.max_channels caps the calls)",
    )
    variables: dict[VariableName, VariableValue] = Field(
        default_factory=dict,
        json_schema_extra={"additionalProperties": False},
        description="extra channel variables set on every call (NAME: value)",
    )

    @field_validator("channel")
    @classmethod
    def _channel_template(cls, value: str) -> str:
        if "{number}" not in value:
            raise ValueError("must contain the {number} placeholder, e.g. PJSIP/{number}@trunk")
        rest = value.replace("{number}", "")
        if "{" in rest or "}" in rest:
            raise ValueError("may only use the {number} placeholder")
        bad = sorted({c for c in rest if not CHANNEL_CHARS.fullmatch(c)})
        if bad:
            shown = ", ".join(repr(c) for c in bad)
            raise ValueError(
                f"{shown} cannot be part of a dial string (Asterisk could dial something "
                "else); use letters, digits and _ . @ : / + # * - only"
            )
        if not TECH_PREFIX.match(value):
            raise ValueError("must look like TECH/resource, e.g. PJSIP/{number}@trunk")
        return value

    @field_validator("caller_id")
    @classmethod
    def _caller_id_line(cls, value: str) -> str:
        return single_line(value, "caller_id")

    @field_validator("ring_timeout")
    @classmethod
    def _ring_long_enough(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=15):
            # Shorter rings hang up on people reaching for the phone; carriers and
            # regulators treat that as a nuisance call.
            raise ValueError(f"must be at least 15s, got {format_duration(value)}")
        return value


class AudioSocketSettings(Strict):
    """The media server Asterisk's AudioSocket() streams answered calls to
    (on_answer.media: stream): prompts out, the caller's voice in, barge-in."""

    host: str = Field("127.0.0.1", pattern=HOST_PATTERN, description="address to listen on")
    port: int = Field(4574, ge=0, le=65535, description="port to listen on (0: any free port)")
    advertise: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9.:\[\]-]{1,255}$",
        description="host:port Asterisk connects to (AudioSocket(uuid,<advertise>)); "
        "default host:port",
    )
    sounds_dirs: tuple[Path, ...] = Field(
        (Path("/usr/share/asterisk/sounds/en"), Path("/var/lib/asterisk/sounds/en")),
        description="where the dialer finds Asterisk's own prompts (hello-world, beep) to "
        "stream them; the script's sounds_dir prompts are found anyway",
    )


class FastAgiSettings(Strict):
    """Where the dialer's FastAGI server listens for answered calls (action ivr)."""

    host: str = Field("127.0.0.1", pattern=HOST_PATTERN, description="address to listen on")
    port: int = Field(4573, ge=0, le=65535, description="port to listen on (0: any free port)")
    advertise: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9.:\[\]-]{1,255}$",
        description="host:port Asterisk connects to (agi://<advertise>/ivr); default host:port",
    )
