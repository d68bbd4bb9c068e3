"""How every benchmark ends: a readable table of its figures against their goals, then
the figures as one JSON object on the last line (for scripts that collect them)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from rich.console import Console
from rich.table import Table

Goal = tuple[str, bool]  # ("<= 50", met?)


def print_figures(title: str, figures: Mapping[str, object], goals: Mapping[str, Goal]) -> None:
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("goal")
    for key, value in figures.items():
        goal = goals.get(key)
        mark = "" if goal is None else f"{goal[0]} {'ok' if goal[1] else 'MISSED'}"
        table.add_row(key, str(value), mark)
    Console(width=100).print(table)
    print(json.dumps(dict(figures)))
