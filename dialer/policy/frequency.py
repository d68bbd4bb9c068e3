"""How often one person may be called, across every campaign. Pure: no I/O.

The caps are rolling windows (24 h, 7 days, 30 days) ending at `now`: stricter than
calendar days near midnight, and the same for every callee whatever their zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class FrequencyCaps:
    """None: no cap of that kind."""

    attempts_per_day: int | None = None
    attempts_per_week: int | None = None
    attempts_per_month: int | None = None
    connected_per_day: int | None = None
    connected_per_week: int | None = None
    connected_per_month: int | None = None
    # No recall of a number whose call was abandoned within this, unless an operator is
    # guaranteed (Ofcom: 72 h). None: no such rule.
    abandoned_recall_hold: timedelta | None = None
    # No recall on the same (callee-local) day after AMD said machine, unless an operator
    # is guaranteed (Ofcom).
    no_same_day_machine_recall: bool = False
