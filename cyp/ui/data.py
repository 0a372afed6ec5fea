"""Every piece of data a page shows, through cached loaders.

Each ``load_*`` function takes only what the page chose (quarter, plan, filters...) and keys its cache on the data
tag itself (:func:`cyp.ui.engine.data_tag`), so a page never handles a URL or a session, and a write anywhere gives
fresh data on the next run. The loaders call the read side (``cyp.read``), the board and the domain modules; none
holds SQL or rules of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from cyp import demo
from cyp.access import accounts, audit
from cyp.board.data import BoardData, board_data, latest_return_at
from cyp.quarters import parse_quarter
from cyp.read import browse, meta, reports, tracker, young_people
from cyp.read.browse import FilterOptions, PlanOutline
from cyp.read.reports import ViewFilters
from cyp.read.signoff import signoff_enabled
from cyp.read.tracker import TrackerRow
from cyp.read.young_people import OutcomeNews
from cyp.returns.lines import deadline_for
from cyp.storage.config import PROJECT_ROOT
from cyp.ui.engine import audit_tag, data_tag, derived, session, shared_cache, tagged_session

if TYPE_CHECKING:
    from cyp.admin import ObjectiveChoice

# The board pack, the workbooks and the administration module are imported where they are used: each takes 0.1 to
# 0.2 s to import (openpyxl, matplotlib), which every page's first view would otherwise wait for.

TTL = 600  # seconds: a safety net only, since the tag already changes with every write

# The loaders every page view calls (the filters, the Overview, the Outcomes page, the board display) keep one result
# per data tag that every session shares (st.cache_resource): st.cache_data would hand each run its own unpickled
# copy. Pages and the read side only derive new frames from these (pandas copies on write); nothing may change a
# shared result in place.
shared = shared_cache(ttl=TTL)


def counted_versions(signed_off_only: bool | None) -> bool:
    """Whether a view counts signed-off versions only: as asked, or by default as the deployment says.

    With sign-off switched off (``CYP_SIGNOFF`` not 1) the default is False, today's behaviour: every current
    version counts. The answer is part of each loader's cache key, so the two views never share an entry.
    """
    return signoff_enabled() if signed_off_only is None else signed_off_only


@shared
def _demo_present(tag: str) -> bool:
    with tagged_session(tag) as db_session:
        return demo.demo_present(db_session)


def demo_present() -> bool:
    """Whether generated demo data is loaded (every page says so while it is)."""
    return _demo_present(data_tag())


@st.cache_data(ttl=TTL, show_spinner=False)
def _demo_accounts(tag: str) -> list[tuple[str, str, str]]:
    with tagged_session(tag) as db_session:
        return meta.demo_accounts(db_session)


def load_demo_accounts() -> list[tuple[str, str, str]]:
    """(username, password, role) of the generated demo accounts while demo data is loaded."""
    return _demo_accounts(data_tag())


@st.cache_data(ttl=TTL, show_spinner=False)
def _first_admin_instruction(tag: str) -> str | None:
    with tagged_session(tag) as db_session:
        return accounts.first_admin_instruction(db_session)


def load_first_admin_instruction() -> str | None:
    """What to do on a fresh install with no administrator, or None once one exists."""
    return _first_admin_instruction(data_tag())


@shared
def _plans(tag: str) -> tuple[tuple[str, str, bool], ...]:
    with tagged_session(tag) as db_session:
        return tuple(browse.plan_list(db_session))


def load_plans() -> tuple[tuple[str, str, bool], ...]:
    """(ref, title, is current) per plan, the current plan first."""
    return _plans(data_tag())


@shared
def _filter_options(tag: str, plan_ref: str) -> FilterOptions:
    with tagged_session(tag) as db_session:
        return browse.filter_options(db_session, plan_ref)


def load_filter_options(plan_ref: str) -> FilterOptions:
    """Every value each filter can take within a plan, with readable labels."""
    return _filter_options(data_tag(), plan_ref)


@shared
def _plan_summaries(tag: str) -> pd.DataFrame:
    with tagged_session(tag) as db_session:
        return browse.plan_summaries(db_session)


def load_plan_summaries() -> pd.DataFrame:
    """One row per plan with counts of what it holds (:func:`cyp.read.browse.plan_summaries`)."""
    return _plan_summaries(data_tag())


@st.cache_data(ttl=TTL, show_spinner=False)
def _plan_outline(tag: str, plan_ref: str) -> PlanOutline | None:
    with tagged_session(tag) as db_session:
        return browse.plan_outline(db_session, plan_ref)


def load_plan_outline(plan_ref: str) -> PlanOutline | None:
    """The plan's outcomes, objectives, indicators and drivers (:func:`cyp.read.browse.plan_outline`)."""
    return _plan_outline(data_tag(), plan_ref)


@st.cache_data(ttl=TTL, show_spinner=False)
def _plan_actions(tag: str, plan_ref: str) -> pd.DataFrame:
    with tagged_session(tag) as db_session:
        return browse.plan_actions(db_session, plan_ref)


def load_plan_actions(plan_ref: str) -> pd.DataFrame:
    """Every action of the plan with who is responsible and who monitors it (:func:`cyp.read.browse.plan_actions`)."""
    return _plan_actions(data_tag(), plan_ref)


@st.cache_data(ttl=TTL, show_spinner=False)
def _domain_mappings(tag: str, plan_ref: str | None) -> pd.DataFrame:
    with tagged_session(tag) as db_session:
        return browse.domain_mappings(db_session, plan_ref)


def load_domain_mappings(plan_ref: str | None = None) -> pd.DataFrame:
    """The Family Friendly Index mappings, of one plan given ``plan_ref`` (:func:`cyp.read.browse.domain_mappings`)."""
    return _domain_mappings(data_tag(), plan_ref)


@st.cache_data(ttl=TTL, show_spinner=False)
def _index_domains(tag: str) -> tuple[tuple[str, str], ...]:
    with tagged_session(tag) as db_session:
        return tuple((domain.ref, domain.name) for domain in browse.index_domains(db_session))


def load_index_domains() -> tuple[tuple[str, str], ...]:
    """(ref, name) of the nine Family Friendly Index domains in order."""
    return _index_domains(data_tag())


@shared
def _outcome_summary(tag: str, quarter: str, plan_ref: str, signed_off_only: bool) -> pd.DataFrame:
    with tagged_session(tag) as db_session:
        return reports.outcome_summary(db_session, quarter, plan_ref, signed_off_only=signed_off_only)


def load_outcome_summary(quarter: str, plan_ref: str, signed_off_only: bool | None = None) -> pd.DataFrame:
    """Cached :func:`cyp.read.reports.outcome_summary` (``signed_off_only``: see :func:`counted_versions`)."""
    return _outcome_summary(data_tag(), quarter, plan_ref, counted_versions(signed_off_only))


@shared
def _status_report(tag: str, quarter: str, plan_ref: str, signed_off_only: bool) -> dict:
    with tagged_session(tag) as db_session:
        return reports.status_report(db_session, quarter, plan_ref, signed_off_only=signed_off_only)


def load_status_report(quarter: str, plan_ref: str, signed_off_only: bool | None = None) -> dict:
    """Cached :func:`cyp.read.reports.status_report` (``signed_off_only``: see :func:`counted_versions`)."""
    return _status_report(data_tag(), quarter, plan_ref, counted_versions(signed_off_only))


@shared
def _line_statuses(
    tag: str, quarter: str, plan_ref: str, filters: ViewFilters | None, signed_off_only: bool
) -> pd.DataFrame:
    with tagged_session(tag) as db_session:
        return reports.line_statuses(db_session, quarter, plan_ref, filters, signed_off_only=signed_off_only)


def load_line_statuses(
    quarter: str, plan_ref: str, filters: ViewFilters | None = None, signed_off_only: bool | None = None
) -> pd.DataFrame:
    """Cached :func:`cyp.read.reports.line_statuses` (pass :func:`line_filters` so quarter/plan do not split it)."""
    return _line_statuses(data_tag(), quarter, plan_ref, filters, counted_versions(signed_off_only))


@shared
def _line_trends(tag: str, plan_ref: str, quarters: tuple[str, ...], signed_off_only: bool) -> pd.DataFrame:
    with tagged_session(tag) as db_session:
        return reports.line_trends(db_session, plan_ref, quarters, signed_off_only=signed_off_only)


def load_line_trends(plan_ref: str, quarters: tuple[str, ...], signed_off_only: bool | None = None) -> pd.DataFrame:
    """Cached :func:`cyp.read.reports.line_trends` (``signed_off_only``: see :func:`counted_versions`)."""
    return _line_trends(data_tag(), plan_ref, quarters, counted_versions(signed_off_only))


def _records_by_outcome(summary: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {record["outcome_ref"]: record for record in summary.to_dict("records")}


def load_outcome_record(
    quarter: str, plan_ref: str, outcome_ref: str, signed_off_only: bool | None = None
) -> dict[str, Any] | None:
    """One outcome's row of :func:`load_outcome_summary` as a dict (shared: never change it), None if not there.

    Worked out once per data rather than filtering the summary in every run.
    """
    return derived(_records_by_outcome, load_outcome_summary(quarter, plan_ref, signed_off_only)).get(outcome_ref)


def _text(value: object) -> str:
    """A cell as text, "" for None and NaN (which :func:`escape_markdown` shows as "" too)."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


@dataclass(frozen=True)
class LineCard:
    """What one line's card on the Outcomes page shows, as plain values (shared by every session: never change it).

    ``text`` is the objective's text for a whole-objective line, else the action's; ``change`` is "Improved",
    "Worse" or None; ``trend`` is (quarter, status) per trend quarter, oldest first; None and NaN are "".
    """

    ref: str
    status: str
    text: str
    change: str | None
    teams: str
    is_demo: bool
    bodies: str
    trend: tuple[tuple[str, str], ...]
    progress: str
    next_steps: str
    risks: str


@dataclass(frozen=True, eq=False)
class ObjectiveLines:
    """One objective's lines on the Outcomes page, worked out once per data (shared: never change any of it).

    ``cards`` are in the order shown (lines needing attention first); ``rest`` is the table of the lines after the
    first ``card_limit`` (empty when all fit); ``strip_first`` and ``strip_all`` are the trend rows (``line``,
    ``quarter``, ``status``) of the first ``card_limit`` cards and of all of them.
    """

    counts: dict[str, int]
    cards: tuple[LineCard, ...]
    rest: pd.DataFrame
    strip_first: pd.DataFrame
    strip_all: pd.DataFrame


@dataclass(frozen=True, eq=False)
class OutcomeLines:
    """The lines the Outcomes page shows, by objective ref (objectives with no line matching are absent)."""

    count: int
    objectives: dict[str, ObjectiveLines]


def _line_card(line: dict[str, Any], trend: tuple[tuple[str, str], ...]) -> LineCard:
    whole = line["whole_objective"]
    action = line["action"]
    text = line["objective"] if whole or not action else action
    is_demo = line["is_demo"]
    return LineCard(
        ref=_text(line["ref"]),
        status=_text(line["status"]),
        text=_text(text),
        change=line["change"] if line["change"] in ("Improved", "Worse") else None,
        teams=_text(line["teams"]),
        is_demo=is_demo is True or str(is_demo) == "True",
        bodies=_text(line["bodies"]),
        trend=trend,
        progress=_text(line["progress"]),
        next_steps=_text(line["next_steps"]),
        risks=_text(line["risks"]),
    )


_REST_EMPTY = pd.DataFrame(columns=["Line", "Status", "Responsible", "Progress"])


def frame_records(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts of ``columns``: what ``to_dict("records")`` gives, read a column at a time
    (pandas reads a str column's records cell by cell: 5 ms for an outcome's lines at council scale)."""
    return [dict(zip(columns, row, strict=True)) for row in zip(*(frame[c].tolist() for c in columns), strict=True)]


def objective_lines(
    lines: pd.DataFrame, trends: pd.DataFrame, card_limit: int, attention: tuple[str, ...]
) -> OutcomeLines:
    """Group a :func:`load_line_statuses` frame by objective for the Outcomes page, with each line's trend from a
    :func:`load_line_trends` frame: the lines whose status is in ``attention`` first, then the others, each group
    in the frame's order; the lines beyond ``card_limit`` also as a table (Line, Status, Responsible, Progress)."""
    from cyp.ui.widgets import responsible_column  # widgets imports this module

    wanted = trends[trends["ref"].isin(lines["ref"])]
    trend_of: dict[str, list[tuple[str, str]]] = {}
    trend_rows: dict[str, list[int]] = {}  # each line's positions in ``wanted``, for its objective's strip
    for position, (ref, quarter, status) in enumerate(
        zip(wanted["ref"].tolist(), wanted["quarter"].tolist(), wanted["status"].tolist(), strict=True)
    ):
        trend_of.setdefault(ref, []).append((quarter, status))
        trend_rows.setdefault(ref, []).append(position)
    strips = wanted.rename(columns={"ref": "line"})

    def strip(line_refs: Iterable[str]) -> pd.DataFrame:
        # The trend rows of these lines, in the trends' own order (as filtering ``wanted`` by them would give).
        return strips.iloc[sorted(position for ref in set(line_refs) for position in trend_rows.get(ref, ()))]

    # Plain lists and positions, split once: a filtered copy of the frame per objective cost more than the cards.
    refs, statuses = lines["ref"].tolist(), lines["status"].tolist()
    records = frame_records(lines, list(lines.columns))
    members: dict[Any, list[int]] = {}
    for position, objective_ref in enumerate(lines["objective_ref"].tolist()):
        if not pd.isna(objective_ref):  # as groupby, which leaves out a missing key
            members.setdefault(objective_ref, []).append(position)
    wanted_first = set(attention)
    objectives: dict[str, ObjectiveLines] = {}
    for objective_ref, positions in members.items():
        order = [p for p in positions if statuses[p] in wanted_first] + [
            p for p in positions if statuses[p] not in wanted_first
        ]
        cards = tuple(_line_card(records[p], tuple(trend_of.get(refs[p], ()))) for p in order)
        if len(order) > card_limit:
            rest = lines.iloc[order[card_limit:]]
            table = rest.assign(teams=responsible_column(rest["teams"], rest["is_demo"]))[
                ["ref", "status", "teams", "progress"]
            ].rename(columns={"ref": "Line", "status": "Status", "teams": "Responsible", "progress": "Progress"})
        else:
            table = _REST_EMPTY
        strip_all = strip(refs[p] for p in order)
        strip_first = strip_all if len(order) <= card_limit else strip(refs[p] for p in order[:card_limit])
        objectives[str(objective_ref)] = ObjectiveLines(
            lines["status"].iloc[positions].value_counts().to_dict(), cards, table, strip_first, strip_all
        )
    return OutcomeLines(len(lines), objectives)


@shared
def _outcome_lines(
    tag: str,
    quarter: str,
    plan_ref: str,
    filters: ViewFilters | None,
    signed_off_only: bool,
    quarters: tuple[str, ...],
    card_limit: int,
    attention: tuple[str, ...],
) -> OutcomeLines:
    return objective_lines(
        _line_statuses(tag, quarter, plan_ref, filters, signed_off_only),
        _line_trends(tag, plan_ref, quarters, signed_off_only),
        card_limit,
        attention,
    )


def load_outcome_lines(
    quarter: str,
    plan_ref: str,
    filters: ViewFilters | None,
    quarters: tuple[str, ...],
    card_limit: int,
    attention: tuple[str, ...],
    signed_off_only: bool | None = None,
) -> OutcomeLines:
    """:func:`objective_lines` of :func:`load_line_statuses` (pass :func:`line_filters`) and
    :func:`load_line_trends` over ``quarters``, worked out once per data and shared by every session."""
    counted = counted_versions(signed_off_only)
    return _outcome_lines(data_tag(), quarter, plan_ref, filters, counted, quarters, card_limit, attention)


@shared
def _domain_summary(tag: str, quarter: str, plan_ref: str, domain: str | None, signed_off_only: bool) -> pd.DataFrame:
    with tagged_session(tag) as db_session:
        return reports.domain_summary(db_session, quarter, plan_ref, domain, signed_off_only=signed_off_only)


def load_domain_summary(
    quarter: str, plan_ref: str, domain: str | None = None, signed_off_only: bool | None = None
) -> pd.DataFrame:
    """Cached :func:`cyp.read.reports.domain_summary`: every domain, or the one ``domain`` names."""
    return _domain_summary(data_tag(), quarter, plan_ref, domain, counted_versions(signed_off_only))


@shared
def _indicator_series(
    tag: str, indicator_refs: tuple[str, ...] | None, outcome_ref: str | None, signed_off_only: bool
) -> pd.DataFrame:
    with tagged_session(tag) as db_session:
        return reports.indicator_series(db_session, indicator_refs, outcome_ref, signed_off_only=signed_off_only)


def load_indicator_series(
    indicator_refs: tuple[str, ...] | None = None,
    outcome_ref: str | None = None,
    signed_off_only: bool | None = None,
) -> pd.DataFrame:
    """Cached :func:`cyp.read.reports.indicator_series` (``signed_off_only``: see :func:`counted_versions`)."""
    return _indicator_series(data_tag(), indicator_refs, outcome_ref, counted_versions(signed_off_only))


@dataclass(frozen=True, eq=False)
class IndicatorPanel:
    """One indicator's values up to a quarter, oldest first, and its latest row as a dict (shared: never change)."""

    ref: str
    latest: dict[str, Any]
    values: pd.DataFrame


@shared
def _indicator_panels(tag: str, outcome_ref: str, quarter: str, signed_off_only: bool) -> tuple[IndicatorPanel, ...]:
    series = _indicator_series(tag, None, outcome_ref, signed_off_only)
    series = series[series["quarter"] <= quarter]
    return tuple(
        IndicatorPanel(str(ref), values.iloc[-1].to_dict(), values) for ref, values in series.groupby("ref", sort=False)
    )


def load_indicator_panels(
    outcome_ref: str, quarter: str, signed_off_only: bool | None = None
) -> tuple[IndicatorPanel, ...]:
    """The outcome's indicators (:func:`load_indicator_series`) with values up to ``quarter``, one panel each in
    the series' order; worked out once per data and shared by every session."""
    return _indicator_panels(data_tag(), outcome_ref, quarter, counted_versions(signed_off_only))


@shared
def _exceptions(
    tag: str, quarter: str, plan_ref: str, filters: ViewFilters | None, signed_off_only: bool
) -> dict[str, pd.DataFrame]:
    # :func:`cyp.read.reports.exceptions` built from the shared line statuses (the agenda ignores objective and
    # status), so the page's list of questions on the same lines reads the same cached frame, not a second one.
    narrowed = (filters or ViewFilters()).replace(quarter=None, plan=None, objective=None, status=None)
    lines = _line_statuses(tag, quarter, plan_ref, narrowed, signed_off_only)
    with tagged_session(tag) as db_session:
        late = tracker.for_team(tracker.tracker_frame(tracker.submission_tracker(db_session, quarter)), narrowed.team)
    return reports.exceptions_from(lines, late)


def load_exceptions(
    quarter: str, plan_ref: str, filters: ViewFilters | None = None, signed_off_only: bool | None = None
) -> dict[str, pd.DataFrame]:
    """Cached :func:`cyp.read.reports.exceptions`, narrowed by the line filters (pass :func:`line_filters`)."""
    return _exceptions(data_tag(), quarter, plan_ref, filters, counted_versions(signed_off_only))


def load_latest_return_at(quarter: str, plan_ref: str) -> str:
    """ISO time of the latest current return for the quarter ("" for none).

    Not cached on purpose: it is one aggregate, and the board display shows it as the data's freshness.
    """
    with session() as db_session:
        stamp = latest_return_at(db_session, quarter, plan_ref)
    return stamp.isoformat() if stamp else ""


@shared
def _board_data(
    tag: str, quarter: str, plan_ref: str, latest_return: str, signed_off_only: bool, with_index: bool = True
) -> BoardData:
    with tagged_session(tag) as db_session:
        return board_data(db_session, quarter, plan_ref, signed_off_only=signed_off_only, with_index=with_index)


def load_board_data(quarter: str, plan_ref: str, signed_off_only: bool | None = None) -> BoardData:
    """Cached :func:`cyp.board.data.board_data` for the board display: what the board pack shows but the Family
    Friendly Index (the display has no slide for it: ``domains`` and ``domain_map`` are empty).

    Also keyed on the latest return's time (one aggregate): the meeting-room screen must show a return accepted
    during the meeting even if it was stored without an audit event (a script, a restore). With sign-off on the
    board sees signed-off returns unless ``signed_off_only`` is False (:func:`counted_versions`).
    """
    latest = load_latest_return_at(quarter, plan_ref)
    return _board_data(data_tag(), quarter, plan_ref, latest, counted_versions(signed_off_only), False)


@st.cache_data(ttl=TTL, show_spinner=False, max_entries=8)
def _board_pack_bytes(tag: str, quarter: str, plan_ref: str, suffix: str, latest_return: str) -> bytes:
    from cyp.board.excel import board_pack_xlsx
    from cyp.board.pdf import render_pack_pdf

    if suffix == "pdf":
        # With sign-off on, the pack counts signed-off returns and lists what awaits sign-off (as board_data does).
        return render_pack_pdf(_board_data(tag, quarter, plan_ref, latest_return, counted_versions(None)))
    with tagged_session(tag) as db_session:
        return board_pack_xlsx(db_session, quarter, plan_ref)


def board_pack_bytes(quarter: str, plan_ref: str, suffix: str) -> bytes:
    """The board pack as ``pdf`` or ``xlsx`` bytes, cached until the data changes. Raises
    :class:`cyp.board.data.BoardPackError` with a message the page can show."""
    return _board_pack_bytes(data_tag(), quarter, plan_ref, suffix, load_latest_return_at(quarter, plan_ref))


def framework_workbook() -> bytes:
    """The framework workbook, built when asked for (a download button's deferred data: seconds on a large history)."""
    from cyp.framework.workbook import export_framework

    with session() as db_session:
        return export_framework(db_session)


@shared
def _tracker_rows(tag: str, quarter: str) -> list[TrackerRow]:
    with tagged_session(tag) as db_session:
        return tracker.submission_tracker(db_session, quarter)


def load_tracker(quarter: str, team: str | None = None) -> pd.DataFrame:
    """The submission tracker for one quarter as a DataFrame (:func:`cyp.read.tracker.tracker_frame`), of every team
    or only the one ``team`` names (:func:`cyp.read.tracker.for_team`)."""
    return tracker.for_team(tracker.tracker_frame(_tracker_rows(data_tag(), quarter)), team)


def load_tracker_rows(quarter: str) -> list[TrackerRow]:
    """The submission tracker for one quarter, one row per team (:func:`cyp.read.tracker.submission_tracker`)."""
    return _tracker_rows(data_tag(), parse_quarter(quarter).label)


@st.cache_data(ttl=TTL, show_spinner=False)
def _tracker_grid(tag: str, quarters: tuple[str, ...]) -> pd.DataFrame:
    with tagged_session(tag) as db_session:
        return tracker.tracker_grid(db_session, quarters)


def load_tracker_grid(quarters: tuple[str, ...]) -> pd.DataFrame:
    """Cached :func:`cyp.read.tracker.tracker_grid`."""
    return _tracker_grid(data_tag(), quarters)


@shared
def _deadline(tag: str, quarter: str) -> date:
    with tagged_session(tag) as db_session:
        return deadline_for(db_session, parse_quarter(quarter))


def load_deadline(quarter: str) -> date:
    """The quarter's deadline for returns (:func:`cyp.returns.lines.deadline_for`)."""
    return _deadline(data_tag(), quarter)


@st.cache_data(ttl=TTL, show_spinner=False)
def _template(tag: str, team_ref: str, quarter: str) -> bytes:
    from cyp.returns.template import write_template

    with tagged_session(tag) as db_session:
        return write_template(db_session, team_ref, quarter)


def load_template(team_ref: str, quarter: str) -> bytes:
    """The team's return workbook for the quarter, last quarter's answers filled in; raises as
    :func:`cyp.returns.template.write_template` does for a team with nothing to report."""
    return _template(data_tag(), team_ref, quarter)


@st.cache_data(ttl=TTL, show_spinner=False)
def _line_history(tag: str, line_ref: str) -> pd.DataFrame:
    with tagged_session(tag) as db_session:
        return reports.line_history(db_session, line_ref)


def load_line_history(line_ref: str) -> pd.DataFrame:
    """Cached :func:`cyp.read.reports.line_history`."""
    return _line_history(data_tag(), line_ref)


@st.cache_data(ttl=TTL, show_spinner=False)
def _line_info(tag: str, line_ref: str) -> dict[str, str] | None:
    with tagged_session(tag) as db_session:
        return browse.line_info(db_session, line_ref)


def load_line_info(line_ref: str) -> dict[str, str] | None:
    """A line's framework context (:func:`cyp.read.browse.line_info`), or None for an unknown ref."""
    return _line_info(data_tag(), line_ref)


@st.cache_data(ttl=TTL, show_spinner=False)
def _domain_indicators(tag: str, plan_ref: str) -> tuple[tuple[str, str], ...]:
    with tagged_session(tag) as db_session:
        return browse.domain_indicators(db_session, plan_ref)


def load_domain_indicators(plan_ref: str) -> tuple[tuple[str, str], ...]:
    """(indicator ref, domain ref) for every indicator of the plan mapped to a Family Friendly Index domain."""
    return _domain_indicators(data_tag(), plan_ref)


@st.cache_data(ttl=TTL, show_spinner=False)
def _young_people_summary(tag: str, quarter: str, plan_ref: str, signed_off_only: bool) -> list[OutcomeNews]:
    with tagged_session(tag) as db_session:
        return young_people.young_people_summary(
            db_session, quarter, plan_ref, young_people_words(), signed_off_only=signed_off_only
        )


def load_young_people_summary(quarter: str, plan_ref: str) -> list[OutcomeNews]:
    """Each outcome in plain words with publishable counts (:func:`cyp.read.young_people.young_people_summary`).

    It is published, so it has no "include what awaits sign-off" switch: with sign-off on it always counts
    signed-off returns only, as the public API does.
    """
    return _young_people_summary(data_tag(), quarter, plan_ref, signoff_enabled())


@st.cache_data(show_spinner=False)
def young_people_rule() -> list[str]:
    """The roll-up rule in the summary's plain words (:func:`cyp.read.young_people.rule_sentences`)."""
    return young_people.rule_sentences(young_people.young_people_words())


def young_people_words() -> dict[str, Any]:
    """The plain words for the young people's summary (:func:`cyp.read.young_people.young_people_words`)."""
    return young_people.young_people_words()


ACCESSIBILITY_STATEMENT = PROJECT_ROOT / "docs" / "accessibility.md"


CONTACT_MARKER = "<!-- contact details: filled in from the CYP_ACCESSIBILITY_* settings -->"


def _contact_lines() -> str:
    """The statement's contact details, from the settings (values escaped: they are shown as text)."""
    from cyp.storage.config import get_settings
    from cyp.ui.widgets import escape_markdown

    settings = get_settings()
    lines = [f"- Who: {escape_markdown(settings.accessibility_contact)}"]
    if settings.accessibility_email:
        lines.append(f"- Email: {escape_markdown(settings.accessibility_email)}")
    else:
        lines.append(
            "- Email: not set for this installation yet (its administrator sets `CYP_ACCESSIBILITY_EMAIL`); "
            "until then, use the contact your organisation uses for the Children and Young People's Plan"
        )
    if settings.accessibility_phone:
        lines.append(f"- Telephone: {escape_markdown(settings.accessibility_phone)}")
    return "\n".join(lines)


@st.cache_data(show_spinner=False)
def accessibility_statement() -> tuple[str, str]:
    """(title, body) of the accessibility statement: docs/accessibility.md, its first ``# `` line as the title,
    with the contact details of the ``CYP_ACCESSIBILITY_*`` settings in place of its contact marker."""
    text = ACCESSIBILITY_STATEMENT.read_text(encoding="utf-8").replace(CONTACT_MARKER, _contact_lines())
    first, _newline, body = text.partition("\n")
    return first.removeprefix("# ").strip(), body.strip()


@st.cache_data(ttl=TTL, show_spinner=False)
def _team_choices(tag: str) -> list[tuple[str, str]]:
    from cyp import admin

    with tagged_session(tag) as db_session:
        return admin.team_choices(db_session)


def load_team_choices() -> list[tuple[str, str]]:
    """(ref, name) of every team, by name."""
    return _team_choices(data_tag())


@st.cache_data(ttl=TTL, show_spinner=False)
def _line_assignments(tag: str, plan_ref: str) -> pd.DataFrame:
    from cyp import admin

    with tagged_session(tag) as db_session:
        return admin.line_assignments(db_session, plan_ref)


def load_line_assignments(plan_ref: str) -> pd.DataFrame:
    """Which team reports each line of the plan (:func:`cyp.admin.line_assignments`)."""
    return _line_assignments(data_tag(), plan_ref)


@st.cache_data(ttl=TTL, show_spinner=False)
def _objective_choices(tag: str, plan_ref: str) -> list[ObjectiveChoice]:
    from cyp import admin

    with tagged_session(tag) as db_session:
        return admin.objective_choices(db_session, plan_ref)


def load_objective_choices(plan_ref: str) -> list[ObjectiveChoice]:
    """The plan's objectives an administrator can assign as a whole (:func:`cyp.admin.objective_choices`)."""
    return _objective_choices(data_tag(), plan_ref)


@st.cache_data(ttl=TTL, show_spinner=False)
def _deadline_table(tag: str, plan_ref: str) -> pd.DataFrame:
    from cyp import admin

    with tagged_session(tag) as db_session:
        return admin.deadline_table(db_session, plan_ref)


def load_deadline_table(plan_ref: str) -> pd.DataFrame:
    """Every quarter of the plan with its deadline (:func:`cyp.admin.deadline_table`)."""
    return _deadline_table(data_tag(), plan_ref)


@st.cache_data(ttl=TTL, show_spinner=False)
def _audit_filter_choices(tag: str) -> dict[str, list[str]]:
    from cyp import admin

    with tagged_session(tag) as db_session:
        return admin.audit_filter_choices(db_session)


def load_audit_filter_choices() -> dict[str, list[str]]:
    """The actors, actions and outcomes in the audit trail, for its filters."""
    return _audit_filter_choices(audit_tag())


@st.cache_data(ttl=TTL, show_spinner=False)
def _audit_events(tag: str, limit: int | None, filters: tuple[tuple[str, Any], ...]) -> pd.DataFrame:
    with tagged_session(tag) as db_session:
        return audit.list_events(db_session, limit=limit, **dict(filters))


def load_audit_events(limit: int | None = None, **filters: Any) -> pd.DataFrame:
    """Audit events matching ``filters``, newest first (:func:`cyp.access.audit.list_events`)."""
    return _audit_events(audit_tag(), limit, tuple(sorted(filters.items())))


@st.cache_data(ttl=TTL, show_spinner=False)
def _audit_csv(tag: str, filters: tuple[tuple[str, Any], ...]) -> bytes:
    with tagged_session(tag) as db_session:
        return audit.export_events_csv(db_session, **dict(filters))


def audit_csv_download(**filters: Any) -> Callable[[], bytes]:
    """Every audit event matching ``filters`` as CSV (:func:`cyp.access.audit.export_events_csv`), made when it
    is called: ``st.download_button(data=...)`` calls it only when the button is pressed, not in every run."""
    tag, key = audit_tag(), tuple(sorted(filters.items()))
    return lambda: _audit_csv(tag, key)


@st.cache_data(ttl=TTL, show_spinner=False)
def _accounts(tag: str) -> list[dict[str, Any]]:
    with tagged_session(tag) as db_session:
        return [
            {
                "username": account.username,
                "name": account.display_name or "",
                "role": account.role,
                "state": "active" if account.is_active else "disabled",
                "teams": ", ".join(sorted(team.ref for team in account.teams)),
                "email": account.email or "",
                "sign-in": "password" if account.password_hash else "identity provider",
                "demo": account.is_demo,
            }
            for account in accounts.list_users(db_session)
        ]


def load_accounts() -> list[dict[str, Any]]:
    """Every account as a table row: username, name, role, state, teams, email, how it signs in, demo."""
    return _accounts(data_tag())


@st.cache_data(ttl=TTL, show_spinner=False)
def _my_account(tag: str, username: str) -> dict[str, Any] | None:
    from cyp.cycle.recipients import opted_out_ids

    with tagged_session(tag) as db_session:
        account = next((user for user in accounts.list_users(db_session) if user.username == username), None)
        if account is None:
            return None
        return {
            "username": account.username,
            "name": account.display_name or "",
            "role": account.role,
            "teams": sorted(team.name for team in account.teams),
            "email": account.email or "",
            "emails_stopped": account.id in opted_out_ids(db_session),
        }


def load_my_account() -> dict[str, Any] | None:
    """The signed-in person's account: username, name, role, teams (names), email, and whether they stopped the
    reminder and digest emails (``emails_stopped``); None when nobody is signed in or the account is gone."""
    from cyp.ui.signin import current_principal  # cyp.ui.signin imports this module

    principal = current_principal()
    return None if principal is None else _my_account(data_tag(), principal.username)
