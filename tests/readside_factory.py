"""Factories for read-side tests: store returns straight through the models, as ingest would leave them.

The framework comes from ``tests/returns_factory.build_framework`` (test plans T2019 and T2023).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cyp.quarters import parse_quarter
from cyp.storage.models import Action, Indicator, IndicatorValue, LineUpdate, Partner, Plan, Return


def add_return(
    session: Session,
    team: Partner | str,
    quarter: str,
    lines: dict[str, str | tuple[str, str]],
    *,
    plan: str | None = None,
    uploaded_at: datetime | None = None,
    uploaded_by: str = "test lead",
    values: dict[str, float | None] | None = None,
    is_demo: bool = False,
) -> Return:
    """Store a new current version of the team's return: ``lines`` maps line ref to status or (status, progress).

    The previous version, if any, stops being current, as ingest does.
    """
    partner = team if isinstance(team, Partner) else session.scalar(select(Partner).where(Partner.ref == team))
    assert partner is not None
    q = parse_quarter(quarter)
    if plan is None:
        plan_row = session.scalar(
            select(Plan).where(Plan.first_year <= q.year, Plan.last_year >= q.year).order_by(Plan.first_year.desc())
        )
    else:
        plan_row = session.scalar(select(Plan).where(Plan.ref == plan))
    assert plan_row is not None
    version = (
        session.scalar(
            select(func.max(Return.version)).where(Return.partner_id == partner.id, Return.quarter == q.label)
        )
        or 0
    ) + 1
    session.execute(
        update(Return).where(Return.partner_id == partner.id, Return.quarter == q.label).values(is_current=False)
    )
    ret = Return(
        partner=partner,
        plan=plan_row,
        quarter=q.label,
        version=version,
        is_current=True,
        uploaded_by=uploaded_by,
        uploaded_at=uploaded_at or datetime(q.end.year, q.end.month, q.end.day, 12, tzinfo=UTC),
        original_filename=f"{partner.ref}-{q.label}.xlsx",
        size_bytes=1000,
        sha256=f"{partner.id}-{q.label}-{version}".ljust(64, "0"),
        stored_path="",
        is_demo=is_demo,
    )
    session.add(ret)
    for ref, answer in lines.items():
        status, progress = answer if isinstance(answer, tuple) else (answer, f"{ref} update for {q.label}")
        action = session.scalar(select(Action).where(Action.ref == ref))
        assert action is not None, ref
        ret.line_updates.append(
            LineUpdate(action=action, quarter=q.label, status=status, progress=progress, next_steps=None, risks=None)
        )
    for ref, value in (values or {}).items():
        indicator = session.scalar(select(Indicator).where(Indicator.ref == ref))
        assert indicator is not None, ref
        ret.indicator_values.append(IndicatorValue(indicator=indicator, quarter=q.label, value=value))
    session.flush()
    return ret


def table_counts(session: Session) -> dict[str, int]:
    """Rows in every table, to check that something changed exactly what it should."""
    from cyp.storage.models import Base

    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


def rows(frame: Any, *columns: str) -> list[tuple[Any, ...]]:
    """A DataFrame's chosen columns as a list of tuples (missing values as None), for exact comparisons."""
    import pandas as pd

    return [
        tuple(None if not isinstance(cell, list) and pd.isna(cell) else cell for cell in row)
        for row in frame[list(columns)].itertuples(index=False)
    ]
