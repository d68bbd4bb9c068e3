"""The queue actions of AMI: QueueStatus and QueueSummary (lists), QueueAdd, QueueRemove
and QueuePause, with the messages of app_queue.c (manager_queues_status, ...summary,
manager_add_queue_member, manager_remove_queue_member, manager_pause_queue_member).

The replies and events were checked against a real Asterisk 22.10.1: the reply comes
first, then QueueMemberAdded / QueueMemberRemoved / QueueMemberPause. QueuePause sends no
QueueMemberStatus (the member's device state does not change). On a real Asterisk the
three changing actions need the `agent` write class in manager.conf.
"""

from __future__ import annotations

import re
import time

from .actions import TRUE_WORDS, Replier, error, list_end, list_start
from .channels import UNKNOWN
from .core import PbxCore
from .members import AVAILABLE_STATUS, INVALID, UNAVAILABLE, member_item
from .queues import SimQueue
from .wire import Action, format_message, response

_LEADING_INT = re.compile(r"\s*([+-]?\d+)")


def _count(text: str) -> int:
    """Penalty / Wrapuptime: sscanf("%30d"); missing, bad or negative gives 0."""
    match = _LEADING_INT.match(text)
    value = int(match.group(1)) if match else 0
    return max(value, 0)


def _ack(action: Action, message: str) -> bytes:
    return response(action.action_id, "Success", ("Message", message))


def _with_id(action: Action, event: str, fields: list[tuple[str, object]]) -> bytes:
    """Queue list items carry the ActionID last, unlike CoreShowChannel."""
    tail: list[tuple[str, object]] = [("ActionID", action.action_id)] if action.action_id else []
    return format_message([("Event", event), *fields, *tail])


def _selected(core: PbxCore, action: Action) -> list[SimQueue]:
    """Every queue, or the one named (case-insensitive, as app_queue compares)."""
    wanted = action.get("Queue").strip()
    if not wanted:
        return list(core.queues.values())
    found = core.find_queue(wanted)
    return [found] if found is not None else []


# ---- lists ------------------------------------------------------------------------------


def _queue_items(queue: SimQueue, action: Action) -> list[bytes]:
    now, stats = time.monotonic(), queue.stats
    sl, sl2 = stats.service_levels()
    items = [
        _with_id(
            action,
            "QueueParams",
            [
                ("Queue", queue.name),
                ("Max", 0),
                ("Strategy", "leastrecent"),  # one member per caller, idle the longest
                ("Calls", len(queue.waiting)),
                ("Holdtime", stats.holdtime),
                ("TalkTime", stats.talktime),
                ("Completed", stats.completed),
                ("Abandoned", stats.abandoned),
                ("ServiceLevel", 0),
                ("ServicelevelPerf", f"{sl:.1f}"),
                ("ServicelevelPerf2", f"{sl2:.1f}"),
                ("Weight", 0),
            ],
        )
    ]
    wanted = action.get("Member").strip()
    for m in queue.roster.members.values():
        if not wanted or wanted in (m.interface, m.name):
            items.append(_with_id(action, "QueueMember", member_item(queue.name, m)))
    for position, entry in enumerate(queue.waiting, start=1):
        a = entry.call.a
        caller = [
            ("Queue", queue.name),
            ("Position", position),
            ("Channel", a.name),
            ("Uniqueid", a.uniqueid),
            ("CallerIDNum", a.cid_num),
            ("CallerIDName", a.cid_name),
            ("ConnectedLineNum", a.connected_num or UNKNOWN),
            ("ConnectedLineName", a.connected_name or UNKNOWN),
            ("Wait", int(now - entry.joined)),
            ("Priority", 0),
        ]
        items.append(_with_id(action, "QueueEntry", caller))
    return items


def queue_status(core: PbxCore, action: Action) -> bytes:
    items = [item for q in _selected(core, action) for item in _queue_items(q, action)]
    end = list_end("QueueStatusComplete", action, len(items))
    return b"".join([list_start(action, "Queue status will follow"), *items, end])


def queue_summary(core: PbxCore, action: Action) -> bytes:
    """LoggedIn leaves out unreachable devices; Available counts members whose device is
    free and who are not paused: a member in wrap-up counts, as in app_queue."""
    now = time.monotonic()
    items = []
    for q in _selected(core, action):
        members = [m for m in q.roster.members.values() if m.status not in (INVALID, UNAVAILABLE)]
        free = sum(1 for m in members if m.status in AVAILABLE_STATUS and not m.paused)
        longest = max((int(now - e.joined) for e in q.waiting), default=0)
        fields: list[tuple[str, object]] = [
            ("Queue", q.name),
            ("LoggedIn", len(members)),
            ("Available", free),
            ("Callers", len(q.waiting)),
            ("HoldTime", q.stats.holdtime),
            ("TalkTime", q.stats.talktime),
            ("LongestHoldTime", longest),
        ]
        items.append(_with_id(action, "QueueSummary", fields))
    end = list_end("QueueSummaryComplete", action, len(items))
    return b"".join([list_start(action, "Queue summary will follow"), *items, end])


# ---- members ------------------------------------------------------------------------------


def queue_add(core: PbxCore, action: Action, session: Replier) -> None:
    name, interface = action.get("Queue").strip(), action.get("Interface").strip()
    if not name:
        session.reply(error(action, "'Queue' not specified."))
        return
    if not interface:
        session.reply(error(action, "'Interface' not specified."))
        return
    queue = core.find_queue(name)
    if queue is None:
        session.reply(error(action, "Unable to add interface to queue: No such queue"))
        return
    if interface in queue.roster.members:
        session.reply(error(action, "Unable to add interface: Already there"))
        return
    session.reply(_ack(action, "Added interface to queue"))
    wrapup = _count(action.get("Wrapuptime"))  # 0: the queue's (SimTiming.wrapup)
    queue.roster.add(
        interface,
        action.get("MemberName").strip(),
        penalty=_count(action.get("Penalty")),
        paused=action.get("Paused").strip().lower() in TRUE_WORDS,
        reason=action.get("Reason").strip(),
        wrapup=float(wrapup) if wrapup else None,
        state_interface=action.get("StateInterface").strip(),
    )


def queue_remove(core: PbxCore, action: Action, session: Replier) -> None:
    """Only dynamic members can go; one on a call leaves the queue now and its call goes
    on (no QueueMemberStatus for it afterwards)."""
    name, interface = action.get("Queue").strip(), action.get("Interface").strip()
    if not name or not interface:
        session.reply(error(action, "Need 'Queue' and 'Interface' parameters."))
        return
    queue = core.find_queue(name)
    if queue is None:
        session.reply(error(action, "Unable to remove interface from queue: No such queue"))
        return
    member = queue.roster.members.get(interface)
    if member is None:
        session.reply(error(action, "Unable to remove interface: Not there"))
        return
    if not member.dynamic:
        session.reply(error(action, "Member not dynamic"))
        return
    session.reply(_ack(action, "Removed interface from queue"))
    queue.roster.remove(member)


def queue_pause(core: PbxCore, action: Action, session: Replier) -> None:
    """In the named queue, or in every queue when Queue is left out. An unknown queue or
    interface is the same error."""
    name, interface = action.get("Queue").strip(), action.get("Interface").strip()
    paused_text = action.get("Paused").strip()
    if not interface or not paused_text:
        session.reply(error(action, "Need 'Interface' and 'Paused' parameters."))
        return
    queues = [core.find_queue(name)] if name else list(core.queues.values())
    members = [(q, q.roster.members.get(interface)) for q in queues if q is not None]
    found = [(q, m) for q, m in members if m is not None]
    if not found:
        session.reply(error(action, "Interface not found"))
        return
    paused = paused_text.lower() in TRUE_WORDS
    word = "paused" if paused else "unpaused"
    session.reply(_ack(action, f"Interface {word} successfully"))
    for queue, member in found:
        queue.roster.set_paused(member, paused, action.get("Reason").strip())
