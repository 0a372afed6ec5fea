"""A large, deterministic history for benchmarks: 100 teams x 40 lines x 16 quarters, stored as demo data.

The synthetic teams are partners flagged ``is_demo`` with refs starting ``scale-``; their lines are actions flagged
``is_demo`` under the existing objectives of the 2019–23 plan (its last 16 quarters, i.e. all of them, are the
history), worded plainly as
benchmark lines so nobody mistakes them for plan facts. Every return is ``is_demo`` and uploaded by "scale", and the
``Meta`` key ``scale`` records the run, so pages carry the demo banner and :func:`clear_scale` (or
``python bench/scale.py --clear``) removes exactly this data; ``python -m cyp demo --clear`` removes the returns
and lines too, leaving only the empty teams.

Rows go in with Core ``insert`` executemany and explicit ids, in one transaction owned by the caller.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cyp.quarters import plan_quarters  # noqa: E402
from cyp.status import STATUSES  # noqa: E402
from cyp.storage.models import (  # noqa: E402 - the repository root must be importable first when run as a script
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

SCALE_SEED = 9
SCALE_PLAN = "2019-23"
SCALE_USER = "scale"
TEAM_PREFIX = "scale-"
META_KEY = "scale"
TEXT_PATH = ROOT / "data" / "demo-text.yaml"
# Status drift per quarter: {from: {to: weight}}, as in the demo data but without completion (lines stay live).
_DRIFT = {
    "Green": {"Green": 0.85, "Amber": 0.12, "Red": 0.03},
    "Amber": {"Green": 0.4, "Amber": 0.45, "Red": 0.15},
    "Red": {"Green": 0.1, "Amber": 0.45, "Red": 0.45},
    "Blue": {"Blue": 1.0},
}
_START = {"Green": 0.7, "Amber": 0.2, "Red": 0.07, "Blue": 0.03}


@dataclass(frozen=True)
class ScaleSpec:
    """How big the history is; the default is the council scale of issue 9 (64,000 line updates)."""

    teams: int = 100
    lines_per_team: int = 40
    quarters: int = 16
    second_version_share: float = 0.1
    seed: int = SCALE_SEED


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _texts() -> dict[str, Any]:
    with TEXT_PATH.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def team_ref(number: int) -> str:
    """The ref of synthetic team ``number`` (1-based)."""
    return f"{TEAM_PREFIX}{number:03d}"


def generate_scale(session: Session, spec: ScaleSpec = ScaleSpec()) -> dict[str, int]:
    """Insert the synthetic teams, lines and their returns for ``spec``; replaces an earlier scale run.

    Needs the framework loaded (the 2019–23 plan's objectives and indicators). Returns how many records of each
    kind were inserted. The caller owns the transaction.
    """
    clear_scale(session)
    rng = random.Random(spec.seed)
    texts = _texts()
    plan = session.scalar(select(Plan).where(Plan.ref == SCALE_PLAN))
    if plan is None:
        raise LookupError(f"plan {SCALE_PLAN} is not loaded; run `python -m cyp init` first")
    objectives = list(
        session.execute(
            select(Objective.id, Objective.ref)
            .join(Outcome, Outcome.id == Objective.outcome_id)
            .where(Outcome.plan_id == plan.id)
            .order_by(Outcome.position, Objective.position)
        )
    )
    indicators = list(
        session.execute(
            select(Indicator.id, Indicator.baseline_value, Indicator.unit)
            .join(Outcome, Outcome.id == Indicator.outcome_id)
            .where(Outcome.plan_id == plan.id)
            .order_by(Indicator.position, Indicator.ref)
        )
    )
    # The plan's last quarters: a shorter history still ends in 2022-23 Q4, the quarter the benchmarks view, so
    # histories of different lengths can be compared in the same view.
    quarters = plan_quarters(plan.first_year, plan.last_year)[-spec.quarters :]

    next_partner = (session.scalar(select(func.max(Partner.id))) or 0) + 1
    next_action = (session.scalar(select(func.max(Action.id))) or 0) + 1
    partners, actions, links = [], [], []
    lines_of: dict[int, list[int]] = {}
    for number in range(1, spec.teams + 1):
        partner_id = next_partner + number - 1
        partners.append(
            {"id": partner_id, "ref": team_ref(number), "name": f"Benchmark team {number:03d}", "is_demo": True}
        )
        lines_of[partner_id] = []
        for k in range(spec.lines_per_team):
            objective_id, objective_ref = objectives[(number * spec.lines_per_team + k) % len(objectives)]
            action_id = next_action + len(actions)
            actions.append(
                {
                    "id": action_id,
                    "objective_id": objective_id,
                    "ref": f"{objective_ref}.B{number:03d}{k:02d}",
                    "text": f"Benchmark line {k + 1} of benchmark team {number:03d} (synthetic, not in the plan)",
                    "position": 5000 + number * 100 + k,
                    "whole_objective": False,
                    "reporting_partner_id": partner_id,
                    "is_demo": True,
                }
            )
            links.append({"action_id": action_id, "partner_id": partner_id, "position": 0})
            lines_of[partner_id].append(action_id)
    # Each indicator of the plan reported quarterly by one synthetic team.
    reporter = {ind_id: next_partner + i % spec.teams for i, (ind_id, _base, _unit) in enumerate(indicators)}
    value = {ind_id: float(base if base is not None else 100.0) for ind_id, base, _unit in indicators}

    status = {a["id"]: _pick(rng, _START) for a in actions}
    next_return = (session.scalar(select(func.max(Return.id))) or 0) + 1
    returns: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    for position, quarter in enumerate(quarters):
        if position:
            status = {a: _pick(rng, _DRIFT[s]) for a, s in status.items()}
            value = {i: round(max(v + max(abs(v), 1.0) * rng.gauss(0, 0.03), 0.0), 1) for i, v in value.items()}
        submitted = datetime.combine(quarter.end, datetime.min.time(), tzinfo=UTC) + timedelta(days=20)
        for partner in partners:
            partner_id = partner["id"]
            versions = 2 if rng.random() < spec.second_version_share else 1
            for version in range(1, versions + 1):
                return_id = next_return + len(returns)
                returns.append(
                    {
                        "id": return_id,
                        "partner_id": partner_id,
                        "plan_id": plan.id,
                        "quarter": quarter.label,
                        "version": version,
                        "is_current": version == versions,
                        "uploaded_by": SCALE_USER,
                        "uploaded_at": submitted + timedelta(days=version - 1, minutes=partner_id % 600),
                        "original_filename": f"{partner['ref']}-{quarter.label.replace(' ', '-')}-v{version}.xlsx",
                        "size_bytes": 20_000 + rng.randint(0, 20_000),
                        "sha256": hashlib.sha256(
                            f"scale:{spec.seed}:{partner_id}:{quarter.label}:{version}".encode()
                        ).hexdigest(),
                        "stored_path": "",
                        "queries_acknowledged": False,
                        "is_demo": True,
                    }
                )
                for action_id in lines_of[partner_id]:
                    line_status = status[action_id]
                    if version < versions and rng.random() < 0.3:
                        line_status = rng.choice([s for s in STATUSES if s not in (line_status, "Blue")])
                    updates.append(
                        {
                            "return_id": return_id,
                            "action_id": action_id,
                            "quarter": quarter.label,
                            "status": line_status,
                            "progress": rng.choice(texts["progress"][line_status]).format(quarter=quarter.label),
                            "next_steps": rng.choice(texts["next_steps"][line_status]).format(quarter=quarter.label),
                            "risks": rng.choice(texts["risks"].get(line_status) or [None]) or None,
                        }
                    )
                for ind_id, team in reporter.items():
                    if team == partner_id:
                        values.append(
                            {
                                "return_id": return_id,
                                "indicator_id": ind_id,
                                "quarter": quarter.label,
                                "value": value[ind_id],
                                "target": None,
                                "commentary": None,
                            }
                        )
    session.execute(insert(Partner), partners)
    session.execute(insert(Action), actions)
    session.execute(insert(action_partners), links)
    session.execute(insert(Return), returns)
    session.execute(insert(LineUpdate), updates)
    if values:
        session.execute(insert(IndicatorValue), values)
    counts = {
        "teams": len(partners),
        "lines": len(actions),
        "returns": len(returns),
        "line updates": len(updates),
        "indicator values": len(values),
    }
    session.add(Meta(key=META_KEY, value=json.dumps({**asdict(spec), **counts})))
    session.flush()
    return counts


def clear_scale(session: Session) -> dict[str, int]:
    """Remove exactly the synthetic teams, their lines, returns, updates and values, and the ``scale`` marker."""
    teams = select(Partner.id).where(Partner.is_demo, Partner.ref.startswith(TEAM_PREFIX))
    team_returns = select(Return.id).where(Return.partner_id.in_(teams))
    team_lines = select(Action.id).where(Action.is_demo, Action.reporting_partner_id.in_(teams))
    removed = {
        "indicator values": session.execute(
            delete(IndicatorValue).where(IndicatorValue.return_id.in_(team_returns))
        ).rowcount,
        "line updates": session.execute(delete(LineUpdate).where(LineUpdate.return_id.in_(team_returns))).rowcount,
        "returns": session.execute(delete(Return).where(Return.partner_id.in_(teams))).rowcount,
    }
    session.execute(delete(action_partners).where(action_partners.c.action_id.in_(team_lines)))
    removed["lines"] = session.execute(delete(Action).where(Action.id.in_(team_lines))).rowcount
    removed["teams"] = session.execute(delete(Partner).where(Partner.id.in_(teams))).rowcount
    session.execute(delete(Meta).where(Meta.key == META_KEY))
    session.flush()
    session.expire_all()
    return {kind: count or 0 for kind, count in removed.items()}


def main(argv: list[str] | None = None) -> None:
    """``python bench/scale.py [--database URL] [--teams N] [--clear]``: load (or remove) the scale data."""
    from cyp.bootstrap import initialise_database
    from cyp.storage.db import get_engine, write_session

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL (default: CYP_DATABASE_URL)")
    parser.add_argument("--teams", type=int, default=ScaleSpec.teams)
    parser.add_argument("--quarters", type=int, default=ScaleSpec.quarters)
    parser.add_argument("--seed", type=int, default=SCALE_SEED)
    parser.add_argument("--clear", action="store_true", help="remove the scale data instead")
    args = parser.parse_args(argv)
    engine = get_engine(args.database)
    initialise_database(engine)
    started = time.perf_counter()
    with write_session(engine) as session:
        if args.clear:
            counts = clear_scale(session)
        else:
            counts = generate_scale(session, ScaleSpec(teams=args.teams, quarters=args.quarters, seed=args.seed))
    verb = "Removed" if args.clear else "Generated"
    detail = ", ".join(f"{n:,} {kind}" for kind, n in counts.items())
    print(f"{verb} scale data: {detail} in {time.perf_counter() - started:.1f} s.")


if __name__ == "__main__":
    main()
