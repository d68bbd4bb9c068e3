"""Live progress of `dialer run` / `dialer demo`, and the summary printed at the end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dialer.control.held_view import held_line
from dialer.control.status import no_operators_line, pacing_line
from dialer.engine.run_snapshot import RunSnapshot


def _outcome_line(snapshot: RunSnapshot) -> str:
    parts = [f"{name} {count}" for name, count in snapshot.outcomes.most_common()]
    link = snapshot.link_state.description
    if snapshot.in_flight == 0 and snapshot.pending and snapshot.next_due_at is not None:
        link += f"  waiting: next retry due {snapshot.next_due_at:%Y-%m-%d %H:%M} UTC"
    if snapshot.store_waiting:
        link += f"  [yellow]{snapshot.store_waiting}[/]"
    text = (
        f"[bold]{snapshot.state}[/]  calls up {snapshot.in_flight}  originated "
        f"{snapshot.originated}  {link}\nattempts: " + (", ".join(parts) or "none yet")
    )
    held = held_line(snapshot.held)
    if held:
        text += f"\n{held}"
    pacing = pacing_line(snapshot.pacing)
    warning = no_operators_line(snapshot.pacing)
    if warning:
        pacing += f"\n[bold red]{warning}[/]"
    return f"{text}\n{pacing}" if pacing else text


@contextlib.asynccontextmanager
async def live_progress(
    console: Console, get_snapshot: Callable[[], RunSnapshot | None], enabled: bool
) -> AsyncIterator[None]:
    """Refresh a progress bar from the runner's snapshot while the body runs."""
    if not enabled:
        yield
        return
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    task = progress.add_task("contacts final", total=None)

    def render() -> Group:
        snapshot: RunSnapshot | None = get_snapshot()
        if snapshot is None:
            return Group(progress)
        progress.update(
            task,
            description=f"{snapshot.campaign}: contacts final",
            total=snapshot.total or None,
            completed=snapshot.done,
        )
        return Group(progress, _outcome_line(snapshot))

    with Live(render(), console=console, refresh_per_second=4, transient=False) as live:

        async def refresh() -> None:
            while True:
                await asyncio.sleep(0.25)
                live.update(render())

        refresher = asyncio.create_task(refresh())
        try:
            yield
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
            live.update(render())


def run_summary(snapshot: RunSnapshot) -> Table:
    table = Table(title=f"Run of {snapshot.campaign}: {snapshot.state}", min_width=60)
    table.add_column("attempt outcome")
    table.add_column("attempts", justify="right")
    for name, count in snapshot.outcomes.most_common():
        table.add_row(name, str(count))
    table.add_row("[bold]total", f"[bold]{snapshot.closed}")
    table.caption = (
        f"{snapshot.done} of {snapshot.total} contacts final, {snapshot.pending} still pending"
    )
    return table
