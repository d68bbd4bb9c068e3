"""Report figures: NPS, lead funnel, survey answers."""

from __future__ import annotations

from typing import Any

import pytest

from dialer.control.report import lead_funnel, net_promoter_score, survey_answers
from dialer.outcomes import ContactStatus, Outcome
from dialer.store.base import ContactReport


def line(answers: dict[str, Any], outcome: Outcome = Outcome.ANSWERED) -> ContactReport:
    return ContactReport(
        contact_id=1, number="+79120000000", name=None, status=ContactStatus.DONE, attempts=1,
        last_outcome=outcome, last_cause=16, final_outcome=outcome, next_due_at=None,
        last_attempt_at=None, dead=False, fields={}, last_answers=answers,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([10, 9, 8, 7, 0], 20.0),  # 2 promoters, 1 detractor, of 5
        ([10, 10, 10], 100.0),
        ([0, 6, 5, 9], -50.0),
        ([], None),
        ([5, "good"], None),
        ([11], None),
    ],
)
def test_net_promoter_score(scores: list[Any], expected: float | None) -> None:
    assert net_promoter_score(scores) == expected


def test_funnel_and_survey_come_from_each_contacts_last_call() -> None:
    lines = [
        line({"temperature": "hot", "survey": {"nps": 10, "why": "price"}}),
        line({"temperature": "cold", "survey": {"nps": 3}}),
        line({"temperature": "hot"}),
        line({}),
    ]
    assert lead_funnel(lines) == {"hot": 2, "cold": 1}
    assert survey_answers(lines) == {"nps": [10, 3], "why": ["price"]}
