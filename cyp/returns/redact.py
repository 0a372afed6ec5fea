"""Redact a stored update: its text, in the database and in the kept workbook, becomes a redaction notice.

Personal data that reached the database (before the checks caught such text, or of a kind they cannot know) is
removed by an administrator: every text field of the line's update in the quarter, in every stored version, becomes
``[redacted by NAME on DATE: reason]``, so the pages, the board pack, the exports and next quarter's template all
show the notice. The kept copy of each version's file under ``uploads/`` is replaced by a copy with the same cells
redacted, its new SHA-256 recorded; the old file is removed once the transaction has committed
(:func:`remove_replaced_files`). The redaction is an audit event; the reason is stored, the text is not.
"""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path, PurePath

from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from cyp.access import audit
from cyp.access.permissions import Principal, require
from cyp.cells import write_cell
from cyp.quarters import parse_quarter, today
from cyp.returns.annotate import values_copy
from cyp.returns.filecheck import sha256_hex
from cyp.returns.reader import normalise_text, read_return
from cyp.storage.models import Action, LineUpdate, Partner, Return

TEXT_FIELDS = ("progress", "next_steps", "risks")


class RedactionError(ValueError):
    """The redaction cannot be done as asked (no such line or update, no reason); the message says why."""


@dataclass
class Redaction:
    """What a redaction changed: the notice written, the versions and fields, and the kept files replaced."""

    notice: str
    line_ref: str
    quarter: str
    team: str
    versions: list[int] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    # (old path, new path) of each kept file replaced; the old ones are removed after the commit.
    replaced_files: list[tuple[Path, Path]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """One line for the command line and the page."""
        versions = ", ".join(str(v) for v in self.versions)
        return (
            f"Redacted {self.line_ref} {self.quarter} ({self.team}, version{'s' if len(self.versions) > 1 else ''} "
            f'{versions}): {", ".join(self.fields) or "no text"} now read "{self.notice}"; '
            f"{len(self.replaced_files)} kept file{'s' if len(self.replaced_files) != 1 else ''} replaced."
        )


def redaction_notice(name: str, on: date, reason: str) -> str:
    """The text that replaces redacted text: ``[redacted by NAME on 1 December 2026: reason]``."""
    return f"[redacted by {name} on {on.day} {on:%B %Y}: {reason}]"


def redact_update(
    session: Session,
    principal: Principal,
    *,
    line_ref: str,
    quarter: str,
    reason: str,
    uploads_dir: Path,
    on: date | None = None,
) -> Redaction:
    """Redact the text of line ``line_ref``'s update in ``quarter``, in every stored version; never commits.

    Checks the ``return.redact`` permission first (refusals are audited and raise PermissionDenied). Raises
    :class:`RedactionError` for an empty reason, an unknown line or quarter, or a line with no stored update. Call
    :func:`remove_replaced_files` with the result after the commit.
    """
    reason = " ".join(normalise_text(reason or "").split())
    if not reason:
        raise RedactionError("say why the text is redacted (--reason), e.g. 'child's NHS number'")
    label = parse_quarter(quarter).label
    action = session.scalars(select(Action).where(Action.ref == line_ref.strip())).first()
    if action is None:
        raise RedactionError(f"there is no line '{line_ref}'; use the line's ref as shown on its page, e.g. 19-FB-1.2")
    target = f"{action.ref} {label}"
    require(session, principal, "return.redact", target=target)
    rows = session.execute(
        select(LineUpdate, Return, Partner)
        .join(Return, Return.id == LineUpdate.return_id)
        .join(Partner, Partner.id == Return.partner_id)
        .where(LineUpdate.action_id == action.id, LineUpdate.quarter == label)
        .order_by(Return.version)
    ).all()
    if not rows:
        raise RedactionError(f"{action.ref} has no stored update in {label}; nothing to redact")
    notice = redaction_notice(principal.username, on or today(), reason)
    result = Redaction(notice, action.ref, label, rows[0][2].name)
    replaced: dict[str, tuple[str, str, int]] = {}  # old stored name -> (new name, new sha, new size)
    for update, stored, _partner in rows:
        changed = [name for name in TEXT_FIELDS if getattr(update, name)]
        for name in changed:
            setattr(update, name, notice)
        result.versions.append(stored.version)
        result.fields.extend(name for name in changed if name not in result.fields)
        if stored.is_demo or not stored.stored_path or not changed:
            continue  # no kept file (demo returns, and records made without an upload) to replace
        if stored.stored_path not in replaced:
            replaced[stored.stored_path] = _replace_kept_file(uploads_dir, stored, action.ref, notice, result)
        new_name, new_sha, new_size = replaced[stored.stored_path]
        stored.stored_path, stored.sha256, stored.size_bytes = new_name, new_sha, new_size
    audit.record(
        session,
        principal.username,
        "return.redact",
        "ok",
        target=target,
        detail=json.dumps(
            {
                "reason": reason,
                "team": result.team,
                "versions": result.versions,
                "fields": result.fields,
                "files": [{"old": old.name, "new": new.name} for old, new in result.replaced_files],
            },
            ensure_ascii=False,
        ),
    )
    session.flush()
    return result


def _replace_kept_file(
    uploads_dir: Path, stored: Return, line_ref: str, notice: str, result: Redaction
) -> tuple[str, str, int]:
    old = uploads_dir / stored.stored_path
    if not old.is_file():
        raise RedactionError(
            f"the kept file of version {stored.version} ({stored.stored_path}) is missing from {uploads_dir}; "
            "run `python -m cyp check` to see what is wrong, then redact again"
        )
    data = redacted_workbook(old.read_bytes(), line_ref, notice)
    sha = sha256_hex(data)
    new = uploads_dir / (sha + PurePath(stored.stored_path).suffix)
    temporary = new.with_name(f".redact-{new.name}.part")
    temporary.write_bytes(data)
    os.replace(temporary, new)
    result.replaced_files.append((old, new))
    return new.name, sha, len(data)


def redacted_workbook(data: bytes, line_ref: str, notice: str) -> bytes:
    """A copy of a kept return with the text cells of ``line_ref``'s row replaced by ``notice``.

    The cells are found as the upload found them (:func:`cyp.returns.reader.read_return`). A workbook openpyxl cannot
    open is copied value by value instead (as :mod:`cyp.returns.annotate` does), so a redaction never fails on style.
    """
    parsed = read_return(io.BytesIO(data))
    cells = [
        getattr(line, name).address
        for line in parsed.lines
        if line.ref.text and "".join(line.ref.text.split()).upper() == "".join(line_ref.split()).upper()
        for name in TEXT_FIELDS
        if getattr(line, name).text is not None
    ]
    try:
        workbook = load_workbook(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - a file openpyxl cannot open is still redacted, as a copy of its values
        workbook = values_copy(data)
    sheet = workbook[parsed.return_sheet]
    for address in cells:
        write_cell(sheet[address], notice)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def remove_replaced_files(session: Session, redaction: Redaction) -> list[Path]:
    """After the commit: delete each replaced kept file no stored return still names; returns those deleted."""
    removed = []
    for old, _new in redaction.replaced_files:
        still_named = session.scalar(select(Return.id).where(Return.stored_path == old.name).limit(1))
        if still_named is None and old.exists():
            old.unlink()
            removed.append(old)
    return removed
