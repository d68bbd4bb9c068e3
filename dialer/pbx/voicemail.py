"""What the voicemail drop on an answering machine did, in the words of an attempt's
detail. [dialer-answered]'s machine branch reports DIALER_VM_RESULT in UserEvent
DialerVoicemail and journals it (key `vm`); only a message played to its end counts as
left, and the report counts the details that start with MESSAGE_LEFT. Pure."""

from __future__ import annotations

VOICEMAIL_USER_EVENT = "DialerVoicemail"
MESSAGE_LEFT = "message left"

_DETAILS = {
    "left_after_beep": f"{MESSAGE_LEFT} after the beep",
    "left_after_greeting": f"{MESSAGE_LEFT} after the greeting (no beep heard)",
    "greeting_too_long": "message not left: the greeting outlasted max_greeting",
    "beep": "message not left: the machine hung up during it",
    "greeting": "message not left: the machine hung up during it",
    "waiting": "message not left: the machine hung up during its greeting",
}


def voicemail_detail(result: str | None) -> str:
    """The attempt's detail for a DIALER_VM_RESULT value ("" when there was none)."""
    if not result:
        return ""
    return _DETAILS.get(result, f"message not left ({result})")
