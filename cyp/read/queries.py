"""The read side's SQL: pure functions that build ``select()`` statements; callers execute them.

Quarters are passed as canonical labels ("2025-26 Q3") and plans by ref ("2023-27"). Only the
current version of a team's return counts; a line with no update in a current return is "No return".
Every statement here aggregates in the database (GROUP BY) or returns one row per line, never a
whole table.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, exists, func, literal, or_, select
from sqlalchemy.orm import InstrumentedAttribute, aliased

from cyp.read.signoff import counted_return
from cyp.status import NO_RETURN
from cyp.storage.models import (
    Action,
    AuditEvent,
    Driver,
    IndexDomain,
    Indicator,
    IndicatorDomain,
    IndicatorValue,
    LineUpdate,
    Meta,
    MonitoringBody,
    Objective,
    ObjectiveDomain,
    Outcome,
    Partner,
    Plan,
    Return,
    action_bodies,
    action_drivers,
    action_partners,
)


def current_update_ids(quarter: str, *, signed_off_only: bool = False) -> Select:
    """The id of the one update that counts per line in a quarter: the latest in a current return.

    A line normally appears in one team's return; if two current returns both hold it (a line moved
    between teams mid-quarter), the most recently stored update wins. ``signed_off_only`` counts each
    team's latest signed-off version instead (sign-off switched on: see :mod:`cyp.read.signoff`).
    """
    return (
        select(LineUpdate.action_id, func.max(LineUpdate.id).label("update_id"))
        .join(Return, Return.id == LineUpdate.return_id)
        .where(LineUpdate.quarter == quarter, counted_return(signed_off_only))
        .group_by(LineUpdate.action_id)
    )


def plan_lines(plan_ref: str) -> Select:
    """One row per line of a plan, in plan order: action, objective and outcome, reporting team."""
    reporter = aliased(Partner)
    return (
        select(
            Action.id.label("action_id"),
            Action.ref.label("ref"),
            Action.text.label("action"),
            Action.whole_objective,
            Action.is_demo,
            Objective.ref.label("objective_ref"),
            Objective.text.label("objective"),
            Outcome.ref.label("outcome_ref"),
            Outcome.name.label("outcome"),
            reporter.ref.label("reporting_team_ref"),
            reporter.name.label("reporting_team"),
        )
        .join(Objective, Objective.id == Action.objective_id)
        .join(Outcome, Outcome.id == Objective.outcome_id)
        .join(Plan, Plan.id == Outcome.plan_id)
        .outerjoin(reporter, reporter.id == Action.reporting_partner_id)
        .where(Plan.ref == plan_ref)
        .order_by(Outcome.position, Objective.position, Action.position, Action.id)
    )


def line_status_rows(
    plan_ref: str, quarter: str, status: str | None = None, *, signed_off_only: bool = False
) -> Select:
    """Every line of a plan with the update that counts for the quarter (status "No return" when none).

    ``status`` keeps only lines with that status ("No return" included).
    """
    counted = current_update_ids(quarter, signed_off_only=signed_off_only).subquery()
    line_status = func.coalesce(LineUpdate.status, literal(NO_RETURN))
    query = (
        plan_lines(plan_ref)
        .add_columns(
            line_status.label("status"),
            LineUpdate.progress,
            LineUpdate.next_steps,
            LineUpdate.risks,
        )
        .outerjoin(counted, counted.c.action_id == Action.id)
        .outerjoin(LineUpdate, LineUpdate.id == counted.c.update_id)
    )
    return query.where(line_status == status) if status else query


def line_status_by_ref(plan_ref: str, quarter: str, *, signed_off_only: bool = False) -> Select:
    """(ref, status) of every line of a plan for the quarter: :func:`line_status_rows` without the line's text."""
    return line_status_rows(plan_ref, quarter, signed_off_only=signed_off_only).with_only_columns(
        Action.ref.label("ref"), func.coalesce(LineUpdate.status, literal(NO_RETURN)).label("status")
    )


def _status_counts_by(
    group: InstrumentedAttribute[str], label: str, plan_ref: str, quarter: str, signed_off_only: bool
) -> Select:
    """(``label``, status, lines) for a plan and quarter, grouped by ``group`` (a column of the line's objective or
    outcome), counted in the database."""
    counted = current_update_ids(quarter, signed_off_only=signed_off_only).subquery()
    status = func.coalesce(LineUpdate.status, literal(NO_RETURN))
    return (
        select(group.label(label), status.label("status"), func.count(Action.id).label("lines"))
        .select_from(Action)
        .join(Objective, Objective.id == Action.objective_id)
        .join(Outcome, Outcome.id == Objective.outcome_id)
        .join(Plan, Plan.id == Outcome.plan_id)
        .outerjoin(counted, counted.c.action_id == Action.id)
        .outerjoin(LineUpdate, LineUpdate.id == counted.c.update_id)
        .where(Plan.ref == plan_ref)
        .group_by(group, status)
    )


def status_counts_by_outcome(plan_ref: str, quarter: str, *, signed_off_only: bool = False) -> Select:
    """(outcome ref, status, lines) for a plan and quarter, counted in the database."""
    return _status_counts_by(Outcome.ref, "outcome_ref", plan_ref, quarter, signed_off_only)


def status_counts_by_objective(plan_ref: str, quarter: str, *, signed_off_only: bool = False) -> Select:
    """(objective ref, status, lines) for a plan and quarter, counted in the database."""
    return _status_counts_by(Objective.ref, "objective_ref", plan_ref, quarter, signed_off_only)


def status_counts_by_domain(plan_ref: str, quarter: str, *, signed_off_only: bool = False) -> Select:
    """(domain ref, status, lines) for the lines whose objective maps to each index domain."""
    counted = current_update_ids(quarter, signed_off_only=signed_off_only).subquery()
    status = func.coalesce(LineUpdate.status, literal(NO_RETURN))
    return (
        select(IndexDomain.ref.label("domain_ref"), status.label("status"), func.count(Action.id).label("lines"))
        .select_from(Action)
        .join(Objective, Objective.id == Action.objective_id)
        .join(ObjectiveDomain, ObjectiveDomain.objective_id == Objective.id)
        .join(IndexDomain, IndexDomain.id == ObjectiveDomain.domain_id)
        .join(Outcome, Outcome.id == Objective.outcome_id)
        .join(Plan, Plan.id == Outcome.plan_id)
        .outerjoin(counted, counted.c.action_id == Action.id)
        .outerjoin(LineUpdate, LineUpdate.id == counted.c.update_id)
        .where(Plan.ref == plan_ref)
        .group_by(IndexDomain.ref, status)
    )


def plan_action_ids(plan_ref: str) -> Select:
    """The ids of a plan's lines, as a subquery for ``IN``."""
    return (
        select(Action.id)
        .join(Objective, Objective.id == Action.objective_id)
        .join(Outcome, Outcome.id == Objective.outcome_id)
        .join(Plan, Plan.id == Outcome.plan_id)
        .where(Plan.ref == plan_ref)
    )


def line_teams(plan_ref: str) -> Select:
    """(action id, team name) for the responsible teams of a plan's lines, in the plan's order."""
    return (
        select(action_partners.c.action_id, Partner.name)
        .join(Partner, Partner.id == action_partners.c.partner_id)
        .where(action_partners.c.action_id.in_(plan_action_ids(plan_ref)))
        .order_by(action_partners.c.action_id, action_partners.c.position)
    )


def line_bodies(plan_ref: str) -> Select:
    """(action id, monitoring body name) for a plan's lines."""
    return (
        select(action_bodies.c.action_id, MonitoringBody.name)
        .join(MonitoringBody, MonitoringBody.id == action_bodies.c.body_id)
        .where(action_bodies.c.action_id.in_(plan_action_ids(plan_ref)))
        .order_by(action_bodies.c.action_id, action_bodies.c.position)
    )


def line_drivers(plan_ref: str) -> Select:
    """(action id, driver name) for a plan's lines."""
    return (
        select(action_drivers.c.action_id, Driver.name)
        .join(Driver, Driver.id == action_drivers.c.driver_id)
        .where(action_drivers.c.action_id.in_(plan_action_ids(plan_ref)))
        .order_by(action_drivers.c.action_id, Driver.position)
    )


def line_domains(plan_ref: str) -> Select:
    """(action id, domain short name) for a plan's lines, through their objective's index domains."""
    return (
        select(Action.id.label("action_id"), IndexDomain.short_name.label("name"))
        .join(ObjectiveDomain, ObjectiveDomain.objective_id == Action.objective_id)
        .join(IndexDomain, IndexDomain.id == ObjectiveDomain.domain_id)
        .where(Action.id.in_(plan_action_ids(plan_ref)))
        .order_by(Action.id, IndexDomain.position)
    )


def _matches(column: ColumnElement[str] | InstrumentedAttribute[str], value: str) -> ColumnElement[bool]:
    return func.lower(column) == value.strip().lower()


def filter_lines(
    query: Select,
    *,
    outcome: str | None = None,
    objective: str | None = None,
    team: str | None = None,
    body: str | None = None,
    domain: str | None = None,
    driver: str | None = None,
) -> Select:
    """Narrow a statement over ``Action`` (joined to its objective and outcome) by framework filters.

    Each filter matches a ref or a name, ignoring case. A team matches a line it is responsible for or reports.
    """
    if outcome:
        query = query.where(or_(_matches(Outcome.ref, outcome), _matches(Outcome.name, outcome)))
    if objective:
        query = query.where(_matches(Objective.ref, objective))
    if team:
        named = select(Partner.id).where(or_(_matches(Partner.ref, team), _matches(Partner.name, team)))
        responsible = exists().where(action_partners.c.action_id == Action.id, action_partners.c.partner_id.in_(named))
        query = query.where(or_(Action.reporting_partner_id.in_(named), responsible))
    if body:
        named = select(MonitoringBody.id).where(
            or_(_matches(MonitoringBody.ref, body), _matches(MonitoringBody.name, body))
        )
        query = query.where(exists().where(action_bodies.c.action_id == Action.id, action_bodies.c.body_id.in_(named)))
    if driver:
        named = select(Driver.id).where(or_(_matches(Driver.ref, driver), _matches(Driver.name, driver)))
        query = query.where(
            exists().where(action_drivers.c.action_id == Action.id, action_drivers.c.driver_id.in_(named))
        )
    if domain:
        named = select(IndexDomain.id).where(
            or_(
                _matches(IndexDomain.ref, domain),
                _matches(IndexDomain.short_name, domain),
                _matches(IndexDomain.name, domain),
            )
        )
        query = query.where(
            exists().where(ObjectiveDomain.objective_id == Action.objective_id, ObjectiveDomain.domain_id.in_(named))
        )
    return query


def quarters_with_returns(plan_ref: str | None = None) -> Select:
    """Distinct quarter labels holding at least one current return, latest first (labels sort in time order)."""
    query = select(Return.quarter).where(Return.is_current).distinct().order_by(Return.quarter.desc())
    if plan_ref:
        query = query.join(Plan, Plan.id == Return.plan_id).where(Plan.ref == plan_ref)
    return query


def line_history(action_ref: str) -> Select:
    """Every update of one line: each quarter and each return version, oldest first."""
    return (
        select(
            LineUpdate.quarter,
            Return.version,
            Return.is_current,
            Partner.name.label("team"),
            Return.uploaded_by,
            Return.uploaded_at,
            Return.is_demo,
            LineUpdate.status,
            LineUpdate.progress,
            LineUpdate.next_steps,
            LineUpdate.risks,
        )
        .join(Return, Return.id == LineUpdate.return_id)
        .join(Partner, Partner.id == Return.partner_id)
        .join(Action, Action.id == LineUpdate.action_id)
        .where(Action.ref == action_ref)
        .order_by(LineUpdate.quarter, Return.version, Return.uploaded_at)
    )


def line_status_by_quarter(plan_ref: str, quarters: Iterable[str], *, signed_off_only: bool = False) -> Select:
    """(action ref, quarter, status) for the updates that count, across several quarters (no row = No return)."""
    labels = list(quarters)
    latest = (
        select(LineUpdate.action_id, LineUpdate.quarter, func.max(LineUpdate.id).label("update_id"))
        .join(Return, Return.id == LineUpdate.return_id)
        .where(counted_return(signed_off_only), LineUpdate.quarter.in_(labels))
        .group_by(LineUpdate.action_id, LineUpdate.quarter)
        .subquery()
    )
    return (
        select(Action.ref, LineUpdate.quarter, LineUpdate.status)
        .join(latest, latest.c.action_id == Action.id)
        .join(LineUpdate, LineUpdate.id == latest.c.update_id)
        .where(Action.id.in_(plan_action_ids(plan_ref)))
        .order_by(Action.ref, LineUpdate.quarter)
    )


def indicator_values(
    indicator_refs: Iterable[str] | None = None, outcome_ref: str | None = None, *, signed_off_only: bool = False
) -> Select:
    """The value that counts per indicator and quarter (latest in a current return), with the indicator's facts."""
    latest = (
        select(IndicatorValue.indicator_id, IndicatorValue.quarter, func.max(IndicatorValue.id).label("value_id"))
        .join(Return, Return.id == IndicatorValue.return_id)
        .where(counted_return(signed_off_only))
        .group_by(IndicatorValue.indicator_id, IndicatorValue.quarter)
        .subquery()
    )
    query = (
        select(
            Indicator.ref,
            Indicator.name,
            Indicator.unit,
            Indicator.polarity,
            Indicator.tolerance,
            Indicator.baseline_value,
            IndicatorValue.quarter,
            IndicatorValue.value,
            func.coalesce(IndicatorValue.target, Indicator.target).label("target"),
            IndicatorValue.commentary,
        )
        .join(latest, latest.c.indicator_id == Indicator.id)
        .join(IndicatorValue, IndicatorValue.id == latest.c.value_id)
        .order_by(Indicator.position, Indicator.ref, IndicatorValue.quarter)
    )
    if indicator_refs is not None:
        query = query.where(Indicator.ref.in_(list(indicator_refs)))
    if outcome_ref is not None:
        query = query.join(Outcome, Outcome.id == Indicator.outcome_id).where(Outcome.ref == outcome_ref)
    return query


def indicator_values_by_outcome(outcome_refs: Iterable[str], *, signed_off_only: bool = False) -> Select:
    """:func:`indicator_values` of the indicators of several outcomes at once, with each one's ``outcome_ref``."""
    return (
        indicator_values(signed_off_only=signed_off_only)
        .add_columns(Outcome.ref.label("outcome_ref"))
        .join(Outcome, Outcome.id == Indicator.outcome_id)
        .where(Outcome.ref.in_(list(outcome_refs)))
    )


def domain_coverage(plan_ref: str, quarter: str) -> Select:
    """Per index domain: lines mapped in the plan, indicators mapped, and indicators with a value this quarter."""
    plan_lines_mapped = (
        select(ObjectiveDomain.domain_id, func.count(Action.id).label("lines"))
        .join(Action, Action.objective_id == ObjectiveDomain.objective_id)
        .where(Action.id.in_(plan_action_ids(plan_ref)))
        .group_by(ObjectiveDomain.domain_id)
        .subquery()
    )
    indicators_mapped = (
        select(IndicatorDomain.domain_id, func.count(IndicatorDomain.indicator_id).label("indicators"))
        .group_by(IndicatorDomain.domain_id)
        .subquery()
    )
    with_data = (
        select(
            IndicatorDomain.domain_id,
            func.count(func.distinct(IndicatorValue.indicator_id)).label("indicators_with_data"),
        )
        .join(IndicatorValue, IndicatorValue.indicator_id == IndicatorDomain.indicator_id)
        .join(Return, Return.id == IndicatorValue.return_id)
        .where(Return.is_current, IndicatorValue.quarter == quarter, IndicatorValue.value.is_not(None))
        .group_by(IndicatorDomain.domain_id)
        .subquery()
    )
    return (
        select(
            IndexDomain.ref.label("domain_ref"),
            IndexDomain.short_name,
            IndexDomain.name,
            func.coalesce(plan_lines_mapped.c.lines, 0).label("lines"),
            func.coalesce(indicators_mapped.c.indicators, 0).label("indicators"),
            func.coalesce(with_data.c.indicators_with_data, 0).label("indicators_with_data"),
        )
        .outerjoin(plan_lines_mapped, plan_lines_mapped.c.domain_id == IndexDomain.id)
        .outerjoin(indicators_mapped, indicators_mapped.c.domain_id == IndexDomain.id)
        .outerjoin(with_data, with_data.c.domain_id == IndexDomain.id)
        .order_by(IndexDomain.position)
    )


def expected_lines_by_team(plan_ref: str) -> Select:
    """(team ref, team name, lines) for every team that reports at least one line of the plan."""
    return (
        select(Partner.id.label("partner_id"), Partner.ref, Partner.name, func.count(Action.id).label("lines"))
        .join(Action, Action.reporting_partner_id == Partner.id)
        .where(Action.id.in_(plan_action_ids(plan_ref)))
        .group_by(Partner.id, Partner.ref, Partner.name)
        .order_by(Partner.name)
    )


def current_returns(quarters: Iterable[str]) -> Select:
    """The current return of every team for the quarters given, with how many line updates it holds."""
    labels = list(quarters)
    # Counted only for the quarters asked for, so the cost does not grow with years of history.
    updates = (
        select(LineUpdate.return_id, func.count(LineUpdate.id).label("lines_returned"))
        .where(LineUpdate.quarter.in_(labels))
        .group_by(LineUpdate.return_id)
        .subquery()
    )
    return (
        select(
            Return.id,
            Return.partner_id,
            Return.quarter,
            Return.version,
            Return.uploaded_by,
            Return.uploaded_at,
            Return.is_demo,
            func.coalesce(updates.c.lines_returned, 0).label("lines_returned"),
        )
        .outerjoin(updates, updates.c.return_id == Return.id)
        .where(Return.is_current, Return.quarter.in_(labels))
    )


def demo_row_counts() -> Select:
    """How many demo returns and demo lines there are (one row)."""
    return select(
        select(func.count(Return.id)).where(Return.is_demo).scalar_subquery().label("returns"),
        select(func.count(Action.id)).where(Action.is_demo).scalar_subquery().label("actions"),
    )


# Audit actions that record who came and went, not a change to what the pages show: sign-ins, sessions, API reads.
# A meeting's sign-ins would otherwise empty every cached read for every session at the moment load is highest.
ACCESS_ACTION_PREFIXES = ("auth.", "session.", "api.")


def data_version() -> Select:
    """The newest id of an audit event that may change what the pages show (NULL when there is none): every write
    is an audit event, so it changes whenever stored data changes, whichever process wrote it. Sign-ins, sessions
    and API reads are left out (:data:`ACCESS_ACTION_PREFIXES`); :func:`audit_version` counts them too."""
    return select(func.max(AuditEvent.id)).where(
        *(AuditEvent.action.not_like(f"{prefix}%") for prefix in ACCESS_ACTION_PREFIXES)
    )


def audit_version() -> Select:
    """The newest audit event's id, whatever it records (the audit trail's own pages are keyed on it)."""
    return select(func.max(AuditEvent.id))


def meta_value(key: str) -> Select:
    """The value stored under ``key`` in the meta table (no row when unset)."""
    return select(Meta.value).where(Meta.key == key)


def plans_in_order() -> Select:
    """Every plan's ref, title and whether it is current: the current plan first, then the newest."""
    return select(Plan.ref, Plan.title, Plan.is_current).order_by(Plan.is_current.desc(), Plan.first_year.desc())


def line_by_ref(action_ref: str) -> Select:
    """The line (action) with this ref, for :func:`cyp.read.browse.line_info` (no row for an unknown ref)."""
    return select(Action).where(Action.ref == action_ref)
