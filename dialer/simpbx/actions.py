"""The AMI actions that touch calls: Ping, Originate, Hangup and CoreShowChannels.

Login, Logoff and Events belong to the session and live in server.py; the queue actions
in queue_actions.py.
"""

from __future__ import annotations

import time
from typing import Protocol

from .channels import format_duration, parse_caller_id, parse_dial_string
from .config import OriginateRequest
from .core import PbxCore
from .events import snapshot
from .wire import Action, format_message, response

MAX_UNIQUEID = 149  # AST_MAX_PUBLIC_UNIQUEID
TRUE_WORDS = frozenset({"yes", "true", "y", "t", "1", "on"})  # ast_true()


class Replier(Protocol):
    def reply(self, data: bytes) -> None: ...

    def block(self) -> None: ...

    def unblock(self) -> None: ...


def ping(action: Action) -> bytes:
    return response(
        action.action_id, "Success", ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")
    )


def error(action: Action, message: str) -> bytes:
    return response(action.action_id, "Error", ("Message", message))


def split_args(text: str) -> list[str]:
    """Asterisk's ast_app_separate_args(): commas split, except inside double quotes or
    parentheses; the quotes and a backslash's escape are removed."""
    items, current, quoted, depth, escaped = [], [], False, 0, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted and depth == 0:
            items.append("".join(current))
            current = []
        else:
            if not quoted:
                depth += 1 if char == "(" else -1 if char == ")" and depth else 0
            current.append(char)
    items.append("".join(current))
    return items


def parse_variables(values: list[str]) -> dict[str, str]:
    """`Variable:` headers, each possibly `A=1,B=2` (Asterisk splits on commas outside
    quotes and parentheses: `CHANNEL(hangup_handler_push)="ctx,ext,1"` is one)."""
    variables: dict[str, str] = {}
    for header in values:
        for item in split_args(header):
            key, eq, value = item.partition("=")
            if eq and key.strip():
                variables[key.strip()] = value
    return variables


def parse_originate(action: Action) -> OriginateRequest | str:
    """The request, or the error message Asterisk would send."""
    dial_string = action.get("Channel").strip()
    if not dial_string:
        return "Channel not specified"
    timeout_text = action.get("Timeout").strip()
    priority_text = action.get("Priority").strip()
    if timeout_text and (not timeout_text.isdigit()):
        return "Invalid timeout"
    if priority_text and not priority_text.isdigit():
        return "Invalid priority"
    channel_id = action.get("ChannelId").strip()
    other_id = action.get("OtherChannelId").strip()
    if len(channel_id) > MAX_UNIQUEID or len(other_id) > MAX_UNIQUEID:
        return f"Uniqueid length exceeds maximum of {MAX_UNIQUEID}"
    caller_id = action.get("CallerID")
    cid_num, cid_name = parse_caller_id(caller_id)
    return OriginateRequest(
        action_id=action.action_id,
        target=parse_dial_string(dial_string),
        context=action.get("Context"),
        exten=action.get("Exten"),
        priority=int(priority_text or 1),
        timeout_s=int(timeout_text or 30000) / 1000,
        caller_id=caller_id,
        cid_num=cid_num,
        cid_name=cid_name,
        variables=parse_variables(action.get_all("Variable")),
        channel_id=channel_id,
        other_channel_id=other_id,
        is_async=action.get("Async").strip().lower() in TRUE_WORDS,
    )


def originate(core: PbxCore, action: Action, session: Replier) -> None:
    request = parse_originate(action)
    if isinstance(request, str):
        session.reply(error(action, request))
        return
    if request.is_async:
        session.reply(
            response(action.action_id, "Success", ("Message", "Originate successfully queued"))
        )
        core.originate(request, None)
        return

    # Without Async the manager thread of this session waits for the outcome: later
    # actions wait too, and events raised meanwhile arrive after the reply.
    def finish(success: bool) -> None:
        if success:
            session.reply(
                response(action.action_id, "Success", ("Message", "Originate successfully queued"))
            )
        else:
            session.reply(error(action, "Originate failed"))
        session.unblock()

    session.block()
    core.originate(request, finish)


def hangup(core: PbxCore, action: Action, session: Replier) -> None:
    name = action.get("Channel").strip()
    if not name:
        session.reply(error(action, "No channel specified"))
        return
    if name not in core.channels:
        session.reply(error(action, "No such channel"))
        return
    cause_text = action.get("Cause").strip()
    cause = int(cause_text) if cause_text.isdigit() else 0
    session.reply(response(action.action_id, "Success", ("Message", "Channel Hungup")))
    core.hangup_channel(name, cause)


def list_start(action: Action, message: str) -> bytes:
    return response(action.action_id, "Success", ("EventList", "start"), ("Message", message))


def list_end(event: str, action: Action, items: int) -> bytes:
    head: list[tuple[str, object]] = [("Event", event)]
    if action.action_id:
        head.append(("ActionID", action.action_id))
    return format_message([*head, ("EventList", "Complete"), ("ListItems", items)])


def core_show_channels(core: PbxCore, action: Action) -> bytes:
    now = time.monotonic()
    id_head: list[tuple[str, object]] = [("ActionID", action.action_id)] if action.action_id else []
    parts = [list_start(action, "Channels will follow")]
    for ch in core.channels.values():
        fields = [
            ("Event", "CoreShowChannel"),
            *id_head,
            *snapshot(ch),
            ("Application", ch.application),
            ("ApplicationData", ch.app_data),
            ("Duration", format_duration(now - ch.created)),
            ("BridgeId", ch.bridge_id),
        ]
        parts.append(format_message(fields))
    parts.append(list_end("CoreShowChannelsComplete", action, len(parts) - 1))
    return b"".join(parts)
