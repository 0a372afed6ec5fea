"""Reading the framework back: the filter choices of a plan, from SQL, match the plan's loaded tree."""

from __future__ import annotations

import pickle

import pytest
from sqlalchemy import Engine

from cyp.bootstrap import initialise_database
from cyp.demo import generate_demo
from cyp.read.browse import (
    filter_options,
    line_info,
    load_plan_tree,
    plan_actions,
    plan_choices,
    plan_outcomes_and_objectives,
    plan_outline,
    plan_refs,
    plan_summaries,
)
from cyp.read.reports import UnknownPlan
from cyp.storage.db import read_session, write_session

pytestmark = pytest.mark.both_databases


@pytest.fixture
def loaded(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Engine:
    monkeypatch.setenv("CYP_TODAY", "2026-11-23")
    initialise_database(engine)
    with write_session(engine) as session:
        generate_demo(session)  # demo data assigns reporting teams, so both kinds of team are present
    return engine


def test_plan_choices_are_what_the_plan_tree_holds(loaded: Engine) -> None:
    with read_session(loaded) as session:
        refs = plan_refs(session)
        assert len(refs) == 2
        for plan_ref in refs:
            tree = load_plan_tree(session, plan_ref)
            choices = plan_choices(session, plan_ref)
            assert tree is not None and choices is not None
            actions = [a for o in tree.outcomes for ob in o.objectives for a in ob.actions]
            teams = {p.ref: p.name for a in actions for p in a.partners}
            teams |= {a.reporting_partner.ref: a.reporting_partner.name for a in actions if a.reporting_partner}
            bodies = {b.ref: b.name for a in actions for b in a.bodies}
            assert (choices.title, choices.first_year, choices.last_year) == (
                tree.title,
                tree.first_year,
                tree.last_year,
            )
            assert choices.outcomes == tuple((o.ref, o.name) for o in tree.outcomes)
            assert choices.objectives == tuple((ob.ref, ob.text, o.ref) for o in tree.outcomes for ob in o.objectives)
            assert choices.teams == tuple(sorted(teams.items(), key=lambda item: item[1]))
            assert choices.bodies == tuple(sorted(bodies.items(), key=lambda item: item[1]))
            assert choices.drivers == tuple((d.ref, d.name) for d in tree.drivers)
            assert choices.teams and choices.outcomes and choices.objectives


def test_unknown_plan_has_no_choices(loaded: Engine) -> None:
    with read_session(loaded) as session:
        assert plan_choices(session, "no-such-plan") is None
        assert plan_outcomes_and_objectives(session, "no-such-plan") is None


@pytest.mark.parametrize("plan_ref", ["2019-23", "2023-27"])
def test_a_plans_outcomes_and_objectives_are_its_choices(loaded: Engine, plan_ref: str) -> None:
    with read_session(loaded) as session:
        choices = plan_choices(session, plan_ref)
        assert choices is not None and choices.objectives
        assert plan_outcomes_and_objectives(session, plan_ref) == (choices.outcomes, choices.objectives)


def test_plan_actions_are_the_tree_actions_in_plan_order(loaded: Engine) -> None:
    with read_session(loaded) as session:
        for plan_ref in plan_refs(session):
            tree = load_plan_tree(session, plan_ref)
            assert tree is not None
            expected = [
                (
                    ob.ref,
                    a.ref,
                    a.text,
                    "; ".join(p.name for p in a.partners),
                    "; ".join(b.name for b in a.bodies),
                    a.is_demo,
                )
                for o in tree.outcomes
                for ob in o.objectives
                for a in ob.actions
            ]
            frame = plan_actions(session, plan_ref)
            assert list(frame.itertuples(index=False, name=None)) == expected
            assert len(expected) > 0


def test_plan_outline_leaves_actions_unloaded(loaded: Engine) -> None:
    with read_session(loaded) as session:
        outline = load_plan_tree(session, "2019-23", actions=False)
        assert outline is not None and len(outline.outcomes) == 7
        objective = outline.outcomes[0].objectives[0]
        assert "actions" not in objective.__dict__  # not loaded; read on demand only if a caller asks


def test_each_plan_says_what_it_calls_its_outcomes(loaded: Engine) -> None:
    with read_session(loaded) as session:
        labels = dict(zip(*[plan_summaries(session)[column] for column in ("ref", "outcomes_label")], strict=True))
    assert labels == {"2019-23": "Outcomes", "2023-27": "Outcomes / themes"}


def test_filter_options_hold_the_plans_quarters_up_to_today_newest_first(loaded: Engine) -> None:
    with read_session(loaded) as session:
        old = filter_options(session, "2019-23")
        current = filter_options(session, "2023-27")
        with pytest.raises(UnknownPlan):
            filter_options(session, "1999-03")
    assert old.quarters[0] == "2022-23 Q4" and old.quarters[-1] == "2019-20 Q1" and len(old.quarters) == 16
    assert current.quarters[0] == "2026-27 Q3"  # CYP_TODAY is in 2026-27 Q3: no quarter of the future
    assert set(old.quarters_with_returns) <= set(old.quarters) and old.quarters_with_returns
    assert [ref for ref, _name in old.outcomes][:2] == ["19-FB", "19-SS"]
    assert len(old.domains) == 9


def test_plan_outline_is_the_tree_as_plain_data(loaded: Engine) -> None:
    with read_session(loaded) as session:
        outline = plan_outline(session, "2019-23")
        tree = load_plan_tree(session, "2019-23", actions=False)
        assert plan_outline(session, "1999-03") is None
    assert outline is not None and tree is not None
    assert [o.ref for o in outline.outcomes] == [o.ref for o in tree.outcomes]
    assert outline.outcomes[1].objectives == tuple((o.ref, o.text) for o in tree.outcomes[1].objectives)
    assert sum(len(o.indicators) for o in outline.outcomes) == sum(len(o.indicators) for o in tree.outcomes) > 0
    assert pickle.loads(pickle.dumps(outline)) == outline  # cacheable by st.cache_data


def test_line_info_names_the_lines_place_in_the_plan(loaded: Engine) -> None:
    with read_session(loaded) as session:
        info = line_info(session, "19-SS-1.1")
        assert line_info(session, "NOPE-9") is None
    assert info is not None
    assert (info["plan"], info["outcome_ref"], info["objective_ref"]) == ("2019-23", "19-SS", "19-SS-1")
    assert info["teams"]
