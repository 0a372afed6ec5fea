"""Problems found in an input (a return, a framework workbook or file): data, not exceptions.

Validation collects every problem at once. An *error* blocks storing; a
*query* must be acknowledged by the person uploading but does not block.
A problem is located by sheet and cell (a workbook) or by file and line (a
text file), and carries a :class:`Code` from the one registry below.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Severity = Literal["error", "query"]


class Code(StrEnum):
    """Every code a problem can carry, a framework's or a return's: one code per failure, defined here once.

    The values are the hyphenated codes the returns' checks use as well (``missing-column``,
    ``not-a-workbook``), so a code means the same failure wherever it appears.
    """

    # Reading a file or workbook: the input cannot be turned into framework records.
    NOT_A_WORKBOOK = "not-a-workbook"
    MISSING_SHEET = "missing-sheet"
    MISSING_COLUMN = "missing-column"
    BAD_NUMBER = "bad-number"
    BAD_YES_NO = "bad-yes-no"
    UNKNOWN_PARENT = "unknown-parent"
    # The checker's rules (cyp/framework/checks.py), the same for the files and the workbook.
    BLANK = "blank"
    BLANK_REF = "blank-ref"
    BAD_REF = "bad-ref"
    LONG_REF = "long-ref"
    DUPLICATE_REF = "duplicate-ref"
    BAD_YEARS = "bad-years"
    SEVERAL_CURRENT = "several-current"
    NO_OUTCOMES = "no-outcomes"
    BAD_POLARITY = "bad-polarity"
    DUPLICATE_NAME = "duplicate-name"
    AMBIGUOUS_NAME = "ambiguous-name"
    NO_PARTNER = "no-partner"
    UNKNOWN_PARTNER = "unknown-partner"
    UNKNOWN_BODY = "unknown-body"
    UNKNOWN_DRIVER = "unknown-driver"
    BAD_KIND = "bad-kind"
    UNKNOWN_REF = "unknown-ref"
    UNKNOWN_DOMAIN = "unknown-domain"
    NO_REASON = "no-reason"
    DUPLICATE_MAPPING = "duplicate-mapping"
    # Applying a checked workbook to the database.
    REMOVED_WITH_HISTORY = "removed-with-history"
    REFUSED_BY_DATABASE = "refused-by-database"
    # A quarterly return (cyp/returns): the file checks, the reader, validation and storing.
    AMBIGUOUS_COLUMN = "ambiguous-column"
    BAD_QUARTER = "bad-quarter"
    BAD_STATUS = "bad-status"
    CHECK_FAILED = "check-failed"
    CSV_FILE = "csv-file"
    DAMAGED_FILE = "damaged-file"
    EMPTY_FILE = "empty-file"
    ENCRYPTED_WORKBOOK = "encrypted-workbook"
    FILE_TOO_LARGE = "file-too-large"
    FUTURE_QUARTER = "future-quarter"
    HUGE_DIMENSIONS = "huge-dimensions"
    MISSING_LINE = "missing-line"
    MISSING_QUARTER = "missing-quarter"
    MISSING_REF = "missing-ref"
    MISSING_STATUS = "missing-status"
    MISSING_TEAM = "missing-team"
    NESTED_ARCHIVE = "nested-archive"
    NO_HEADER_ROW = "no-header-row"
    NO_LINES = "no-lines"
    NO_PROGRESS_UPDATE = "no-progress-update"
    NO_RETURN_SHEET = "no-return-sheet"
    NOT_PERMITTED = "not-permitted"
    NOT_TEAM_INDICATOR = "not-team-indicator"
    NOT_TEAM_LINE = "not-team-line"
    OLD_EXCEL_FORMAT = "old-excel-format"
    PERSONAL_DATA = "personal-data"
    QUARTER_OUTSIDE_PLAN = "quarter-outside-plan"
    TOO_MANY_PARTS = "too-many-parts"
    UNKNOWN_INDICATOR = "unknown-indicator"
    UNKNOWN_TEAM = "unknown-team"
    UNREADABLE = "unreadable"
    UNSAFE_ZIP = "unsafe-zip"
    WRONG_PLAN_REF = "wrong-plan-ref"
    XML_ENTITIES = "xml-entities"
    ZIP_BOMB = "zip-bomb"
    ZIP_NOT_A_WORKBOOK = "zip-not-a-workbook"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located by sheet and cell, or file and line, where there is one."""

    code: str
    message: str
    severity: Severity = "error"
    sheet: str | None = None
    cell: str | None = None
    value: str | None = None
    file: str | None = None
    line: int | None = None

    @property
    def location(self) -> str:
        """``Return!F14``, ``Return``, ``plan-2019-2023.yaml:57`` or ``''`` for the input as a whole."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        if self.sheet:
            return self.sheet
        if self.file and self.line:
            return f"{self.file}:{self.line}"
        return self.file or ""

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


def errors(problems: list[Problem]) -> list[Problem]:
    """The problems that block storing."""
    return [p for p in problems if p.severity == "error"]


def queries(problems: list[Problem]) -> list[Problem]:
    """The problems that need an acknowledgement."""
    return [p for p in problems if p.severity == "query"]
