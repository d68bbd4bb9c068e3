"""One campaign in the foreground: the live display, Ctrl-C to drain, the summary, and the
exit code for what went wrong (`dialer run` and the demo)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from rich.console import Console

from dialer.campaign.model import Campaign
from dialer.control.app import DEFAULT_DRAIN_TIMEOUT, CampaignStartError, run_campaign
from dialer.control.display import live_progress, run_summary
from dialer.control.terminal import EXIT_HELD, EXIT_OK, EXIT_PBX, CliError, install_stop_handlers
from dialer.engine.campaign_hold import CampaignHeld
from dialer.engine.runner import CampaignAborted, CampaignRunner
from dialer.outcomes import CampaignState
from dialer.pbx.ami_client import AmiAuthError, AmiConnectError, AmiError
from dialer.store import ContactStore


async def execute_campaign(
    campaign: Campaign,
    store: ContactStore,
    secret: str,
    console: Console,
    progress: bool,
    drain_timeout: timedelta | None = None,
) -> int:
    stop = asyncio.Event()
    install_stop_handlers(stop)
    runner: CampaignRunner | None = None

    def started(r: CampaignRunner) -> None:
        nonlocal runner
        runner = r

    show = progress and console.is_terminal
    try:
        async with live_progress(console, lambda: runner.snapshot if runner else None, show):
            snapshot = await run_campaign(
                campaign,
                store,
                secret,
                stop,
                on_started=started,
                drain_timeout=drain_timeout or DEFAULT_DRAIN_TIMEOUT,
            )
    except AmiAuthError as exc:
        raise CliError(f"{exc} (check the AMI username and secret)", EXIT_PBX) from exc
    except AmiConnectError as exc:
        raise CliError(f"{exc} (is Asterisk running with AMI enabled?)", EXIT_PBX) from exc
    except CampaignHeld as exc:
        raise CliError(str(exc), EXIT_HELD) from exc
    except CampaignAborted as exc:
        raise CliError(f"campaign aborted: {exc}", EXIT_PBX) from exc
    except AmiError as exc:  # any other AMI failure while starting: a reason, not a traceback
        raise CliError(f"AMI failure: {exc}", EXIT_PBX) from exc
    except CampaignStartError as exc:
        raise CliError(f"campaign {campaign.name!r} cannot start: {exc}") from exc
    console.print(run_summary(snapshot))
    if snapshot.state is CampaignState.STOPPED:
        console.print("stopped before the end: run the same command again to resume")
    return EXIT_OK
