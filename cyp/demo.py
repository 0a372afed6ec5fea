"""Generated demonstration data: plausible returns for every team across past quarters, stored as demo data.

Everything made here is flagged ``is_demo`` (returns, and the whole-objective lines invented for the 2023–27
plan, whose summary lists no actions), uploaded by "demo" with no stored file, and recorded in ``Meta`` key
``demo``; :func:`clear_demo` removes exactly that. The wording comes from ``data/demo-text.yaml``. The same
seed and the same "today" (``CYP_TODAY``) give the same data.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import CursorResult, Executable, delete, func, insert, select
from sqlalchemy.orm import Session

from cyp.quarters import Quarter, current_quarter, plan_quarters, today
from cyp.read.meta import DEMO_ACCOUNTS_KEY
from cyp.read.tracker import deadlines
from cyp.status import POLARITIES, STATUSES
from cyp.storage.config import PROJECT_ROOT
from cyp.storage.datafiles import load_data_file
from cyp.storage.models import (
    Action,
    Indicator,
    IndicatorValue,
    LineUpdate,
    Meta,
    Objective,
    Outcome,
    Partner,
    Plan,
    Return,
    action_partners,
)

DEFAULT_SEED = 20261123
DEMO_USER = "demo"
META_KEY = "demo"
TEXT_PATH = PROJECT_ROOT / "data" / "demo-text.yaml"

# Chance that a team misses a quarter, submits after the deadline, or sends a corrected second version.
MISSED_SHARE = 0.05
LATE_SHARE = 0.12
SECOND_VERSION_SHARE = 0.08

# Quarter-to-quarter drift of a line's status: {from: {to: weight}}. Blue (complete) stays Blue.
# The chance of completing grows through a plan; see _next_status.
_DRIFT: dict[str, dict[str, float]] = {
    "Green": {"Green": 0.84, "Amber": 0.11, "Red": 0.02},
    "Amber": {"Green": 0.38, "Amber": 0.45, "Red": 0.13, "Blue": 0.02},
    "Red": {"Green": 0.08, "Amber": 0.45, "Red": 0.47},
}
_START = {"Green": 0.72, "Amber": 0.2, "Red": 0.06, "Blue": 0.02}


def _texts() -> dict[str, dict[str, list[str]]]:
    return load_data_file(TEXT_PATH)


def demo_present(session: Session) -> bool:
    """Whether generated demo data is loaded."""
    return session.get(Meta, META_KEY) is not None


def last_complete_quarter() -> Quarter:
    """The quarter before the one containing :func:`cyp.quarters.today`."""
    return current_quarter().previous()


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _next_status(rng: random.Random, status: str, progress_through_plan: float) -> str:
    """The next quarter's status; completion (Blue) grows likelier later in a plan."""
    if status == "Blue":
        return "Blue"
    weights = dict(_DRIFT[status])
    if status == "Green":
        weights["Blue"] = 0.005 + 0.06 * progress_through_plan**2
    return _pick(rng, weights)


def _words(text: str) -> set[str]:
    """Content words of a text, for judging which team's work an objective resembles."""
    ignore = set(_texts().get("ignore_words") or [])
    return {w for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2 and w not in ignore}


@dataclass
class _Line:
    action_id: int
    partner_id: int
    plan_id: int


def _assign_2023_lines(session: Session, rng: random.Random) -> int:
    """Demo whole-objective lines for plans with objectives but no lines, each given to a plausible team.

    The team chosen is the one whose existing lines (objective and action wording) share the most words with
    the objective, counting lines under an outcome of similar name (e.g. "Family and belonging" and
    "Family & Belonging") half as much again, scaled down gently for teams with many lines so that one
    team does not take every objective; ties are broken by the seeded random generator. Partners listed under
    ``not_demo_assignable_from_2023`` in data/demo-text.yaml (e.g. Barnet CCG, abolished in 2022) are never chosen.
    """
    # Partners that no longer existed when the 2023–27 plan began (data/demo-text.yaml says which and why).
    gone = set(_texts().get("not_demo_assignable_from_2023") or {})
    known_lines = [
        (partner_id, _words(outcome_name), _words(f"{objective_text} {action_text}"))
        for partner_id, outcome_name, objective_text, action_text in session.execute(
            # Partner.id, equal to the line's reporting_partner_id by the join, and typed as never NULL.
            select(Partner.id, Outcome.name, Objective.text, Action.text)
            .join(Objective, Objective.id == Action.objective_id)
            .join(Outcome, Outcome.id == Objective.outcome_id)
            .join(Partner, Partner.id == Action.reporting_partner_id)
            .where(Action.is_demo.is_(False), Partner.ref.not_in(gone))
            .order_by(Action.ref)
        )
    ]
    lines_per_team = Counter(partner_id for partner_id, _outcome, _line in known_lines)
    rows: list[dict[str, Any]] = []
    for plan in session.scalars(select(Plan).order_by(Plan.first_year)):
        has_lines = session.scalar(
            select(func.count(Action.id))
            .join(Objective, Objective.id == Action.objective_id)
            .join(Outcome, Outcome.id == Objective.outcome_id)
            .where(Outcome.plan_id == plan.id)
        )
        if has_lines or not known_lines:
            continue
        objectives = session.execute(
            select(Objective.id, Objective.ref, Objective.text, Outcome.name)
            .join(Outcome, Outcome.id == Objective.outcome_id)
            .where(Outcome.plan_id == plan.id)
            .order_by(Outcome.position, Objective.position, Objective.id)
        )
        for objective in objectives:
            wanted, theme = _words(objective.text), _words(objective.name)
            scores: defaultdict[int, float] = defaultdict(float)
            for partner_id, outcome_words, line_words in known_lines:
                same_theme = bool(theme & outcome_words)
                scores[partner_id] += len(wanted & line_words) * (1.5 if same_theme else 1.0) + 0.1 * same_theme
            # Per line, not in total, so that the team with the most lines does not take every objective.
            for partner_id in scores:
                scores[partner_id] /= lines_per_team[partner_id] ** 0.3
            best = max(scores.values())
            partner_id = rng.choice(sorted(p for p, score in scores.items() if score == best))
            rows.append(
                {
                    "objective_id": objective.id,
                    "ref": f"{objective.ref}.D1",
                    "text": objective.text,
                    "position": 1000,
                    "whole_objective": True,
                    "reporting_partner_id": partner_id,
                    "is_demo": True,
                }
            )
    if not rows:
        return 0
    ids = session.scalars(insert(Action).returning(Action.id, sort_by_parameter_order=True), rows).all()
    session.execute(
        insert(action_partners),
        [
            {"action_id": action_id, "partner_id": row["reporting_partner_id"], "position": 0}
            for action_id, row in zip(ids, rows, strict=True)
        ],
    )
    return len(rows)


def _submission_time(rng: random.Random, quarter: Quarter, deadline: date, late: bool) -> datetime:
    if late:
        day = deadline + timedelta(days=rng.randint(1, 21))
    else:
        span = max((deadline - quarter.end).days, 1)
        day = quarter.end + timedelta(days=rng.randint(max(1, span // 4), span))
    return datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)), tzinfo=UTC)


def _line_text(rng: random.Random, status: str, quarter: Quarter) -> dict[str, str | None]:
    texts = _texts()
    risks = texts["risks"].get(status) or [""]
    return {
        "progress": rng.choice(texts["progress"][status]).format(quarter=quarter.label),
        "next_steps": rng.choice(texts["next_steps"][status]).format(quarter=quarter.label),
        "risks": rng.choice(risks) or None,
    }


def _indicator_reporters(session: Session) -> dict[int, tuple[int, Indicator]]:
    """{indicator id: (team id, indicator)} for indicators with a baseline: their own team, else the team
    reporting most lines of the indicator's outcome (a demo assignment; the framework is not changed)."""
    counts: dict[int, Counter[int]] = defaultdict(Counter)
    for outcome_id, partner_id in session.execute(
        select(Objective.outcome_id, Action.reporting_partner_id)
        .join(Action, Action.objective_id == Objective.id)
        .where(Action.reporting_partner_id.is_not(None))
    ):
        if partner_id is not None:  # always, by the query; narrows the type
            counts[outcome_id][partner_id] += 1
    reporters: dict[int, tuple[int, Indicator]] = {}
    for indicator in session.scalars(
        select(Indicator).where(Indicator.baseline_value.is_not(None)).order_by(Indicator.ref)
    ):
        team = indicator.reporting_partner_id
        if team is None and counts.get(indicator.outcome_id):
            team = min(counts[indicator.outcome_id].items(), key=lambda item: (-item[1], item[0]))[0]
        if team is not None:
            reporters[indicator.id] = (team, indicator)
    return reporters


def _next_value(rng: random.Random, indicator: Indicator, previous: float) -> float:
    """A plausible next value: a small random walk drifting gently the better way."""
    better = {"higher": 1, "lower": -1}.get(indicator.polarity or "", 0)
    scale = max(abs(previous), 1.0)
    value = previous + scale * rng.gauss(0.004 * better, 0.025)
    unit = (indicator.unit or "").lower()
    if unit == "percent":
        return round(min(max(value, 0.0), 100.0), 1)
    if unit in {"count", "rank"}:
        return float(max(round(value), 1 if unit == "rank" else 0))
    return round(max(value, 0.0), 1)


# How far a demo target is from the baseline, by unit: a few points for a percentage, one place for a rank, else 5%.
DEMO_TARGET_POINTS = 3.0
DEMO_TARGET_SHARE = 0.05


def _demo_target(indicator: Indicator) -> float | None:
    """The indicator's own target, else a plausible demo target a little better than baseline (stored only on
    demo values).

    A rank's target is a whole place better (never above 1st); a percentage's a few points better, capped below
    100% (or above 0%) unless the baseline is already there; a count's a whole number; other units 5% better.
    """
    if indicator.target is not None:
        return indicator.target
    if indicator.polarity not in POLARITIES or indicator.baseline_value is None:
        return None
    baseline, better = float(indicator.baseline_value), 1 if indicator.polarity == "higher" else -1
    unit = (indicator.unit or "").lower()
    if unit == "rank":
        return float(max(round(baseline) + better, 1))
    if unit == "percent":
        # 100% (or 0%) only when the baseline is there already: nobody sets a target of every single child.
        ceiling, floor = max(baseline, 99.0), min(baseline, 1.0)
        return round(min(max(baseline + better * DEMO_TARGET_POINTS, floor), ceiling), 1)
    target = baseline * (1 + better * DEMO_TARGET_SHARE)
    return float(round(target)) if unit == "count" else round(target, 1)


def _fingerprint(seed: int, team_ref: str, quarter: Quarter, version: int) -> str:
    """A stable stand-in for the file hash a real upload would have."""
    return hashlib.sha256(f"demo:{seed}:{team_ref}:{quarter.label}:{version}".encode()).hexdigest()


def generate_demo(session: Session, seed: int = DEFAULT_SEED) -> dict[str, int]:
    """Generate demo returns for every team with lines, each past quarter of both plans up to the last complete one.

    Replaces earlier demo data; never touches real records and skips any team and quarter that already has a
    real return. Returns how many records of each kind were inserted. The caller owns the transaction.
    """
    clear_demo(session)
    rng = random.Random(seed)
    demo_lines = _assign_2023_lines(session, rng)
    now = today()
    last = last_complete_quarter()
    plans = list(session.scalars(select(Plan).order_by(Plan.first_year)))
    lines_by_plan: dict[int, list[_Line]] = defaultdict(list)
    for action_id, partner_id, plan_id in session.execute(
        select(Action.id, Action.reporting_partner_id, Outcome.plan_id)
        .join(Objective, Objective.id == Action.objective_id)
        .join(Outcome, Outcome.id == Objective.outcome_id)
        .where(Action.reporting_partner_id.is_not(None))
        .order_by(Action.ref)
    ):
        if partner_id is not None:  # always, by the query; narrows the type
            lines_by_plan[plan_id].append(_Line(action_id, partner_id, plan_id))
    real = set(session.execute(select(Return.partner_id, Return.quarter).where(Return.is_demo.is_(False))).all())
    reporters = _indicator_reporters(session)
    partner_refs = dict(session.execute(select(Partner.id, Partner.ref)).all())

    returns: list[dict[str, Any]] = []
    updates: list[list[dict[str, Any]]] = []  # per return, in the same order
    values: list[list[dict[str, Any]]] = []
    for plan in plans:
        quarters = [q for q in plan_quarters(plan.first_year, plan.last_year) if q <= last]
        if not quarters:
            continue
        due = deadlines(session, quarters)
        plan_lines = lines_by_plan.get(plan.id, [])
        teams = sorted({line.partner_id for line in plan_lines}, key=lambda p: partner_refs[p])
        status = {line.action_id: _pick(rng, _START) for line in plan_lines}
        indicator_value = {
            ind_id: float(ind.baseline_value)
            for ind_id, (_team, ind) in reporters.items()
            # Reporters all have a baseline (see _indicator_reporters); the check narrows the type.
            if ind.outcome.plan_id == plan.id and ind.baseline_value is not None
        }
        total = len(plan_quarters(plan.first_year, plan.last_year))
        for position, quarter in enumerate(quarters):
            if position:
                through = position / max(total - 1, 1)
                status = {a: _next_status(rng, s, through) for a, s in status.items()}
                indicator_value = {i: _next_value(rng, reporters[i][1], v) for i, v in indicator_value.items()}
            for team in teams:
                missed = rng.random() < MISSED_SHARE
                late = rng.random() < LATE_SHARE
                corrected = rng.random() < SECOND_VERSION_SHARE
                if missed or (team, quarter.label) in real:
                    continue
                first_at = _submission_time(rng, quarter, due[quarter.label], late)
                if first_at.date() > now:
                    continue
                team_lines = [line for line in plan_lines if line.partner_id == team]
                team_values = [i for i in indicator_value if reporters[i][0] == team]
                versions = [first_at]
                second_at = first_at + timedelta(days=rng.randint(1, 10), hours=rng.randint(0, 5))
                if corrected and second_at.date() <= now:
                    versions.append(second_at)
                for version, uploaded_at in enumerate(versions, start=1):
                    answers = []
                    for line in team_lines:
                        line_status = status[line.action_id]
                        if version == 1 and len(versions) > 1 and rng.random() < 0.3:
                            # The first version had a status the team then corrected.
                            line_status = rng.choice([s for s in STATUSES if s != line_status and s != "Blue"])
                        answers.append(
                            {
                                "action_id": line.action_id,
                                "quarter": quarter.label,
                                "status": line_status,
                                **_line_text(rng, line_status, quarter),
                            }
                        )
                    ref = partner_refs[team]
                    returns.append(
                        {
                            "partner_id": team,
                            "plan_id": plan.id,
                            "quarter": quarter.label,
                            "version": version,
                            "is_current": version == len(versions),
                            "uploaded_by": DEMO_USER,
                            "uploaded_at": uploaded_at,
                            "original_filename": f"{ref}-{quarter.label.replace(' ', '-')}-demo.xlsx",
                            "size_bytes": rng.randint(14_000, 48_000),
                            "sha256": _fingerprint(seed, ref, quarter, version),
                            "stored_path": "",
                            "queries_acknowledged": False,
                            "is_demo": True,
                        }
                    )
                    updates.append(answers)
                    values.append(
                        [
                            {
                                "indicator_id": ind_id,
                                "quarter": quarter.label,
                                "value": indicator_value[ind_id],
                                "target": _demo_target(reporters[ind_id][1]),
                                "commentary": None,
                            }
                            for ind_id in team_values
                        ]
                    )
    return_ids: list[int] = []
    if returns:
        return_ids = list(session.scalars(insert(Return).returning(Return.id, sort_by_parameter_order=True), returns))
    update_rows = [dict(row, return_id=rid) for rid, rows in zip(return_ids, updates, strict=True) for row in rows]
    value_rows = [dict(row, return_id=rid) for rid, rows in zip(return_ids, values, strict=True) for row in rows]
    if update_rows:
        session.execute(insert(LineUpdate), update_rows)
    if value_rows:
        session.execute(insert(IndicatorValue), value_rows)
    counts = {
        "returns": len(return_ids),
        "line updates": len(update_rows),
        "indicator values": len(value_rows),
        "demo lines": demo_lines,
    }
    session.add(Meta(key=META_KEY, value=json.dumps({"seed": seed, "through": last.label, **counts})))
    session.flush()
    return counts


def _rows_deleted(session: Session, statement: Executable) -> int:
    """How many rows a DELETE removed (``Session.execute`` returns a CursorResult for it, typed as any Result)."""
    result = session.execute(statement)
    if not isinstance(result, CursorResult):
        raise TypeError(f"expected the CursorResult of a DELETE, got {type(result).__name__}")
    return result.rowcount


def clear_demo(session: Session) -> dict[str, int]:
    """Remove exactly the demo records: demo returns with their updates and values, demo lines, the Meta key.

    Returns how many of each were removed. The caller owns the transaction.
    """
    demo_returns = select(Return.id).where(Return.is_demo)
    demo_actions = select(Action.id).where(Action.is_demo)
    # Child rows first, explicitly, so this holds without relying on ON DELETE CASCADE being enforced.
    removed_values = _rows_deleted(session, delete(IndicatorValue).where(IndicatorValue.return_id.in_(demo_returns)))
    removed_updates = _rows_deleted(session, delete(LineUpdate).where(LineUpdate.return_id.in_(demo_returns)))
    # A demo account's upload may have superseded a real version: that version becomes current again.
    demo_current = select(Return.partner_id, Return.quarter).where(Return.is_demo, Return.is_current)
    superseded = set(session.execute(demo_current))
    removed_returns = _rows_deleted(session, delete(Return).where(Return.is_demo))
    for partner_id, quarter in superseded:
        versions = select(Return).where(Return.partner_id == partner_id, Return.quarter == quarter)
        latest = session.scalar(versions.order_by(Return.version.desc()))
        if latest is not None:
            latest.is_current = True
    # A real return may have reported a demo line (a lead uploading against the demo framework): keep the
    # line then, rather than lose real data; it stays flagged as demo for an administrator to deal with.
    used = select(LineUpdate.action_id)
    deletable = select(Action.id).where(Action.is_demo, Action.id.not_in(used))
    session.execute(delete(action_partners).where(action_partners.c.action_id.in_(deletable)))
    removed_lines = _rows_deleted(session, delete(Action).where(Action.id.in_(demo_actions), Action.id.not_in(used)))
    removed_meta = _rows_deleted(session, delete(Meta).where(Meta.key == META_KEY))
    session.flush()
    session.expire_all()
    return {
        "returns": removed_returns or 0,
        "line updates": removed_updates or 0,
        "indicator values": removed_values or 0,
        "demo lines": removed_lines or 0,
        "demo marker": removed_meta or 0,
    }


def set_up_demo(session: Session, seed: int = DEFAULT_SEED) -> tuple[dict[str, int], list[tuple[str, str, str]]]:
    """Demo returns plus one demo account per role; returns the counts and (username, password, role) of each account.

    The demo passwords are random; those of the accounts that are not administrators are kept (as demo data) only
    so the sign-in page can show them while demo data is loaded, and :func:`tear_down_demo` removes them with
    everything else. The administrator's is never kept: the caller shows it once, to whoever loaded the demo.
    """
    from cyp.access.accounts import create_demo_accounts

    counts = generate_demo(session, seed=seed)
    accounts = create_demo_accounts(session)
    shown = [account for account in accounts if account[2] != "administrator"]
    session.merge(Meta(key=DEMO_ACCOUNTS_KEY, value=json.dumps(shown)))
    return counts, accounts


def tear_down_demo(session: Session) -> dict[str, int]:
    """Remove every demo record: returns, demo lines, demo accounts and their shown passwords."""
    from cyp.access.accounts import remove_demo_accounts

    counts = clear_demo(session)
    counts["demo accounts"] = remove_demo_accounts(session)
    session.execute(delete(Meta).where(Meta.key == DEMO_ACCOUNTS_KEY))
    return counts
