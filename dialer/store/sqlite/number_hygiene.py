"""What a closed attempt teaches about the number itself, across every list and
campaign: a streak of failures that says it is out of service."""

from __future__ import annotations

import sqlite3

from dialer.outcomes import Outcome

_FAILURES = tuple(o.value for o in Outcome if o.number_failure)
_IN_SERVICE = tuple(o.value for o in Outcome if o.number_in_service)


def failure_streak(db: sqlite3.Connection, number: str) -> int:
    """The number's closed attempts, in every campaign, that failed since the last one
    that rang or was answered (index attempts (number, started_at))."""
    failures = ",".join("?" * len(_FAILURES))
    in_service = ",".join("?" * len(_IN_SERVICE))
    (count,) = db.execute(
        f"SELECT count(*) FROM attempts WHERE number = ? AND outcome IN ({failures})"
        " AND started_at > coalesce((SELECT max(started_at) FROM attempts"
        f"   WHERE number = ? AND outcome IN ({in_service})), -1)",
        (number, *_FAILURES, number, *_IN_SERVICE),
    ).fetchone()
    return int(count)
