"""What is wrong with a campaign file, in a form a person can act on."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CampaignProblem:
    """One problem at one place of a campaign file.

    line and column count from 1, like editors do; they are None when the problem has
    no place in the file (file missing, environment variable unset). field_path is the
    dotted path of the setting ("dial.ring_timeout"), empty for the file as a whole.
    """

    file: str | None
    line: int | None
    column: int | None
    field_path: str
    message: str

    def __str__(self) -> str:
        where = ":".join(
            str(part) for part in (self.file, self.line, self.column) if part not in (None, "")
        )
        parts = [p for p in (where, self.field_path, self.message) if p]
        return ": ".join(parts)


class CampaignError(Exception):
    """A campaign could not be used; str() gives one line per problem."""

    def __init__(self, problems: Iterable[CampaignProblem]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)
