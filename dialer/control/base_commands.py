"""Commands about the base as a whole: `dialer contacts stats` (by status and
temperature, and what the last campaign changed) and `dialer lists build` (a
reactivation list from a filter over another list)."""

from __future__ import annotations

import argparse
import logging
import re
from datetime import UTC, datetime

from rich.console import Console
from rich.table import Table

from dialer.campaign.fields import NAME_PATTERN, PATTERN_HINTS
from dialer.control.commands import opened_store
from dialer.control.terminal import EXIT_FAILED, EXIT_OK, CliError, print_json
from dialer.outcomes import BaseStatus
from dialer.policy.list_filter import FilterError, ListFilter, parse_filter
from dialer.store import ContactStore
from dialer.store.base import BaseStats, CampaignChanges

log = logging.getLogger("dialer.lists")
NO_TEMPERATURE = "(none)"


# --- dialer contacts stats ----------------------------------------------------------------
async def contacts_stats(args: argparse.Namespace, console: Console) -> int:
    async with opened_store(args) as store:
        stats = await store.base_stats(args.list_name)
        changes = await _last_campaign_changes(store, args.list_name)
    if args.format == "json":
        print_json(_stats_json(args.list_name, stats, changes))
        return EXIT_OK
    where = f"list {args.list_name!r}" if args.list_name else "every list"
    console.print(f"Contact base, {where}: {stats.contacts} contacts", highlight=False)
    by_status = Table(title="By status")
    for column in ("status", "contacts", "share"):
        by_status.add_column(column, justify="left" if column == "status" else "right")
    for status in BaseStatus:
        count = stats.by_status.get(status, 0)
        by_status.add_row(status.value, str(count), _share(count, stats.contacts))
    console.print(by_status)
    by_temperature = Table(title="By temperature")
    by_temperature.add_column("temperature")
    by_temperature.add_column("contacts", justify="right")
    by_temperature.add_column("change", justify="right")
    moved = changes.temperature if changes else {}
    for value, count in sorted(stats.by_temperature.items(), key=lambda kv: (-kv[1], kv[0])):
        change = moved.get(value, 0)
        by_temperature.add_row(
            value or NO_TEMPERATURE, str(count), f"{change:+d}" if change else ""
        )
    console.print(by_temperature)
    if changes is None:
        console.print("No campaign has run on this base yet.", highlight=False)
    else:
        console.print(_changes_line(changes), highlight=False)
    return EXIT_OK


async def _last_campaign_changes(
    store: ContactStore, list_name: str | None
) -> CampaignChanges | None:
    campaigns = [
        c for c in await store.campaigns() if list_name is None or c.list_name == list_name
    ]
    if not campaigns:
        return None
    last = max(campaigns, key=lambda c: (c.created_at, c.id))
    return await store.campaign_changes(last.id)


def _changes_line(changes: CampaignChanges) -> str:
    moves = [
        f"{value or NO_TEMPERATURE} {count:+d}"
        for value, count in sorted(changes.temperature.items())
        if count
    ]
    parts = [
        f"called {changes.called}",
        f"reached {changes.reached}",
        f"dead {changes.dead:+d}",
        f"dnc {changes.do_not_call:+d}",
        *moves,
    ]
    record = changes.campaign
    return (
        f"Last campaign {record.name!r} (list {record.list_name!r}, "
        f"created {record.created_at:%Y-%m-%d %H:%M} UTC): " + ", ".join(parts)
    )


def _stats_json(
    list_name: str | None, stats: BaseStats, changes: CampaignChanges | None
) -> dict[str, object]:
    last: dict[str, object] | None = None
    if changes is not None:
        last = {
            "name": changes.campaign.name,
            "list": changes.campaign.list_name,
            "created_at": changes.campaign.created_at.isoformat(),
            "called": changes.called,
            "reached": changes.reached,
            "dead": changes.dead,
            "dnc": changes.do_not_call,
            "temperature": {k or NO_TEMPERATURE: v for k, v in changes.temperature.items()},
        }
    return {
        "list": list_name,
        "contacts": stats.contacts,
        "status": {s.value: stats.by_status.get(s, 0) for s in BaseStatus},
        "temperature": {k or NO_TEMPERATURE: v for k, v in stats.by_temperature.items()},
        "last_campaign": last,
    }


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f}%" if total else "-"


# --- dialer lists build -------------------------------------------------------------------
async def lists(args: argparse.Namespace, console: Console) -> int:
    """`lists build`: the filter is checked before the base is opened, the new name
    before the source list is read."""
    if not re.match(NAME_PATTERN, args.name):
        raise CliError(f"list name {args.name!r}: {PATTERN_HINTS[NAME_PATTERN]}")
    where = " ".join(args.where)
    chosen_filter = _parse_where(where)
    async with opened_store(args) as store:
        if args.name in await store.list_names():
            raise CliError(f"contact list {args.name!r} already exists: choose another name")
        now = datetime.now(UTC)
        total, chosen = await _matching(store, args.from_list, chosen_filter, now)
        log.info(
            "lists.build_matched",
            extra={"source": args.from_list, "matched": len(chosen), "contacts": total},
        )
        if args.preview:
            console.print(
                f"{len(chosen)} of {total} contacts of list {args.from_list!r} match; "
                f"preview: list {args.name!r} not created",
                highlight=False,
            )
            return EXIT_OK
        if not chosen:
            console.print(
                f"no contact of list {args.from_list!r} ({total}) matches: "
                f"list {args.name!r} not created",
                highlight=False,
            )
            return EXIT_FAILED
        copied = await store.copy_contacts(args.from_list, chosen, args.name, now)
    console.print(
        f"list {args.name!r}: {copied} contacts copied from {args.from_list!r} ({total} read)",
        highlight=False,
    )
    return EXIT_OK


def _parse_where(text: str) -> ListFilter:
    try:
        return parse_filter(text)
    except FilterError as exc:
        # The filter on one line, then a caret under the place the parser stopped.
        shown = "".join(ch if ch.isprintable() else " " for ch in text)
        caret = " " * (exc.position - 1) + "^"
        raise CliError(f"--where: {exc}\n  {shown}\n  {caret}") from exc


async def _matching(
    store: ContactStore, list_name: str, chosen_filter: ListFilter, now: datetime
) -> tuple[int, list[int]]:
    """(contacts read, ids of those the filter matches), the list streamed a page at a
    time so memory holds ids, never the contacts themselves."""
    matches = chosen_filter.matcher(now)
    total, chosen = 0, []
    async for batch in store.contact_facts_batches(list_name):
        total += len(batch)
        chosen += [c.contact_id for c in batch if matches(c)]
    return total, chosen
