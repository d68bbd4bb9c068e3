"""AstDB of the simulated PBX, the journal the dialplan keeps in it, and the AMI actions
that read it (DBGet, DBGetTree, DBDel, DBDelTree) and CoreStatus, answered as Asterisk 22
answers them (tests/fixtures/asterisk-traces/astdb-journal.txt).

Like a real AstDB it outlives a restart of the switch (`SimulatedPbx.crash_and_restart`).
"""

from __future__ import annotations

import time
from typing import Protocol

from .wire import Action, format_message, response

# The hangup handler asterisk-config/extensions.conf's [dialer-journal] provides; the
# dialer pushes it through the Originate's Variable header.
JOURNAL_HANDLER = "dialer-journal,ended,1"
HANDLER_VARIABLE = "CHANNEL(hangup_handler_push)"


class AstDb:
    """Keys as Asterisk shows them: `/family/key` (a family may contain slashes)."""

    def __init__(self) -> None:
        self.entries: dict[str, str] = {}

    @staticmethod
    def _path(family: str, key: str = "") -> str:
        family = family.strip("/")
        return f"/{family}/{key}" if key else f"/{family}"

    def put(self, family: str, key: str, value: str) -> None:
        self.entries[self._path(family, key)] = value

    def get(self, family: str, key: str) -> str | None:
        return self.entries.get(self._path(family, key))

    def tree(self, family: str) -> list[tuple[str, str]]:
        prefix = self._path(family)
        return sorted(
            (k, v) for k, v in self.entries.items() if k == prefix or k.startswith(prefix + "/")
        )

    def delete(self, family: str, key: str) -> bool:
        return self.entries.pop(self._path(family, key), None) is not None

    def delete_tree(self, family: str) -> int:
        keys = [k for k, _ in self.tree(family)]
        for k in keys:
            del self.entries[k]
        return len(keys)


FORGET_CONTEXT = "dialer-journal-forget"


def forget_journals(db: AstDb, ids: str) -> int:
    """[dialer-journal-forget]: DBdeltree(dialer/<id>) for each `&`-separated id."""
    return sum(db.delete_tree(f"dialer/{one}") for one in ids.split("&") if one)


class JournalingCall(Protocol):
    @property
    def variables(self) -> dict[str, str]: ...


def journal(db: AstDb, call: JournalingCall, key: str, value: object) -> None:
    """Set(DB(dialer/${DIALER_ATTEMPT}/key)=value), as [dialer-answered] does."""
    attempt = call.variables.get("DIALER_ATTEMPT", "").strip()
    if attempt:
        db.put(f"dialer/{attempt}", key, str(value))


def run_hangup_handler(db: AstDb, call: JournalingCall, cause: int) -> None:
    """[dialer-journal] `ended`, if the Originate pushed it on the channel."""
    if call.variables.get(HANDLER_VARIABLE, "").strip() == JOURNAL_HANDLER:
        journaled = (("amd", "AMDSTATUS"), ("queue", "QUEUESTATUS"), ("vm", "DIALER_VM_RESULT"))
        for key, variable in journaled:
            if call.variables.get(variable):
                journal(db, call, key, call.variables[variable])
        journal(db, call, "cause", cause)
        journal(db, call, "ended", int(time.time()))


# ---- AMI actions ------------------------------------------------------------------------


def _list_end(event: str, action: Action, items: int) -> bytes:
    head: list[tuple[str, object]] = [("Event", event)]
    if action.action_id:
        head.append(("ActionID", action.action_id))
    return format_message([*head, ("EventList", "Complete"), ("ListItems", items)])


def _error(action: Action, message: str) -> bytes:
    return response(action.action_id, "Error", ("Message", message))


def _id(action: Action) -> list[tuple[str, object]]:
    return [("ActionID", action.action_id)] if action.action_id else []


def _start(action: Action) -> bytes:
    return response(
        action.action_id, "Success", ("EventList", "start"), ("Message", "Result will follow")
    )


def db_get(db: AstDb, action: Action) -> bytes:
    family, key = action.get("Family"), action.get("Key")
    if not family:
        return _error(action, "No family specified.")
    if not key:
        return _error(action, "No key specified.")
    value = db.get(family, key)
    if value is None:
        return _error(action, "Database entry not found")
    item = format_message(
        [("Event", "DBGetResponse"), ("Family", family), ("Key", key), ("Val", value), *_id(action)]
    )
    return _start(action) + item + _list_end("DBGetComplete", action, 1)


def db_get_tree(db: AstDb, action: Action) -> bytes:
    family, key = action.get("Family"), action.get("Key")
    if not family:
        return _error(action, "No family specified.")
    entries = db.tree(f"{family}/{key}" if key else family)
    parts = [_start(action)]
    for path, value in entries:
        fields = [("Event", "DBGetTreeResponse"), ("Key", path), ("Val", value), *_id(action)]
        parts.append(format_message(fields))
    parts.append(_list_end("DBGetTreeComplete", action, len(entries)))
    return b"".join(parts)


def db_del(db: AstDb, action: Action) -> bytes:
    family, key = action.get("Family"), action.get("Key")
    if not family:
        return _error(action, "No family specified.")
    if not key:
        return _error(action, "No key specified.")
    if not db.delete(family, key):
        return _error(action, "Database entry not found")
    return response(action.action_id, "Success", ("Message", "Key deleted successfully"))


def db_del_tree(db: AstDb, action: Action) -> bytes:
    family, key = action.get("Family"), action.get("Key")
    if not family:
        return _error(action, "No family specified.")
    if not db.delete_tree(f"{family}/{key}" if key else family):
        return _error(action, "Database entry not found")
    return response(action.action_id, "Success", ("Message", "Key tree deleted successfully"))


class StartedCore(Protocol):
    started: float
    up: int
    processed: int


def core_status(core: StartedCore, action: Action) -> bytes:
    """CoreStatus: startup and reload time in the switch's local time, calls now and ever."""
    started = time.localtime(core.started)
    date, clock = time.strftime("%Y-%m-%d", started), time.strftime("%H:%M:%S", started)
    return response(
        action.action_id,
        "Success",
        ("CoreStartupDate", date),
        ("CoreStartupTime", clock),
        ("CoreReloadDate", date),
        ("CoreReloadTime", clock),
        ("CoreCurrentCalls", core.up),
        ("CoreProcessedCalls", core.processed),
    )
