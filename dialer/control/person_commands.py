"""`dialer contacts show|erase NUMBER`: everything held about one person, and its
erasure on their request.

The audit log names neither the number nor the person: a show is recorded as such, an
erasure under the random marker its rows now carry.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from dialer.control.commands import audit, opened_store
from dialer.control.dnc_commands import normalised
from dialer.control.terminal import EXIT_FAILED, EXIT_OK, CliError, print_json
from dialer.store import ContactStore, NumberInCall
from dialer.store.person_records import Erasure, PersonData

CONSENT_KEYS = ("consent_date", "consent_source", "consent_scope")


async def show(args: argparse.Namespace, console: Console) -> int:
    [number] = normalised([args.number], args.region)
    async with opened_store(args) as store:
        person = await show_person(store, number, args.format)
    if args.format == "json":
        print_json(person_json(person))
    else:
        print_person(console, person)
    return EXIT_OK


async def erase(args: argparse.Namespace, console: Console) -> int:
    [number] = normalised([args.number], args.region)
    if not args.yes:
        if not sys.stdin.isatty():
            raise CliError("erasing cannot be undone: add --yes to confirm")
        answer = input(f"Erase everything held about {number}? This cannot be undone [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            console.print("nothing erased")
            return EXIT_OK
    async with opened_store(args) as store:
        try:
            erasure, deleted, missing, failed = await erase_person(store, number)
        except NumberInCall as exc:
            raise CliError(str(exc), EXIT_FAILED) from exc
    console.print(
        f"erased: {erasure.contacts} contact rows and {erasure.attempts} attempts kept for"
        f" the counts under {erasure.marker}, without personal data; {deleted} recordings"
        f" deleted ({missing} already gone). The number stays on the global do-not-call"
        " list (source erasure): it is not called or imported again.",
        highlight=False,
    )
    for path, reason in failed:
        console.print(f"[red]could not delete[/] {path}: {reason}", highlight=False)
    return EXIT_FAILED if failed else EXIT_OK


# --- shared by these commands and the API (dialer.control.service.http_lists) ----------
async def show_person(
    store: ContactStore, number: str, what: str, who: str | None = None
) -> PersonData:
    """Everything held about one person (E.164 number); audited, never naming them."""
    person = await store.person_data(number)
    await audit(store, "contacts.show", "one person", what, 1 if person.known else 0, who)
    return person


async def erase_person(
    store: ContactStore, number: str, who: str | None = None
) -> tuple[Erasure, int, int, list[tuple[str, str]]]:
    """Erase one person (NumberInCall while a call to them is up); returns the erasure
    and its recordings (deleted, already gone, [(path, why not)]). Audited."""
    erasure = await store.erase_person(number, datetime.now(UTC))
    deleted, missing, failed = delete_recordings(erasure.recordings)
    await audit(store, "contacts.erase", erasure.marker, _detail(erasure, deleted), 1, who)
    return erasure, deleted, missing, failed


def delete_recordings(paths: list[str]) -> tuple[int, int, list[tuple[str, str]]]:
    """(deleted, already gone, [(path, why not)])."""
    deleted = missing = 0
    failed: list[tuple[str, str]] = []
    for path in paths:
        try:
            Path(path).unlink()
            deleted += 1
        except FileNotFoundError:
            missing += 1
        except OSError as exc:
            failed.append((path, exc.strerror or str(exc)))
    return deleted, missing, failed


def _detail(erasure: Erasure, deleted: int) -> str:
    return (
        f"{erasure.contacts} contacts, {erasure.attempts} attempts,"
        f" {deleted}/{len(erasure.recordings)} recordings deleted"
    )


def person_json(person: PersonData) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "number": person.number,
        "contacts": [
            {
                "list": c.list_name,
                "name": c.name,
                "timezone": c.timezone,
                "dead": c.dead,
                "fields": dict(c.fields),
                "consent": {k: c.fields[k] for k in CONSENT_KEYS if k in c.fields} or None,
            }
            for c in person.contacts
        ],
        "attempts": [
            {
                "campaign": a.campaign,
                "attempt_id": a.attempt_id,
                "started_at": moment(a.started_at),
                "answered_at": moment(a.answered_at),
                "ended_at": moment(a.ended_at),
                "outcome": a.outcome,
                "cause": a.cause,
                "detail": a.detail,
                "answers": dict(a.answers),
            }
            for a in person.attempts
        ],
        "recordings": person.recordings,
        "do_not_call": [
            {
                "list": e.campaign or "global",
                "added_at": moment(e.added_at),
                "source": e.source,
            }
            for e in person.do_not_call
        ],
    }


def print_person(console: Console, person: PersonData) -> None:
    if not person.known:
        console.print(f"nothing is held about {person.number}", highlight=False)
        return
    console.print(f"[bold]{person.number}[/]", highlight=False)
    contacts = Table(title="Lists")
    for column in ("list", "name", "time zone", "consent", "fields"):
        contacts.add_column(column)
    for c in person.contacts:
        consent = " / ".join(c.fields.get(k, "-") for k in CONSENT_KEYS)
        others = {k: v for k, v in c.fields.items() if k not in CONSENT_KEYS}
        contacts.add_row(
            c.list_name + (" (dead)" if c.dead else ""),
            c.name or "",
            c.timezone or "",
            consent if any(k in c.fields for k in CONSENT_KEYS) else "none",
            json.dumps(others, ensure_ascii=False),
        )
    console.print(contacts)
    attempts = Table(title="Calls")
    for column in ("campaign", "started (UTC)", "answered", "ended", "outcome", "answers"):
        attempts.add_column(column)
    for a in person.attempts:
        attempts.add_row(
            a.campaign,
            f"{a.started_at:%Y-%m-%d %H:%M:%S}",
            f"{a.answered_at:%H:%M:%S}" if a.answered_at else "",
            f"{a.ended_at:%H:%M:%S}" if a.ended_at else "open",
            a.outcome or "",
            json.dumps(dict(a.answers), ensure_ascii=False) if a.answers else "",
        )
    console.print(attempts)
    for path in person.recordings:
        console.print(f"recording: {path}", highlight=False)
    for e in person.do_not_call:
        console.print(
            f"do-not-call: {'global' if e.campaign is None else 'campaign ' + e.campaign}"
            f" since {e.added_at:%Y-%m-%d %H:%M} UTC ({e.source})",
            highlight=False,
        )
