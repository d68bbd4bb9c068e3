"""`dialer report`: what happened to every contact of a campaign (table, CSV or JSON)."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Sequence
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from dialer.outcomes import Outcome
from dialer.store.base import AttemptRecord, ContactReport, ContactStore, StoreError

REPORT_COLUMNS = (
    "number",
    "name",
    "status",
    "attempts",
    "last_outcome",
    "last_cause",
    "final_outcome",
    "next_due_at",
    "last_attempt_at",
    "dead",
    "do_not_call",
    "temperature",
    "disposition",
    "callback_at",
    "survey",
    "answers",
)
TEMPERATURES = ("hot", "warm", "cold")


def report_row(line: ContactReport) -> dict[str, Any]:
    return {
        "number": line.number,
        "name": line.name or "",
        "status": line.status.value,
        "attempts": line.attempts,
        "last_outcome": line.last_outcome.value if line.last_outcome else "",
        "last_cause": "" if line.last_cause is None else line.last_cause,
        "final_outcome": line.final_outcome.value if line.final_outcome else "",
        "next_due_at": line.next_due_at.isoformat() if line.next_due_at else "",
        "last_attempt_at": line.last_attempt_at.isoformat() if line.last_attempt_at else "",
        "dead": line.dead,
        "do_not_call": line.do_not_call,
        "temperature": line.last_answers.get("temperature") or "",
        "disposition": line.last_answers.get("disposition") or "",
        "callback_at": line.last_answers.get("callback_at") or "",
        "survey": line.last_answers.get("survey") or {},
        "answers": line.last_answers.get("answers") or {},
    }


def _csv_cell(value: Any) -> Any:
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else ""
    return value


async def load_report(store: ContactStore, campaign_name: str) -> list[ContactReport]:
    record = await store.get_campaign(campaign_name)
    if record is None:
        known = ", ".join(c.name for c in await store.campaigns()) or "none yet"
        raise StoreError(f"no campaign named {campaign_name!r} (known: {known})")
    return await store.contact_report(record.id)


def write_csv(lines: Sequence[ContactReport], out: IO[str]) -> None:
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS)
    writer.writeheader()
    for line in lines:
        writer.writerow({k: _csv_cell(v) for k, v in report_row(line).items()})


def write_json(lines: Sequence[ContactReport], out: IO[str]) -> None:
    json.dump([report_row(line) for line in lines], out, ensure_ascii=False, indent=2)
    out.write("\n")


def pbx_failure_caption(attempts: Sequence[AttemptRecord]) -> str:
    """How many calls Asterisk going away cut (each was retried, not counted abandoned)."""
    cut = sum(1 for a in attempts if a.outcome is Outcome.PBX_FAILURE)
    if not cut:
        return ""
    return f"{cut} call(s) cut by a PBX failure (Asterisk crashed or restarted); retried"


def summary_table(campaign_name: str, lines: Sequence[ContactReport]) -> Table:
    by_final = Counter(
        (line.final_outcome.value if line.final_outcome else f"({line.status.value})")
        for line in lines
    )
    attempts = sum(line.attempts for line in lines)
    table = Table(
        title=f"Campaign {campaign_name}: {len(lines)} contacts, {attempts} attempts",
        min_width=60,
    )
    table.add_column("contact result")
    table.add_column("contacts", justify="right")
    table.add_column("share", justify="right")
    for key, count in by_final.most_common():
        table.add_row(key, str(count), f"{100 * count / max(1, len(lines)):.1f}%")
    opted_out = sum(1 for line in lines if line.do_not_call)
    if opted_out:
        table.caption = f"{opted_out} contact(s) on the do-not-call list"
    return table


def contacts_table(lines: Sequence[ContactReport], limit: int | None) -> Table:
    shown = lines if limit is None else lines[:limit]
    title = "Contacts" if len(shown) == len(lines) else f"Contacts (first {len(shown)})"
    table = Table(title=title)
    # The number is what an operator acts on: never truncated or wrapped.
    table.add_column("number", no_wrap=True, min_width=12)
    table.add_column("name", ratio=1, min_width=10, no_wrap=True, overflow="ellipsis")
    table.add_column("status", no_wrap=True)
    table.add_column("tries", justify="right", no_wrap=True)
    # When done, the last outcome is the contact's final result.
    table.add_column("last outcome", no_wrap=True)
    table.add_column("next due", no_wrap=True, min_width=11)
    table.caption = "times in UTC"
    for line in shown:
        row = report_row(line)
        table.add_row(
            row["number"],
            row["name"],
            row["status"],
            str(row["attempts"]),
            row["last_outcome"],
            line.next_due_at.strftime("%m-%d %H:%M") if line.next_due_at else "",
        )
    return table


def lead_funnel(lines: Sequence[ContactReport]) -> Counter[str]:
    """Contacts of the campaign by the lead temperature their last call set."""
    return Counter(
        str(line.last_answers.get("temperature"))
        for line in lines
        if line.last_answers.get("temperature")
    )


def survey_answers(lines: Sequence[ContactReport]) -> dict[str, list[int | str]]:
    """Every contact's survey answers, by question (from each contact's last call)."""
    by_question: dict[str, list[int | str]] = {}
    for line in lines:
        survey = line.last_answers.get("survey") or {}
        if isinstance(survey, dict):
            for question, value in survey.items():
                by_question.setdefault(str(question), []).append(value)
    return by_question


def net_promoter_score(scores: Sequence[int | str]) -> float | None:
    """NPS = % promoters (9-10) - % detractors (0-6); None unless every answer is 0-10."""
    numbers = [s for s in scores if isinstance(s, int) and not isinstance(s, bool)]
    if not numbers or len(numbers) != len(scores) or not all(0 <= n <= 10 for n in numbers):
        return None
    promoters = sum(1 for n in numbers if n >= 9)
    detractors = sum(1 for n in numbers if n <= 6)
    return 100.0 * (promoters - detractors) / len(numbers)


def funnel_table(lines: Sequence[ContactReport]) -> Table | None:
    funnel = lead_funnel(lines)
    if not funnel:
        return None
    reached = sum(1 for line in lines if line.last_outcome and line.last_outcome.reached_a_person)
    table = Table(title="Leads (temperature set by the script)", min_width=60)
    table.add_column("temperature")
    table.add_column("contacts", justify="right")
    table.add_column("of reached", justify="right")
    for key in (*TEMPERATURES, *sorted(set(funnel) - set(TEMPERATURES))):
        if key in funnel:
            table.add_row(key, str(funnel[key]), f"{100 * funnel[key] / max(1, reached):.1f}%")
    return table


def survey_table(lines: Sequence[ContactReport]) -> Table | None:
    answers = survey_answers(lines)
    if not answers:
        return None
    table = Table(title="Survey", min_width=60)
    table.add_column("question")
    table.add_column("answers", justify="right")
    table.add_column("result")
    for question, values in answers.items():
        score = net_promoter_score(values)
        if score is not None:
            mean = sum(int(v) for v in values) / len(values)
            result = f"NPS {score:+.0f} (mean {mean:.1f})"
        else:
            counts = Counter(str(v) for v in values)
            result = ", ".join(f"{k} {n}" for k, n in counts.most_common())
        table.add_row(question, str(len(values)), result)
    return table


def print_report(
    console: Console,
    campaign_name: str,
    lines: Sequence[ContactReport],
    limit: int | None,
    attempts: Sequence[AttemptRecord] = (),
) -> None:
    console.print(summary_table(campaign_name, lines))
    cut = pbx_failure_caption(attempts)
    if cut:
        console.print(cut)
    for extra in (funnel_table(lines), survey_table(lines)):
        if extra is not None:
            console.print(extra)
    if limit != 0:
        console.print(contacts_table(lines, limit))
