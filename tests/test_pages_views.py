"""The dashboard views through the real app (AppTest) on the real framework with generated demo returns.

What each page shows is checked against the read side (`cyp.read.reports.status_report` and friends) for the same
quarter and plan, with filters set through query parameters and read back from the URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from cyp.access.permissions import Principal
from cyp.bootstrap import initialise_database
from cyp.demo import generate_demo
from cyp.read.reports import exceptions, latest_quarter_with_returns, line_history, status_report
from cyp.read.tracker import submission_tracker
from cyp.storage.db import make_engine, read_session, write_session
from cyp.storage.models import Objective, Outcome, Plan
from cyp.ui import PRINCIPAL_KEY
from cyp.ui.escaping import unescape_markdown as as_read

ROOT = Path(__file__).resolve().parent.parent
VIEWER = Principal("director", "viewer")
TODAY = "2026-11-23"
VIEW_PAGES = [
    "app_pages/overview.py",
    "app_pages/outcome.py",
    "app_pages/index_domains.py",
    "app_pages/exceptions.py",
    "app_pages/tracker.py",
    "app_pages/line_history.py",
    "app_pages/young_people.py",
]
BADGE = re.compile(r'aria-label="Status: ([^"]+)"')
# How a distribution reads on screen: best to worst, each with its icon, statuses with no lines left out.
DISTRIBUTION_ORDER = (("Blue", "✓"), ("Green", "●"), ("Amber", "▲"), ("Red", "✖"), ("No return", "?"))


def expected_distribution(counts: dict[str, int]) -> str:
    """E.g. {"Red": 3, "Amber": 5} reads "▲ 5 Amber · ✖ 3 Red" (written out here, not taken from cyp.ui)."""
    return " · ".join(f"{icon} {counts[s]} {s}" for s, icon in DISTRIBUTION_ORDER if counts.get(s)) or "no lines"


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database per module with the real framework and seeded demo returns (read-only for the tests)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('views') / 'demo.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CYP_TODAY", TODAY)
        engine = make_engine(url)
        initialise_database(engine)
        with write_session(engine) as session:
            generate_demo(session)
        engine.dispose()
    yield url


@pytest.fixture
def app(demo_url: str, monkeypatch: pytest.MonkeyPatch):
    """Run the app on the demo database: ``app(page, **query_params)``, signed in as a viewer."""
    monkeypatch.setenv("CYP_DATABASE_URL", demo_url)
    monkeypatch.setenv("CYP_TODAY", TODAY)
    st.cache_data.clear()
    st.cache_resource.clear()

    def run(page: str, principal: Principal | None = VIEWER, **query_params: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        if principal is not None:
            at.session_state[PRINCIPAL_KEY] = principal
        at.run()
        for key, value in query_params.items():
            at.query_params[key] = value
        at.switch_page(page)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return run


@pytest.fixture
def db(demo_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CYP_TODAY", TODAY)
    engine = make_engine(demo_url)
    with read_session(engine) as session:
        yield session
    engine.dispose()


def param(at: AppTest, name: str) -> str | None:
    """A query parameter as the page left it (AppTest keeps some as one-item lists)."""
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def markdown(at: AppTest) -> list[str]:
    """Every markdown element's text, with the escapes of data removed."""
    return [as_read(element.value) for element in at.markdown]


def page_text(at: AppTest) -> str:
    parts = markdown(at) + [e.value for e in at.title] + [e.value for e in at.header] + [e.value for e in at.subheader]
    parts += [e.value for e in at.caption] + [e.value for e in at.info] + [e.value for e in at.warning]
    return "\n".join(as_read(str(part)) for part in parts)


def tiles(at: AppTest) -> dict[str, tuple[str, str]]:
    """{tile title: (badge status, distribution text)} from the rendered tiles: one block of three paragraphs each
    (title, badge, distribution)."""
    found = {}
    for value in markdown(at):
        parts = value.split("\n\n")
        title = re.fullmatch(r"\*\*(.+)\*\*", parts[0])
        if len(parts) == 3 and title and parts[1].startswith("<span") and (badge := BADGE.search(parts[1])):
            found[title.group(1)] = (badge.group(1), parts[2])
    return found


@pytest.mark.parametrize("page", VIEW_PAGES)
def test_every_view_reruns_without_exception(app, page):
    # How fast a rerun is, is a benchmark figure (bench/run.py), not a pass or fail on a shared machine.
    at = app(page)
    at.run()  # a rerun, as after a click: served from the cached loaders
    assert not at.exception
    assert "Demonstration data" in page_text(at)


def test_defaults_are_the_current_plan_and_latest_quarter_with_returns_written_to_the_url(app, db):
    at = app("app_pages/overview.py")
    # The demo fills every complete quarter: on 2026-11-23 (in 2026-27 Q3) the latest is 2026-27 Q2.
    assert param(at, "plan") == "2023-27"
    assert param(at, "quarter") == "2026-27 Q2"


def test_overview_tiles_match_the_status_report(app, db):
    at = app("app_pages/overview.py", quarter="2022-23 Q3", plan="2019-23")
    report = status_report(db, "2022-23 Q3", "2019-23")
    shown = tiles(at)
    for outcome in report["outcomes"]:
        status, distribution = shown[f"{outcome['ref']} · {outcome['name']}"]
        assert status == outcome["status"]
        assert distribution == expected_distribution(outcome["counts"])
    assert report["rule"] in page_text(at)
    assert "**19** objectives" in "\n".join(markdown(at))  # the 2019-23 plan's counts, under its heading
    text = page_text(at)
    assert "Children and Young People's Plan 2019–2023" in text and "Children and Young People's Plan 2023–2027" in text


def test_overview_counts_returns_received_from_the_tracker(app, db):
    at = app("app_pages/overview.py", quarter="2025-26 Q4", plan="2023-27")
    states = [row.state for row in submission_tracker(db, "2025-26 Q4")]
    metrics = {m.label: m.value for m in at.metric}
    received = states.count("On time") + states.count("Late")
    assert metrics["Returns received"] == f"{received} of {len(states)}"
    assert metrics["Missing"] == str(states.count("Missing"))


def test_outcome_page_shows_each_line_with_its_reported_status(app, db):
    at = app("app_pages/outcome.py", outcome="19-SS", quarter="2022-23 Q4", plan="2019-23")
    report = status_report(db, "2022-23 Q4", "2019-23")
    outcome = next(o for o in report["outcomes"] if o["ref"] == "19-SS")
    overall = next(value for value in markdown(at) if value.startswith("Overall in 2022-23 Q4"))
    assert BADGE.search(overall).group(1) == outcome["status"]
    assert expected_distribution(outcome["counts"]) in overall
    shown = {}
    for value in markdown(at):
        line = re.search(r"\*\*(19-SS-[^*]+)\*\*", value)
        if line and value.startswith("<span"):
            shown[line.group(1).replace("\\", "")] = BADGE.search(value).group(1)
    expected = {line["ref"]: line["status"] for line in report["lines"] if line["outcome"] == "19-SS"}
    assert shown == expected
    assert {as_read(link.label) for link in at.get("page_link")} >= {f"History of {ref}" for ref in expected}
    assert param(at, "outcome") == "19-SS" and param(at, "plan") == "2019-23"


def test_outcome_page_status_filter_from_the_url_narrows_the_lines_and_stays_in_the_url(app, db):
    at = app("app_pages/outcome.py", outcome="19-SS", quarter="2022-23 Q4", plan="2019-23", status="Green")
    report = status_report(db, "2022-23 Q4", "2019-23")
    green = {line["ref"] for line in report["lines"] if line["outcome"] == "19-SS" and line["status"] == "Green"}
    line_badges = [value for value in markdown(at) if value.startswith("<span") and "**19-SS-" in value]
    assert len(line_badges) == len(green) > 0
    assert all(BADGE.search(value).group(1) == "Green" for value in line_badges)
    assert param(at, "status") == "Green"


def test_choosing_a_filter_writes_it_to_the_url(app):
    at = app("app_pages/outcome.py", outcome="19-SS", quarter="2022-23 Q4", plan="2019-23")
    status_box = next(box for box in at.selectbox if box.label == "Status")
    status_box.select("Red").run()
    assert not at.exception
    assert param(at, "status") == "Red"
    assert param(at, "outcome") == "19-SS"


def test_a_quarter_outside_the_plan_falls_back_to_the_plans_latest_with_returns(app, db):
    at = app("app_pages/outcome.py", plan="2019-23", quarter="2026-27 Q1")
    assert param(at, "quarter") == "2022-23 Q4"  # the 2019-23 plan's last quarter, which the demo filled


def test_exceptions_page_matches_the_read_side(app, db):
    at = app("app_pages/exceptions.py", quarter="2022-23 Q4", plan="2019-23")
    found = exceptions(db, "2022-23 Q4", "2019-23")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["✖ Red lines"] == str(len(found["red"]))
    assert metrics["Got worse since last quarter"] == str(len(found["worse"]))
    assert metrics["? Lines with no return"] == str(len(found["no_return"]))
    assert metrics["Teams late or missing"] == str(len(found["late"]))
    red_table = at.dataframe[0].value
    assert sorted(red_table["History"].str.extract(r"line=(.+)$")[0]) == sorted(found["red"]["ref"])


def test_exceptions_team_filter_keeps_only_that_teams_lines(app, db):
    at = app("app_pages/exceptions.py", quarter="2022-23 Q4", plan="2019-23", team="family-services")
    for frame in at.dataframe[:3]:
        if "Responsible" in frame.value.columns:
            assert frame.value["Responsible"].str.contains("Family Services").all()
    assert param(at, "team") == "family-services"


def test_tracker_counts_each_state(app, db):
    at = app("app_pages/tracker.py", quarter="2024-25 Q2", plan="2023-27")
    states = [row.state for row in submission_tracker(db, "2024-25 Q2")]
    metrics = {m.label: m.value for m in at.metric}
    for state in ("On time", "Late", "Missing", "Not due yet"):
        assert metrics[state] == str(states.count(state))
    detail = at.dataframe[0].value
    assert list(detail["State"]) == states


def test_line_history_lists_every_update(app, db):
    history = line_history(db, "19-SS-1.1")
    at = app("app_pages/line_history.py", line="19-SS-1.1")
    updates = [value for value in markdown(at) if value.startswith("**20") and "cyp-status" in value]
    assert len(updates) == len(history) > 1
    assert as_read(at.header[0].value).startswith("19-SS-1.1")


def test_line_history_says_so_for_an_unknown_line(app):
    at = app("app_pages/line_history.py", line="NOPE-9")
    assert any("There is no line 'NOPE-9'" in as_read(e.value) for e in at.error)


def test_family_friendly_index_shows_nine_domains_with_gaps(app):
    at = app("app_pages/index_domains.py", quarter="2025-26 Q4", plan="2023-27")
    domains = [as_read(h.value) for h in at.subheader if as_read(h.value).startswith("FFI-")]
    assert len(domains) == 9
    assert "Gaps" in [h.value for h in at.header]


def test_young_peoples_summary_has_no_commentary_and_counts_work_as_it_is(app, db):
    at = app("app_pages/young_people.py", principal=None, quarter="2025-26 Q4", plan="2023-27")
    text = page_text(at)
    report = status_report(db, "2025-26 Q4", "2023-27")
    commentary = [line["progress"] for line in report["lines"] if line["progress"]]
    assert commentary, "the demo data should have commentary to leave out"
    assert not any(progress in text for progress in commentary)
    assert "Provide support to young carers in carrying out their roles" in text
    # Per theme: how many promises are on track, and the plan lines counted as they are (never "fewer than 6").
    for outcome in report["outcomes"]:
        lines = sum(outcome["counts"].values())
        assert f"Teams are doing {lines} pieces of work for this theme." in text or lines == 1
    assert len(re.findall(r"We made \d+ promises here\.", text)) == len(report["outcomes"])
    assert "Going well: " in text
    assert "fewer than 6" not in text.replace('"fewer than 6"', "")
    assert "Ctrl and P" in "\n".join(e.value for e in at.markdown)


@pytest.fixture(scope="module")
def crowded_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The framework plus synthetic benchmark lines: more than 25 lines in every 2019–23 objective, one quarter."""
    from bench.scale import SCALE_PLAN, ScaleSpec, generate_scale

    url = f"sqlite:///{tmp_path_factory.mktemp('crowded') / 'crowded.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CYP_TODAY", TODAY)
        engine = make_engine(url)
        initialise_database(engine)
        with write_session(engine) as session:
            objectives = session.scalar(
                select(func.count(Objective.id))
                .join(Outcome, Outcome.id == Objective.outcome_id)
                .join(Plan, Plan.id == Outcome.plan_id)
                .where(Plan.ref == SCALE_PLAN)
            )
            generate_scale(session, ScaleSpec(teams=(objectives * 27) // 40 + 1, lines_per_team=40, quarters=1))
        engine.dispose()
    yield url


def open_crowded(page: str, **query_params: str) -> AppTest:
    """``page`` of the app on the crowded database (CYP_DATABASE_URL already set), signed in as a viewer."""
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[PRINCIPAL_KEY] = VIEWER
    at.run()
    for key, value in query_params.items():
        at.query_params[key] = value
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_crowded_objective_shows_attention_lines_first_and_lists_the_rest(crowded_url, monkeypatch):
    monkeypatch.setenv("CYP_DATABASE_URL", crowded_url)
    monkeypatch.setenv("CYP_TODAY", TODAY)
    engine = make_engine(crowded_url)
    with read_session(engine) as session:
        quarter = latest_quarter_with_returns(session, "2019-23").label
        report = status_report(session, quarter, "2019-23")
    engine.dispose()
    outcome = report["outcomes"][0]["ref"]
    at = open_crowded("app_pages/outcome.py", outcome=outcome, quarter=quarter, plan="2019-23")
    lines = [line for line in report["lines"] if line["outcome"] == outcome]
    objective = lines[0]["objective"]
    expected = {line["ref"]: line["status"] for line in lines if line["objective"] == objective}
    assert len(expected) > 25

    def cards() -> list[str]:
        found = []
        for value in markdown(at):
            ref = re.search(r"\*\*(\S+)\*\*", value)
            if value.startswith("<span") and ref and ref.group(1) in expected:
                found.append(BADGE.search(value).group(1))
        return found

    shown = cards()
    attention = sum(status in ("Red", "Amber", "No return") for status in expected.values())
    assert len(shown) == 25
    assert all(status in ("Red", "Amber", "No return") for status in shown[: min(attention, 25)])
    rest = next(frame.value for frame in at.dataframe if set(frame.value["Line"]) <= set(expected))
    assert len(rest) == len(expected) - 25
    at.toggle(key=f"all_lines_{objective}").set_value(True).run()
    assert len(cards()) == len(expected)


def test_the_index_page_charts_six_indicators_and_tables_the_rest(crowded_url, monkeypatch):
    monkeypatch.setenv("CYP_DATABASE_URL", crowded_url)
    monkeypatch.setenv("CYP_TODAY", TODAY)
    engine = make_engine(crowded_url)
    with read_session(engine) as session:
        quarter = latest_quarter_with_returns(session, "2019-23").label
    engine.dispose()
    at = open_crowded("app_pages/index_domains.py", quarter=quarter, plan="2019-23")
    charts = at.get("vega_lite_chart")
    tabled = [frame.value for frame in at.dataframe if "Indicator" in frame.value.columns]
    assert tabled, "the benchmark indicators should be more than the page charts"
    assert len(charts) == 6
    toggle = at.toggle[0]
    before = len(charts)
    toggle.set_value(True).run()
    assert len(at.get("vega_lite_chart")) > before


def test_framework_page_counts_index_mappings_of_the_chosen_plan_only(app, db):
    from cyp.read.browse import domain_mappings

    everything = domain_mappings(db)
    for plan_ref in ("2019-23", "2023-27"):
        of_plan = domain_mappings(db, plan_ref)
        assert set(of_plan["plan"]) <= {plan_ref}
        at = app("app_pages/framework.py", plan=plan_ref)
        labels = {as_read(e.label) for e in at.expander if as_read(e.label).startswith("FFI-")}
        counts = of_plan.groupby("domain_ref").size().to_dict()
        assert len(labels) == 9
        for label in labels:
            domain_ref = label.split(" · ")[0]
            assert label.endswith(f"({counts.get(domain_ref, 0)} mapped in {plan_ref})"), label
        assert any("project's judgement" in as_read(c.value) for c in at.caption)
    assert len(everything) == len(domain_mappings(db, "2019-23")) + len(domain_mappings(db, "2023-27"))


def test_framework_page_shows_each_objectives_actions_in_its_own_table_in_plan_order(app, db):
    from cyp.read.browse import plan_actions

    actions = plan_actions(db, "2019-23")
    at = app("app_pages/framework.py", plan="2019-23")
    tables = [frame.value for frame in at.dataframe if "Responsible" in frame.value.columns]
    expected = [list(group["ref"]) for _ref, group in actions.groupby("objective_ref", sort=False)]
    assert [list(table["Ref"]) for table in tables] == expected and len(expected) > 20
    assert all(list(table.columns) == ["Ref", "Action", "Responsible", "Monitored by"] for table in tables)
    first = actions.iloc[0]
    assert tables[0].iloc[0].to_dict() == {
        "Ref": first["ref"],
        "Action": first["action"],
        "Responsible": first["responsible"],  # the 2019-23 plan names its teams: no demo label
        "Monitored by": first["monitored_by"],
    }


@pytest.mark.parametrize("page_file", ["app_pages/overview.py", "app_pages/index_domains.py", "app_pages/framework.py"])
def test_the_index_mapping_is_labelled_as_the_projects_judgement(app, page_file):
    at = app(page_file, plan="2023-27")
    assert any("this project's judgement, not part of the plan" in as_read(c.value) for c in at.caption)


def test_demo_teams_of_2023_lines_are_labelled_as_demo(app, db):
    report = status_report(db, "2025-26 Q4", "2023-27")
    outcome = report["outcomes"][0]["ref"]
    at = app("app_pages/outcome.py", outcome=outcome, quarter="2025-26 Q4", plan="2023-27")
    # Each card's "who" row: <strong>Responsible:</strong> teams</div>
    responsible = re.findall(r"<strong>Responsible:</strong> ([^<]*)</div>", "\n".join(markdown(at)))
    assert responsible and all(line.endswith("(demo assignment)") for line in responsible)
    at = app("app_pages/framework.py", plan="2023-27")
    tables = [frame.value for frame in at.dataframe if "Responsible" in frame.value.columns]
    assert tables and all(table["Responsible"].str.endswith("(demo assignment)").all() for table in tables)
    # The 2019-23 plan's teams come from the plan: no demo label there.
    at = app("app_pages/framework.py", plan="2019-23")
    tables = [frame.value for frame in at.dataframe if "Responsible" in frame.value.columns]
    assert tables and not any(table["Responsible"].str.contains("demo").any() for table in tables)
