"""`dialer preview`: what a campaign would call at a moment, without dialling, and how
many contacts its rules hold back, by reason."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from rich.console import Console

from dialer.control.commands import load_campaign_file, opened_store
from dialer.control.held_view import held_table
from dialer.control.terminal import EXIT_OK, CliError, print_json
from dialer.engine.compliance_gate import ComplianceGate
from dialer.engine.due_preview import preview_due


def moment(text: str | None) -> datetime:
    """--at: an ISO time; without an offset it is UTC."""
    if text is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"--at {text!r}: expected an ISO time such as 2026-12-02T10:00 or "
            "2026-12-02T10:00+03:00"
        ) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


async def preview(args: argparse.Namespace, console: Console) -> int:
    campaign = load_campaign_file(args.campaign)
    at = moment(args.at)
    async with opened_store(args) as store:
        if campaign.list not in await store.list_names():
            raise CliError(
                f"{args.campaign}: list {campaign.list!r} is not in the contact base: "
                "import it first (dialer contacts import FILE --list NAME)"
            )
        record = await store.get_campaign(campaign.name)
        views = store.due_view_batches(campaign.list, record.id if record else None)
        counts = await preview_due(ComplianceGate(campaign, store), views, at)
    if args.format == "json":
        print_json({"campaign": campaign.name, **counts.as_json()})
        return EXIT_OK
    console.print(
        f"[bold]{campaign.name}[/] at {at:%Y-%m-%d %H:%M} UTC: [bold]{counts.due}[/] of "
        f"{counts.total} contacts due; {sum(counts.held.values())} held back, "
        f"{counts.final} final, {counts.in_call} in a call",
        highlight=False,
    )
    console.print(held_table(counts.held, "Held back at that moment"))
    return EXIT_OK
