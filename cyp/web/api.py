"""The read-only data API for Power BI, Excel Power Query and R: JSON and CSV under ``/api/v1``.

Every route but the young people's summary and the OpenAPI description needs an API token
(:mod:`cyp.access.tokens`) sent as ``Authorization: Bearer cyp_...``; the token's scope decides which plans
may be read and whether commentary (progress, next steps, risks, indicator commentary) is included. Each
request made with a token, allowed or refused, is audited. The routes only read: the one write per request
is the audit event (and the token's "last used"), in a short transaction after the data has been read.

With sign-off switched on (``CYP_SIGNOFF=1``) the report, the outcomes, the indicators and the young people's
summary count each team's latest signed-off return only, never a version still awaiting sign-off, and every
JSON answer of theirs says which versions it counts (``"returns_counted"``). A line's history still lists every
version, each marked ``counted`` and, with sign-off on, ``signed_off``.

The web app mounts these routes with one line: ``Mount("/api/v1", routes=api_routes())``.
The description served at ``/api/v1/openapi.json`` is ``cyp/web/openapi.yaml``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, and_, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from cyp.access import tokens
from cyp.access.tokens import TokenRefused, TokenScope
from cyp.quarters import Quarter, QuarterError, parse_quarter
from cyp.read.public import returns_counted, young_people_answer
from cyp.read.reports import (
    LINE_HISTORY_COLUMNS,
    UnknownPlan,
    indicator_series,
    latest_quarter_with_returns,
    line_history,
    quarters_with_returns,
    resolve_plan,
    status_report,
)
from cyp.read.signoff import SIGNED_OFF, counted_return, signoff_enabled
from cyp.read.tracker import TRACKER_COLUMNS, submission_tracker, tracker_frame
from cyp.storage.db import get_engine, read_session, write_session
from cyp.storage.models import Action, Indicator, LineUpdate, Objective, Outcome, Partner, Plan, Return, Signoff

OPENAPI_FILE = Path(__file__).with_name("openapi.yaml")


PREFIX = "/api/v1"


# A CSV cell starting with one of these is run as a formula by Excel and LibreOffice: such text gets a leading "'".
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# Left out of every answer to a token whose scope does not include commentary.
COMMENTARY = ("progress", "next_steps", "risks", "commentary")


class ApiProblem(Exception):
    """A request that cannot be answered as asked (bad quarter, unknown plan or line): HTTP status and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The JSON error every refusal and problem is answered with: ``{"error": {"code": ..., "message": ...}}``."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=dict(headers or {}))


def _plain(value: Any) -> Any:
    """A value as JSON and CSV can carry it: numpy and pandas scalars unwrapped, missing values None."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is not None and type(value).__name__ in {"NaTType", "NAType"}:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        value = "; ".join(str(item) for item in value)
    text = str(value)
    return "'" + text if isinstance(value, str) and text.startswith(FORMULA_PREFIXES) else text


def csv_response(columns: list[str], rows: Iterable[Mapping[str, Any]], filename: str) -> Response:
    """``rows`` as UTF-8 CSV with a header row (a byte-order mark, so Excel reads accents right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return Response(
        buffer.getvalue().encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


def _records(frame: Any) -> list[dict[str, Any]]:
    return [{key: _plain(value) for key, value in row.items()} for row in frame.to_dict("records")]


def _wants_csv(request: Request) -> bool:
    chosen = request.query_params.get("format", "json")
    if chosen not in ("json", "csv"):
        raise ApiProblem(400, "bad_format", f"format must be json or csv, not {chosen!r}.")
    return chosen == "csv"


def _text_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name)
    return value.strip() if value and value.strip() else None


def _quarter(session: Session, request: Request, plan_ref: str | None) -> Quarter:
    """The ``quarter`` asked for, or the latest with returns (of ``plan_ref`` when given)."""
    text = _text_param(request, "quarter")
    if text is None:
        latest = latest_quarter_with_returns(session, plan_ref)
        if latest is None:
            raise ApiProblem(404, "no_returns", "No returns have been stored yet, so there is no latest quarter.")
        return latest
    try:
        return parse_quarter(text)
    except QuarterError as exc:
        raise ApiProblem(400, "bad_quarter", str(exc)) from exc


def _plan(session: Session, quarter: Quarter, plan_ref: str | None, scope: TokenScope | None) -> Plan:
    try:
        plan = resolve_plan(session, quarter, plan_ref)
    except UnknownPlan as exc:
        raise ApiProblem(404, "unknown_plan", str(exc).replace("give a plan with --plan", "give a plan")) from exc
    if scope is not None:
        scope.check_plan(plan.ref)
    return plan


def _without_commentary(row: dict[str, Any], scope: TokenScope) -> dict[str, Any]:
    return row if scope.include_commentary else {k: v for k, v in row.items() if k not in COMMENTARY}


def _columns(columns: Iterable[str], scope: TokenScope) -> list[str]:
    return [c for c in columns if scope.include_commentary or c not in COMMENTARY]


def report(session: Session, scope: TokenScope, request: Request) -> Response:
    """A quarter's status report: ``docs/report-json.md``; as CSV, one row per line."""
    wants_csv = _wants_csv(request)
    plan_ref = _text_param(request, "plan")
    quarter = _quarter(session, request, plan_ref)
    plan = _plan(session, quarter, plan_ref, scope)
    signed_off_only = signoff_enabled()
    result = status_report(session, quarter, plan.ref, signed_off_only=signed_off_only)
    result["lines"] = [_without_commentary(line, scope) for line in result["lines"]]
    if wants_csv:
        columns = _columns(["ref", "outcome", "objective", "teams", "status", "progress"], scope)
        return csv_response(columns, result["lines"], f"report-{plan.ref}-{quarter.label.replace(' ', '-')}.csv")
    return JSONResponse({**result, "returns_counted": returns_counted(signed_off_only)})


def report_outcomes(session: Session, scope: TokenScope, request: Request) -> Response:
    """Each outcome's rolled-up status and counts for a quarter (the report's ``outcomes``), one row each as CSV."""
    wants_csv = _wants_csv(request)
    plan_ref = _text_param(request, "plan")
    quarter = _quarter(session, request, plan_ref)
    plan = _plan(session, quarter, plan_ref, scope)
    signed_off_only = signoff_enabled()
    result = status_report(session, quarter, plan.ref, signed_off_only=signed_off_only)
    if wants_csv:
        rows = [{"quarter": result["quarter"], "plan": result["plan"], **o, **o["counts"]} for o in result["outcomes"]]
        columns = ["quarter", "plan", "ref", "name", "status", *result["outcomes"][0]["counts"]] if rows else []
        return csv_response(columns, rows, f"outcomes-{plan.ref}-{quarter.label.replace(' ', '-')}.csv")
    answer = {key: result[key] for key in ("quarter", "plan", "rule", "outcomes")}
    return JSONResponse({**answer, "returns_counted": returns_counted(signed_off_only)})


HISTORY_COLUMNS = [*LINE_HISTORY_COLUMNS, "counted"]


VersionKey = tuple[str, str, int]  # (quarter, team name, version): how line_history names a return version


def _version_marks(session: Session, action_ref: str, signed_off_only: bool) -> dict[VersionKey, tuple[bool, bool]]:
    """Each return version holding the line -> (whether the report counts it, whether it is signed off)."""
    counted = and_(counted_return(signed_off_only)).label("counted")  # and_ makes it a column mypy accepts
    statement = (
        select(LineUpdate.quarter, Partner.name, Return.version, counted, Signoff.state)
        .join(Partner, Partner.id == Return.partner_id)
        .join(LineUpdate, LineUpdate.return_id == Return.id)
        .join(Action, Action.id == LineUpdate.action_id)
        .outerjoin(Signoff, Signoff.return_id == Return.id)
        .where(Action.ref == action_ref)
    )
    return {
        (quarter, team, version): (bool(counted), state == SIGNED_OFF)
        for quarter, team, version, counted, state in session.execute(statement)
    }


def history(session: Session, scope: TokenScope, request: Request) -> Response:
    """Every update of one line across quarters and return versions, oldest first."""
    wants_csv = _wants_csv(request)
    ref = request.path_params["ref"].strip()
    plan_ref = session.scalar(
        select(Plan.ref)
        .join(Outcome, Outcome.plan_id == Plan.id)
        .join(Objective, Objective.outcome_id == Outcome.id)
        .join(Action, Action.objective_id == Objective.id)
        .where(Action.ref == ref)
    )
    if plan_ref is None:
        raise ApiProblem(404, "unknown_line", f"There is no line {ref!r}; the report lists every line's ref.")
    scope.check_plan(plan_ref)
    # The history lists every version (it is the line's record), each marked: which one the report counts and,
    # with sign-off on, which are signed off.
    signed_off_only = signoff_enabled()
    marks = _version_marks(session, ref, signed_off_only)
    rows = []
    for row in _records(line_history(session, ref)):
        row["counted"], signed_off = marks[(row["quarter"], row["team"], row["version"])]
        if signed_off_only:
            row["signed_off"] = signed_off
        rows.append(_without_commentary(row, scope))
    if wants_csv:
        columns = [*HISTORY_COLUMNS, "signed_off"] if signed_off_only else HISTORY_COLUMNS
        return csv_response(_columns(columns, scope), rows, f"history-{ref}.csv")
    return JSONResponse(
        {"ref": ref, "plan": plan_ref, "returns_counted": returns_counted(signed_off_only), "updates": rows}
    )


INDICATOR_COLUMNS = [
    "ref",
    "name",
    "unit",
    "polarity",
    "quarter",
    "value",
    "target",
    "baseline",
    "status",
    "direction",
    "commentary",
]


def indicators(session: Session, scope: TokenScope, request: Request) -> Response:
    """Reported indicator values per quarter with status against target and direction of travel."""
    wants_csv = _wants_csv(request)
    plan_ref, outcome_ref = _text_param(request, "plan"), _text_param(request, "outcome")
    query = select(Indicator.ref, Plan.ref).join(Outcome, Outcome.id == Indicator.outcome_id).join(Plan)
    if plan_ref is not None:
        if session.scalar(select(Plan.id).where(Plan.ref == plan_ref)) is None:
            raise ApiProblem(404, "unknown_plan", f"There is no plan {plan_ref!r}.")
        scope.check_plan(plan_ref)
        query = query.where(Plan.ref == plan_ref)
    if outcome_ref is not None:
        outcome_plan = session.scalar(select(Plan.ref).join(Outcome).where(Outcome.ref == outcome_ref))
        if outcome_plan is None:
            raise ApiProblem(404, "unknown_outcome", f"There is no outcome {outcome_ref!r}.")
        scope.check_plan(outcome_plan)
        query = query.where(Outcome.ref == outcome_ref)
    refs = [ref for ref, plan in session.execute(query) if scope.allows_plan(plan)]
    signed_off_only = signoff_enabled()
    series = indicator_series(session, refs, signed_off_only=signed_off_only)
    rows = [_without_commentary(row, scope) for row in _records(series)]
    if wants_csv:
        return csv_response(_columns(INDICATOR_COLUMNS, scope), rows, "indicators.csv")
    return JSONResponse({"returns_counted": returns_counted(signed_off_only), "indicators": rows})


def tracker(session: Session, scope: TokenScope, request: Request) -> Response:
    """The submission tracker for a quarter: each team expected to report, whether it has and when."""
    wants_csv = _wants_csv(request)
    plan_ref = _text_param(request, "plan")
    quarter = _quarter(session, request, plan_ref)
    plan = _plan(session, quarter, plan_ref, scope)
    rows = _records(tracker_frame(submission_tracker(session, quarter)))
    if wants_csv:
        return csv_response(TRACKER_COLUMNS, rows, f"tracker-{quarter.label.replace(' ', '-')}.csv")
    return JSONResponse({"quarter": quarter.label, "plan": plan.ref, "teams": rows})


def plans(session: Session, scope: TokenScope, request: Request) -> Response:
    """The plans this token may read, with the quarters that hold returns (latest first)."""
    wants_csv = _wants_csv(request)
    rows = []
    for plan in session.scalars(select(Plan).order_by(Plan.first_year)):
        if scope.allows_plan(plan.ref):
            quarters = [q.label for q in quarters_with_returns(session, plan.ref)]
            rows.append(
                {
                    "ref": plan.ref,
                    "title": plan.title,
                    "first_quarter": Quarter(plan.first_year, 1).label,
                    "last_quarter": Quarter(plan.last_year, 4).label,
                    "is_current": bool(plan.is_current),
                    "quarters_with_returns": quarters,
                }
            )
    if wants_csv:
        columns = ["ref", "title", "first_quarter", "last_quarter", "is_current", "quarters_with_returns"]
        return csv_response(columns, rows, "plans.csv")
    return JSONResponse({"plans": rows, "commentary_included": scope.include_commentary})


YOUNG_PEOPLE_COLUMNS = ["quarter", "plan", "ref", "name", "status", "in_plain_words", "headline"]


def _young_people_row(summary: Mapping[str, Any], outcome: Mapping[str, Any]) -> dict[str, Any]:
    """One outcome of the summary as one CSV row: lists joined with "; " (by the CSV writer)."""
    return {
        "quarter": summary["quarter"],
        "plan": summary["plan"],
        **outcome,
        **outcome["counts"],
        "promises": [f"{p['text']} ({p['in_plain_words']})" for p in outcome["promises"]],
        "numbers": [f"{n['name']}: {n['value']} ({n['quarter']})" for n in outcome["numbers"]],
        "returns_counted": summary["returns_counted"],
    }


def young_people(session: Session, request: Request) -> Response:
    """The young people's summary (:mod:`cyp.read.public`): public, no commentary, numbers of people from 1 to 5
    suppressed; with sign-off on, signed-off returns only."""
    wants_csv = _wants_csv(request)
    plan_ref, quarter = _text_param(request, "plan"), _text_param(request, "quarter")
    try:
        summary = young_people_answer(session, quarter, plan_ref, signed_off_only=signoff_enabled())
    except QuarterError as exc:
        raise ApiProblem(400, "bad_quarter", str(exc)) from exc
    except UnknownPlan as exc:
        raise ApiProblem(404, "unknown_plan", str(exc).replace("give a plan with --plan", "give a plan")) from exc
    if wants_csv:
        rows = [_young_people_row(summary, outcome) for outcome in summary["outcomes"]]
        statuses = list(summary["outcomes"][0]["counts"]) if rows else []
        columns = [*YOUNG_PEOPLE_COLUMNS, *statuses, "promises", "numbers", "returns_counted"]
        return csv_response(columns, rows, "young-people.csv")
    return JSONResponse(summary)


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI description of these routes (``cyp/web/openapi.yaml``)."""
    return yaml.safe_load(OPENAPI_FILE.read_text(encoding="utf-8"))


def _what(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def _audit(engine: Engine, what: str, scope: TokenScope | None, refused: TokenRefused | None) -> None:
    with write_session(engine) as session:
        tokens.record_use(session, what, scope=scope, refused=refused)


PRIVATE = {"Cache-Control": "no-store"}


def _with_token(
    engine_of: Callable[[], Engine], build: Callable[[Session, TokenScope, Request], Response]
) -> Callable[[Request], Response]:
    """An endpoint that reads with a valid token's scope, audits the request and answers problems as JSON."""

    def endpoint(request: Request) -> Response:
        engine, what, scope = engine_of(), _what(request), None
        try:
            secret = tokens.bearer_secret(request.headers.get("authorization"))
            with read_session(engine) as session:
                scope = tokens.check_token(session, secret)
                response = build(session, scope, request)
        except TokenRefused as refused:
            _audit(engine, what, scope, refused)
            headers = dict(PRIVATE)
            if refused.status == 401:
                headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{refused.code}"'
            return error_response(refused.status, refused.code, refused.message, headers)
        except ApiProblem as problem:
            _audit(engine, what, scope, None)
            return error_response(problem.status, problem.code, problem.message, PRIVATE)
        _audit(engine, what, scope, None)
        response.headers.update(PRIVATE)
        return response

    return endpoint


def _public(
    engine_of: Callable[[], Engine], build: Callable[[Session, Request], Response]
) -> Callable[[Request], Response]:
    def endpoint(request: Request) -> Response:
        try:
            with read_session(engine_of()) as session:
                return build(session, request)
        except ApiProblem as problem:
            return error_response(problem.status, problem.code, problem.message)

    return endpoint


def api_routes(engine: Engine | None = None) -> list[BaseRoute]:
    """The data API's routes, to mount at ``/api/v1``; ``engine`` defaults to the process's database."""

    def engine_of() -> Engine:
        return engine or get_engine()

    def openapi(_request: Request) -> Response:
        return JSONResponse(openapi_document())

    return [
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/public/young-people", _public(engine_of, young_people), methods=["GET"]),
        Route("/plans", _with_token(engine_of, plans), methods=["GET"]),
        Route("/report", _with_token(engine_of, report), methods=["GET"]),
        Route("/report/outcomes", _with_token(engine_of, report_outcomes), methods=["GET"]),
        Route("/lines/{ref}/history", _with_token(engine_of, history), methods=["GET"]),
        Route("/indicators", _with_token(engine_of, indicators), methods=["GET"]),
        Route("/tracker", _with_token(engine_of, tracker), methods=["GET"]),
    ]


def api_app(engine: Engine | None = None) -> Starlette:
    """A Starlette app serving only the data API at ``/api/v1`` (for tests and a stand-alone API process)."""

    async def not_found(request: Request, _exc: Exception) -> Response:
        return error_response(404, "not_found", f"There is nothing at {request.url.path}; see {PREFIX}/openapi.json.")

    async def not_allowed(request: Request, _exc: Exception) -> Response:
        return error_response(405, "method_not_allowed", "The data API only reads: use GET.", {"Allow": "GET"})

    return Starlette(
        routes=[Mount(PREFIX, routes=api_routes(engine))],
        exception_handlers={404: not_found, 405: not_allowed},
    )
