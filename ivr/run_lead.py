"""How the steps that decide about the lead run on a call: set (temperature,
disposition, fields, a callback time) and the three endings, transfer, optout and
hangup."""

from __future__ import annotations

import logging
from datetime import UTC
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ivr.callback_times import parse_callback
from ivr.run_result import EndedBy, TransferRequest, answers_summary, variable_text
from ivr.run_state import RunState
from ivr.script_steps import HangupStep, OptoutStep, SetStep, TransferStep

log = logging.getLogger("ivr.run_lead")


async def run_set(run: RunState, step: SetStep) -> str | None:
    if step.temperature is not None:
        run.result.temperature = str(step.temperature)
    if step.disposition is not None:
        run.result.disposition = step.disposition
    run.result.fields.update(step.fields)
    if step.callback is not None:
        _schedule(run, step.callback)
    return step.next


def _schedule(run: RunState, text: str) -> None:
    now = run.clock()
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    at = parse_callback(text, now, _zone(run.call.timezone))
    if at <= now:
        # "today 09:00" reached at noon: calling back "now" is not what was meant.
        log.info("attempt %s: callback %r is already past", run.call.attempt_id, text)
        return
    run.result.callback_at = at


def _zone(name: str | None) -> ZoneInfo:
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r: callback times use UTC", name)
        return ZoneInfo("UTC")


async def run_transfer(run: RunState, step: TransferStep) -> str | None:
    if step.prompt:
        await run.channel.play([step.prompt])
    max_wait = max(1, round(step.max_wait.total_seconds()))
    variables = _lead_variables(run, step.queue, max_wait)
    # The dialplan re-enters the script at this step if nobody answers in time.
    variables["DIALER_NO_ANSWER"] = step.on_no_answer or ""
    for variable, value in variables.items():
        await run.channel.set_variable(variable, value)
    run.result.transfer = TransferRequest(step.queue, max_wait, step.on_no_answer)
    await run.end(EndedBy.TRANSFER)
    return None


def _lead_variables(run: RunState, queue: str, max_wait: int) -> dict[str, str]:
    return {
        "DIALER_LEAD_NAME": variable_text(run.call.name or ""),
        "DIALER_LEAD_NUMBER": variable_text(run.call.number),
        "DIALER_TEMPERATURE": run.result.temperature or "",
        "DIALER_ANSWERS": answers_summary(run.result, run.script),
        "DIALER_QUEUE": queue,
        "DIALER_QUEUE_TIMEOUT": str(max_wait),
    }


async def run_optout(run: RunState, step: OptoutStep) -> str | None:
    await run.record_optout()
    if step.confirm_prompt:
        await run.channel.play([step.confirm_prompt])
    await run.end(EndedBy.OPTOUT)
    return None


async def run_hangup(run: RunState, step: HangupStep) -> str | None:
    if step.prompt:
        await run.channel.play([step.prompt])
    await run.end(EndedBy.HANGUP)
    return None
