"""The plan framework as a spreadsheet: the administrator's round trip (export, then an all-or-nothing import).

The workbook has one sheet per kind of record, each row keyed by its stable ref (layout:
cyp/framework/layout.py; writing it: cyp/framework/export.py). Import reads the workbook into the
framework model (cyp/framework/reading.py), checks it with the same rules as the framework files
(cyp/framework/checks.py), works out the changes (cyp/framework/diff.py) and, only if nothing is
wrong, applies them (cyp/framework/apply.py): it upserts by ref and removes records missing from the
workbook, but only where no history (returns, line updates, indicator values, accounts) depends on
them. Exporting and importing unchanged changes nothing. If anything is wrong it returns every
problem (sheet and cell) and changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cyp.framework.apply import apply_framework
from cyp.framework.checks import check_framework
from cyp.framework.diff import planned, planned_mappings, removal_problems, with_former_names
from cyp.framework.export import export_framework
from cyp.framework.layout import SHEETS
from cyp.framework.reading import read_workbook
from cyp.problems import Code, Problem, errors
from cyp.storage.models import AuditEvent

__all__ = ["SHEETS", "ImportResult", "audit_import", "export_framework", "import_framework"]


@dataclass
class ImportResult:
    """What an import found and did: every problem, and per-sheet counts of rows added, updated, removed.

    ``changes`` holds only non-zero counts, keyed like ``"Actions added"``; it is empty when the
    workbook matches the database or when problems stopped the import.
    """

    problems: list[Problem] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no error blocked the import."""
        return not errors(self.problems)

    def summary(self) -> str:
        """One line for a person: what changed, or why nothing did."""
        if not self.ok:
            count = len(errors(self.problems))
            return f"Nothing imported: {count} problem{'s' if count != 1 else ''} in the workbook; fix and try again."
        if not self.changes:
            return "No changes: the workbook matches the framework in the database."
        parts = []
        for spec in SHEETS:
            counts = [
                f"{self.changes[key]} {verb}"
                for verb in ("added", "updated", "removed")
                if (key := f"{spec.name} {verb}") in self.changes
            ]
            if counts:
                parts.append(f"{spec.name} {', '.join(counts)}")
        return "Framework updated: " + "; ".join(parts) + "."

    def count(self, sheet: str, verb: str) -> None:
        """Record one row of ``sheet`` added, updated or removed."""
        key = f"{sheet} {verb}"
        self.changes[key] = self.changes.get(key, 0) + 1


def audit_import(session: Session, result: ImportResult, actor: str, filename: str) -> AuditEvent:
    """Add the audit event for an import (accepted or rejected) to ``session``; the caller commits."""
    event = AuditEvent(
        actor=actor,
        action="framework.import",
        target=filename[:200],
        outcome="ok" if result.ok else "rejected",
        detail=result.summary() + "".join(f"\n{problem}" for problem in result.problems),
    )
    session.add(event)
    return event


def _workbook_order(problem: Problem) -> tuple[int, int, int, str]:
    """Sheet by sheet in workbook order, then row by row, then left to right; whole-sheet problems last."""
    sheet = next((i for i, spec in enumerate(SHEETS) if spec.name == problem.sheet), len(SHEETS))
    match = re.fullmatch(r"([A-Z]+)(\d+)", problem.cell or "")
    if not match:
        return (sheet, 1 << 30, 0, "")
    return (sheet, int(match[2]), len(match[1]), match[1])


def import_framework(session: Session, stream: BinaryIO) -> ImportResult:
    """Check a framework workbook and, only if it has no errors, apply it to the database in ``session``.

    Reads and checks the whole workbook first; on any problem the database is untouched and
    ``result.problems`` lists them all. The caller owns the transaction (this never commits).
    """
    result = ImportResult()
    data, problems = read_workbook(stream)
    if data is None:
        result.problems.extend(problems)
        return result
    data = with_former_names(session, data)
    sheets = planned(data)
    problems += check_framework(data) + removal_problems(session, sheets)
    if problems:
        result.problems.extend(sorted(problems, key=_workbook_order))
        return result
    try:
        with session.begin_nested():
            apply_framework(session, sheets, planned_mappings(data), result.count)
    except IntegrityError as exc:
        result.changes.clear()
        message = f"The database refused the change, so nothing was imported: {exc.orig}"
        result.problems.append(Problem(Code.REFUSED_BY_DATABASE, message))
    return result
