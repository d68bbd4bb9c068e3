"""`dialer report`: what happened to every contact of a campaign (table, CSV or JSON)."""

from __future__ import annotations

import csv
import json
import textwrap
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from dialer.contacts.cell_safety import neutralise_formula
from dialer.outcomes import Outcome
from dialer.pbx.voicemail import MESSAGE_LEFT
from dialer.store.base import ContactReport, ContactStore, StoreError

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
    "amd",
    "speech_verdict",
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
        **_verdicts(line),
    }


def _verdicts(line: ContactReport) -> dict[str, str]:
    """AMD()'s verdict and the first words' (ivr.machine_speech), side by side."""
    machine = line.last_answers.get("machine")
    if not isinstance(machine, dict):
        return {"amd": "", "speech_verdict": ""}
    speech = str(machine.get("speech") or "")
    reason = machine.get("reason")
    return {
        "amd": str(machine.get("amd") or ""),
        "speech_verdict": f"{speech}: {reason}" if speech and reason else speech,
    }


def _csv_cell(value: Any) -> str:
    """The same text the contact export writes: booleans as true/false, collected answers
    as compact JSON, and no cell a spreadsheet would run as a formula."""
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else ""
    elif isinstance(value, bool):
        value = "true" if value else "false"
    return neutralise_formula("" if value is None else str(value))


async def report_batches(
    store: ContactStore, campaign_name: str
) -> AsyncIterator[list[ContactReport]]:
    """Every contact of the campaign, a page at a time (memory does not grow with the
    list); StoreError names the known campaigns when there is no such campaign."""
    record = await store.get_campaign(campaign_name)
    if record is None:
        known = ", ".join(c.name for c in await store.campaigns()) or "none yet"
        raise StoreError(f"no campaign named {campaign_name!r} (known: {known})")
    async for batch in store.contact_report_batches(record.id):
        yield batch


async def load_report(store: ContactStore, campaign_name: str) -> list[ContactReport]:
    return [line async for batch in report_batches(store, campaign_name) for line in batch]


def write_csv(lines: Iterable[ContactReport], out: IO[str], header: bool = True) -> None:
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS)  # fixed names: no formula
    if header:
        writer.writeheader()
    for line in lines:
        writer.writerow({k: _csv_cell(v) for k, v in report_row(line).items()})


async def stream_csv(batches: AsyncIterable[list[ContactReport]], out: IO[str]) -> None:
    first = True
    async for batch in batches:
        write_csv(batch, out, header=first)
        first = False
    if first:
        write_csv([], out)


def write_json(lines: Sequence[ContactReport], out: IO[str]) -> None:
    json.dump([report_row(line) for line in lines], out, ensure_ascii=False, indent=2)
    out.write("\n")


async def stream_json(batches: AsyncIterable[list[ContactReport]], out: IO[str]) -> None:
    """The same array write_json writes, one contact at a time."""
    out.write("[")
    count = 0
    async for batch in batches:
        for line in batch:
            text = json.dumps(report_row(line), ensure_ascii=False, indent=2)
            out.write((",\n" if count else "\n") + textwrap.indent(text, "  "))
            count += 1
    out.write("\n]\n" if count else "]\n")


@dataclass
class ReportTotals:
    """What the report's tables count, gathered one contact at a time."""

    contacts: int = 0
    attempts: int = 0
    results: Counter[str] = field(default_factory=Counter)  # final outcome, or (status)
    do_not_call: int = 0
    reached: int = 0  # contacts whose last call reached a person
    temperatures: Counter[str] = field(default_factory=Counter)
    survey: dict[str, Counter[int | str]] = field(default_factory=dict)
    pbx_failures: int = 0  # calls (not contacts) cut by Asterisk going away
    script_errors: int = 0  # answered calls (not contacts) whose IVR script failed
    messages_left: int = 0  # machine calls (not contacts) that got the whole message
    # (AMD()'s verdict or "-", the first words' verdict) of each contact's last call
    verdicts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, line: ContactReport) -> None:
        self.contacts += 1
        self.attempts += line.attempts
        self.results[
            line.final_outcome.value if line.final_outcome else f"({line.status.value})"
        ] += 1
        self.do_not_call += line.do_not_call
        self.reached += bool(line.last_outcome and line.last_outcome.reached_a_person)
        temperature = line.last_answers.get("temperature")
        if temperature:
            self.temperatures[str(temperature)] += 1
        machine = line.last_answers.get("machine")
        if isinstance(machine, dict) and machine.get("speech"):
            self.verdicts[(str(machine.get("amd") or "-"), str(machine["speech"]))] += 1
        survey = line.last_answers.get("survey") or {}
        if isinstance(survey, dict):
            for question, value in survey.items():
                key = value if isinstance(value, int | str) else str(value)
                self.survey.setdefault(str(question), Counter())[key] += 1

    @classmethod
    def of(cls, lines: Iterable[ContactReport]) -> ReportTotals:
        totals = cls()
        for line in lines:
            totals.add(line)
        return totals


def pbx_failure_caption(cut: int) -> str:
    """How many calls Asterisk going away cut (each was retried, not counted abandoned)."""
    if not cut:
        return ""
    return f"{cut} call(s) cut by a PBX failure (Asterisk crashed or restarted); retried"


def script_error_caption(failed: int) -> str:
    """How many answered calls the IVR script could not serve (each retried by rule)."""
    if not failed:
        return ""
    return (
        f"{failed} answered call(s) ended by a script error (e.g. a recording Asterisk "
        "could not write; the error is in each attempt's answers); retried by "
        "retry.script_error"
    )


def messages_left_caption(left: int) -> str:
    """How many answering machines got the voicemail message (played to its end)."""
    if not left:
        return ""
    return f"message left: {left} answering machine call(s) got the whole voicemail message"


def summary_table(campaign_name: str, totals: ReportTotals) -> Table:
    table = Table(
        title=f"Campaign {campaign_name}: {totals.contacts} contacts, {totals.attempts} attempts",
        min_width=60,
    )
    table.add_column("contact result")
    table.add_column("contacts", justify="right")
    table.add_column("share", justify="right")
    for key, count in totals.results.most_common():
        table.add_row(key, str(count), f"{100 * count / max(1, totals.contacts):.1f}%")
    if totals.do_not_call:
        table.caption = f"{totals.do_not_call} contact(s) on the do-not-call list"
    return table


def contacts_table(lines: Sequence[ContactReport], limit: int | None, total: int) -> Table:
    shown = lines if limit is None else lines[:limit]
    title = "Contacts" if len(shown) == total else f"Contacts (first {len(shown)})"
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
    return ReportTotals.of(lines).temperatures


def survey_answers(lines: Sequence[ContactReport]) -> dict[str, list[int | str]]:
    """Every contact's survey answers, by question (from each contact's last call)."""
    return {q: list(counts.elements()) for q, counts in ReportTotals.of(lines).survey.items()}


def net_promoter_score(scores: Sequence[int | str]) -> float | None:
    """NPS = % promoters (9-10) - % detractors (0-6); None unless every answer is 0-10."""
    return nps_of(Counter(scores))


def nps_of(counts: Counter[int | str]) -> float | None:
    numbers = {s: n for s, n in counts.items() if isinstance(s, int) and not isinstance(s, bool)}
    total = sum(counts.values())
    if not numbers or len(numbers) != len(counts) or not all(0 <= s <= 10 for s in numbers):
        return None
    promoters = sum(n for s, n in numbers.items() if int(s) >= 9)
    detractors = sum(n for s, n in numbers.items() if int(s) <= 6)
    return 100.0 * (promoters - detractors) / total


def funnel_table(totals: ReportTotals) -> Table | None:
    funnel = totals.temperatures
    if not funnel:
        return None
    table = Table(title="Leads (temperature set by the script)", min_width=60)
    table.add_column("temperature")
    table.add_column("contacts", justify="right")
    table.add_column("of reached", justify="right")
    for key in (*TEMPERATURES, *sorted(set(funnel) - set(TEMPERATURES))):
        if key in funnel:
            share = 100 * funnel[key] / max(1, totals.reached)
            table.add_row(key, str(funnel[key]), f"{share:.1f}%")
    return table


def survey_table(totals: ReportTotals) -> Table | None:
    if not totals.survey:
        return None
    table = Table(title="Survey", min_width=60)
    table.add_column("question")
    table.add_column("answers", justify="right")
    table.add_column("result")
    for question, counts in totals.survey.items():
        answered = sum(counts.values())
        score = nps_of(counts)
        if score is not None:
            mean = sum(int(v) * n for v, n in counts.items()) / answered
            result = f"NPS {score:+.0f} (mean {mean:.1f})"
        else:
            result = ", ".join(f"{k} {n}" for k, n in counts.most_common())
        table.add_row(question, str(answered), result)
    return table


def verdicts_table(totals: ReportTotals) -> Table | None:
    """Calls by AMD()'s verdict (rows) and the first words' (columns), to tune either."""
    if not totals.verdicts:
        return None
    table = Table(title="Answering machines: AMD() and the first words", min_width=60)
    table.add_column("AMD() / first words")
    speech = ("human", "machine", "unsure")
    for verdict in speech:
        table.add_column(verdict, justify="right")
    for amd in sorted({amd for amd, _ in totals.verdicts}):
        table.add_row(amd, *(str(totals.verdicts[(amd, verdict)]) for verdict in speech))
    return table


async def print_report_streamed(
    console: Console, store: ContactStore, campaign_name: str, limit: int | None
) -> None:
    """The report's tables, read a page at a time: totals of every contact, and the
    first `limit` contacts (None: every one, as the table asks for)."""
    totals = ReportTotals()
    first: list[ContactReport] = []
    async for batch in report_batches(store, campaign_name):
        for line in batch:
            totals.add(line)
            if limit is None or len(first) < limit:
                first.append(line)
    await _count_calls(store, campaign_name, totals)
    print_report(console, campaign_name, totals, first, limit)


async def campaign_totals(store: ContactStore, campaign_name: str) -> ReportTotals:
    """The report's figures without its rows (no contact data: the API's summary)."""
    totals = ReportTotals()
    async for batch in report_batches(store, campaign_name):
        for line in batch:
            totals.add(line)
    await _count_calls(store, campaign_name, totals)
    return totals


async def _count_calls(store: ContactStore, campaign_name: str, totals: ReportTotals) -> None:
    record = await store.get_campaign(campaign_name)
    if record is not None:
        outcomes = await store.attempt_outcomes(record.id)
        totals.pbx_failures = outcomes.get(Outcome.PBX_FAILURE, 0)
        totals.script_errors = outcomes.get(Outcome.SCRIPT_ERROR, 0)
        totals.messages_left = await store.attempt_details_count(
            record.id, Outcome.MACHINE, MESSAGE_LEFT
        )


def print_report(
    console: Console,
    campaign_name: str,
    totals: ReportTotals,
    first: Sequence[ContactReport],
    limit: int | None,
) -> None:
    console.print(summary_table(campaign_name, totals))
    for caption in (
        pbx_failure_caption(totals.pbx_failures),
        script_error_caption(totals.script_errors),
        messages_left_caption(totals.messages_left),
    ):
        if caption:
            console.print(caption)
    for extra in (funnel_table(totals), survey_table(totals), verdicts_table(totals)):
        if extra is not None:
            console.print(extra)
    if limit != 0:
        console.print(contacts_table(first, limit, totals.contacts))
