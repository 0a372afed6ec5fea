"""Problems found in an input (a return, a framework workbook): data, not exceptions.

Validation collects every problem at once. An *error* blocks storing; a
*query* must be acknowledged by the person uploading but does not block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "query"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located by sheet and cell where there is one."""

    code: str
    message: str
    severity: Severity = "error"
    sheet: str | None = None
    cell: str | None = None
    value: str | None = None

    @property
    def location(self) -> str:
        """``Return!F14``, ``Return`` or ``''`` when the problem is with the file as a whole."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.sheet or ""

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


def errors(problems: list[Problem]) -> list[Problem]:
    """The problems that block storing."""
    return [p for p in problems if p.severity == "error"]


def queries(problems: list[Problem]) -> list[Problem]:
    """The problems that need an acknowledgement."""
    return [p for p in problems if p.severity == "query"]
