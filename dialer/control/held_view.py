"""Contacts held back, by reason: one table for `dialer preview`, `dialer status`, the
live display and the report, so each says the same thing in the same words."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table

from dialer.held_back import HeldReason

REASON_WORDS: Mapping[HeldReason, str] = {
    HeldReason.WINDOW_CLOSED: "outside calling hours (callee's local time)",
    HeldReason.AMBIGUOUS_ZONE: "number spans zones, not all in calling hours",
    HeldReason.HOLIDAY: "public holiday or blackout date",
    HeldReason.DNC: "on a do-not-call list",
    HeldReason.NO_CONSENT: "no consent for this purpose",
    HeldReason.FREQUENCY_CAP: "frequency cap reached (all campaigns)",
    HeldReason.RECALL_HOLD: "recall hold (abandoned / answering machine)",
    HeldReason.DEAD: "dead number",
    HeldReason.NOT_YET_DUE: "retry or callback not yet due",
}


def held_table(held: Mapping[str, int], title: str, count_word: str = "contacts") -> Table:
    table = Table(title=title, min_width=60)
    table.add_column("reason")
    table.add_column(count_word, justify="right")
    for reason in HeldReason:
        count = held.get(reason.value, 0)
        if count:
            table.add_row(REASON_WORDS[reason], str(count))
    if not any(held.get(reason.value, 0) for reason in HeldReason):
        table.add_row("none", "0")
    return table


def held_line(held: Mapping[str, int]) -> str:
    """One line for the live display: `held: window 120, dnc 3`."""
    parts = [
        f"{reason.value} {held[reason.value]}" for reason in HeldReason if held.get(reason.value)
    ]
    return "held back: " + ", ".join(parts) if parts else ""
