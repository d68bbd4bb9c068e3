"""The PBX-side journal of each call's result (AstDB `dialer/<attempt id>/...`).

`[dialer-answered]` and the `[dialer-journal]` hangup handler write what happened to a call
into Asterisk's own database as it happens (asterisk-config/extensions.conf lists the
keys). When the dialer missed a call's events (killed, or its AMI link down), the journal
still says how the call ended: the link reads it back with `DBGetTree` when it settles a
call Asterisk no longer has, and has `[dialer-journal-forget]` delete it once the engine
has written the attempt's outcome to the store (a process stopped between the two leaves
the journal to whoever reconciles the attempt next).

A call with no `ended` key had not ended when Asterisk last wrote: if Asterisk has been
(re)started since the call began, Asterisk going away cut it (a killed Asterisk runs no
hangup handler).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from dialer.pbx.ami_client import AmiClient, AmiError
from dialer.pbx.call_tracker import CallTracker

log = logging.getLogger("dialer.pbx")

FAMILY = "dialer"
# Pushed on the originated channel through the Originate's Variable header: Asterisk
# splits that header on commas outside quotes and parentheses, so the quotes are needed.
HANGUP_HANDLER_VARIABLE = 'CHANNEL(hangup_handler_push)="dialer-journal,ended,1"'
QUEUE_JOINED = "joined"  # the `queue` key while the lead waits in the queue
# Deleting: a Local channel into [dialer-journal-forget] with the ids in DIALER_FORGET
# (`&`-separated). AMI reads at most 1024 bytes a header line: 20 ids of 36 fit.
FORGET_CHANNEL = "Local/s@dialer-journal-forget"
FORGET_BATCH = 20
FORGET_DELAY = 1.0  # seconds a settled attempt's id waits for a batch
# Ids kept while AMI is down or Asterisk boots (past this, the oldest stay in AstDB:
# never read again, a few bytes each).
FORGET_BACKLOG = 10_000
UNSETTLED_KEEP_S = 24 * 3600.0  # a closed call whose outcome nobody wrote in a day
_SAFE_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")  # what reaches DBdeltree(dialer/<id>)


@dataclass(frozen=True)
class JournalEntry:
    """What the dialplan wrote about one attempt; every field None if it wrote nothing."""

    answered_at: datetime | None = None
    amd: str | None = None
    vm: str | None = None  # DIALER_VM_RESULT: the voicemail drop on a machine
    queue: str | None = None  # "joined", then QUEUESTATUS once Queue() returned
    operator: str | None = None  # the operator channel that took the lead
    cause: int | None = None
    far_cause: int | None = None  # the Local test callees' own cause (busy, congestion)
    ended_at: datetime | None = None

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    @property
    def empty(self) -> bool:
        return self == JournalEntry()


def _epoch(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), UTC) if value else None
    except (ValueError, OverflowError, OSError):
        return None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def parse_tree(items: Sequence[Mapping[str, str]]) -> JournalEntry:
    """DBGetTreeResponse events (`Key: /dialer/<id>/<name>`, `Val`) -> the entry."""
    values = {item.get("Key", "").rsplit("/", 1)[-1]: item.get("Val", "") for item in items}
    return JournalEntry(
        answered_at=_epoch(values.get("answered")),
        amd=values.get("amd") or None,
        vm=values.get("vm") or None,
        queue=values.get("queue") or None,
        operator=values.get("operator") or None,
        cause=_int(values.get("cause")),
        far_cause=_int(values.get("far_cause")),
        ended_at=_epoch(values.get("ended")),
    )


def apply_entry(tracker: CallTracker, entry: JournalEntry) -> None:
    """Complete what the tracker saw with what Asterisk journaled (the journal wins on
    what the dialer could only guess: the answer time, the queue's fate)."""
    queue_status = entry.queue if entry.queue not in (None, QUEUE_JOINED) else None
    tracker.journal_facts(
        answered_at=entry.answered_at,
        amd_status=entry.amd,
        vm_result=entry.vm,
        queue_joined=entry.queue is not None,
        queue_status=queue_status,
        operator=entry.operator is not None,
        cause=entry.cause,
        far_cause=entry.far_cause,
        ended_at=entry.ended_at,
    )


def parse_startup(status: Mapping[str, str]) -> datetime | None:
    """CoreStatus's CoreStartupDate/Time: Asterisk's local time without a zone, read as
    this host's local time (the dialer runs next to Asterisk: AMI is on loopback)."""
    text = f"{status.get('CoreStartupDate', '')} {status.get('CoreStartupTime', '')}"
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").astimezone(UTC)
    except ValueError:
        return None


class CallJournal:
    """Reads and deletes the journal over one AMI link; remembers when Asterisk started."""

    def __init__(self, client: AmiClient) -> None:
        self._client = client
        self.pbx_started_at: datetime | None = None
        self.restarts = 0  # startup time changed across a reconnect
        self._deletes: set[asyncio.Task[None]] = set()
        self._to_forget: list[str] = []
        self._flush_timer: asyncio.TimerHandle | None = None
        self._closing = False  # drain() called: what cannot go now stays in AstDB
        self._unsettled: dict[str, float] = {}  # closed, outcome not written yet -> when

    async def check_startup(self) -> bool:
        """Read Asterisk's startup time; True if it changed since the last read."""
        try:
            status = await self._client.send_action([("Action", "CoreStatus")])
        except AmiError as exc:
            log.warning("pbx.core_status_failed", extra={"error": str(exc)})
            return False
        started = parse_startup(status)
        if started is None:
            return False
        restarted = self.pbx_started_at is not None and started != self.pbx_started_at
        if restarted:
            self.restarts += 1
            log.warning("pbx.asterisk_restarted", extra={"started": started.isoformat()})
        self.pbx_started_at = started
        return restarted

    def started_since(self, when: datetime) -> bool:
        """Asterisk (re)started after `when` (a call placed then cannot have survived)."""
        return self.pbx_started_at is not None and self.pbx_started_at > when

    async def read(self, attempt_id: str) -> JournalEntry:
        """The attempt's journal; an empty entry if there is none or it cannot be read."""
        try:
            items = await self._client.send_list_action(
                [("Action", "DBGetTree"), ("Family", f"{FAMILY}/{attempt_id}")]
            )
        except AmiError as exc:
            # "Database entry not found" from older Asterisk versions, or the link.
            log.debug("pbx.journal_unread", extra={"attempt": attempt_id, "error": str(exc)})
            return JournalEntry()
        return parse_tree(items)

    def closed(self, attempt_id: str) -> None:
        """The link closed the call; until its outcome is written the journal stays. A
        runner gone meanwhile never settles it (whoever adopts the attempt settles it
        through its own link): such ids are let go after UNSETTLED_KEEP_S."""
        self._unsettled[attempt_id] = time.monotonic()
        stale = time.monotonic() - UNSETTLED_KEEP_S
        while (oldest := next(iter(self._unsettled.items()), None)) and oldest[1] < stale:
            del self._unsettled[oldest[0]]

    def settled(self, attempt_id: str) -> None:
        """The engine has written the outcome of a call this link closed."""
        if self._unsettled.pop(attempt_id, None) is not None:
            self.forget(attempt_id)

    def forget(self, attempt_id: str) -> None:
        """The attempt's outcome is written: its journal may go. Deleted in batches by the dialplan
        ([dialer-journal-forget]), because the AMI actions that delete from AstDB need
        the `system` write class, which with `originate` would also allow Originate of
        System(): a shell. The dialer user keeps originate, call and reporting."""
        if not _SAFE_ID.match(attempt_id):
            return
        self._to_forget.append(attempt_id)
        if len(self._to_forget) >= FORGET_BATCH:
            self._flush()
        elif self._flush_timer is None:
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(FORGET_DELAY, self._flush)

    def _flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        while self._to_forget:
            batch, self._to_forget = self._to_forget[:FORGET_BATCH], self._to_forget[FORGET_BATCH:]
            if self._closing and not self._client.connected:
                self._to_forget.clear()  # left in AstDB: never read again, a few bytes each
                return
            if not (self._client.connected and self._client.booted):
                # AMI down (the outcome was written meanwhile, which can take a while),
                # or a booting Asterisk that refuses Originates ("Extension does not
                # exist"): the batch waits and goes once Asterisk is back and booted.
                self._to_forget[:0] = batch
                del self._to_forget[: max(0, len(self._to_forget) - FORGET_BACKLOG)]
                self._flush_timer = asyncio.get_running_loop().call_later(FORGET_DELAY, self._flush)
                return
            task = asyncio.get_running_loop().create_task(self._delete(batch))
            self._deletes.add(task)
            task.add_done_callback(self._deletes.discard)

    async def _delete(self, attempt_ids: list[str]) -> None:
        headers = [
            ("Action", "Originate"),
            ("ActionID", self._client.new_action_id("forget")),
            ("Channel", FORGET_CHANNEL),
            ("Application", "NoOp"),
            ("Timeout", "5000"),
            ("Variable", f"DIALER_FORGET={'&'.join(attempt_ids)}"),
            ("Async", "true"),
        ]
        try:
            await self._client.send_action(headers)
        except AmiError as exc:
            log.debug(
                "pbx.journal_not_deleted", extra={"count": len(attempt_ids), "error": str(exc)}
            )

    async def drain(self) -> None:
        """Send what is left to delete and wait for it (before the link closes)."""
        self._closing = True
        self._flush()
        if self._deletes:
            await asyncio.gather(*list(self._deletes), return_exceptions=True)
