"""The published outputs (the young people's summary page and its public API, and the token API's report,
outcomes, indicators and history) count what the views count: one implementation of the summary, numbers of
people from 1 to 5 suppressed but never counts of plan lines, and with sign-off on only signed-off returns.

The version awaiting sign-off is a real upload: a workbook written with openpyxl, checked and stored by
``ingest_return``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, select
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM, Principal
from cyp.access.tokens import issue_token
from cyp.cycle.questions import ask_question
from cyp.cycle.signoff import sign_off
from cyp.returns.ingest import ingest_return
from cyp.storage.db import write_session
from cyp.storage.models import Indicator
from cyp.ui import PRINCIPAL_KEY
from cyp.ui.escaping import unescape_markdown as as_read
from cyp.web.api import api_app
from tests.readside_factory import add_return
from tests.returns_factory import build_framework, build_return, clean_indicators, with_line

pytestmark = pytest.mark.both_databases

ROOT = Path(__file__).resolve().parent.parent
QUARTER = "2025-26 Q3"
PLAN = "T2023"
LEAD = Principal("a.lee", "lead", frozenset({"family-services"}))
STUCK = "Stuck, and needs extra help: 1"
BOARD_QUESTION = "Board-only: why is the second hub late?"


@pytest.fixture
def published(engine: Engine, tmp_path: Path) -> Iterator[tuple[Engine, TestClient, dict[str, str]]]:
    """Family Services v1 (Green, Green; 4 children) and Public Health (Green), both signed off; then a real upload
    of Family Services v2 (Green, Red; 161 children) that awaits sign-off. A board question on the Red line."""
    with write_session(engine) as session:
        build_framework(session)
        create_user(session, SYSTEM, "a.lee", "lead", email="a.lee@barnet.example", teams=["family-services"])
        # The real framework's unit for a count: "children with a child protection plan" counts people.
        session.scalar(select(Indicator).where(Indicator.ref == "T23-I1")).unit = "count"
        add_return(
            session,
            "family-services",
            QUARTER,
            {"T23-1.1": ("Green", "v1: hubs open"), "T23-1.2": ("Green", "v1: on plan")},
            values={"T23-I1": 4},
        )
        sign_off(session, SYSTEM, "family-services", QUARTER)
        add_return(session, "public-health", QUARTER, {"T23-2.1": ("Green", "v1: clinics busy")})
        sign_off(session, SYSTEM, "public-health", QUARTER)
        token = issue_token(session, SYSTEM, "Power BI", include_commentary=True)[1]
    upload = build_return(
        lines=with_line(1, **{"RAG status": "Red", "Progress update": "Second hub stalled: the Smith family moved."}),
        indicators=[{**clean_indicators()[0], "Value": 161}],
    )
    result = ingest_return(
        upload, "fs.xlsx", LEAD, acknowledge_queries=True, engine=engine, uploads_dir=tmp_path / "uploads"
    )
    assert result.status == "accepted", result.problems
    with write_session(engine) as session:
        ask_question(session, SYSTEM, "T23-1.2", QUARTER, BOARD_QUESTION)
    with TestClient(api_app(engine)) as client:
        yield engine, client, {"Authorization": f"Bearer {token}"}


def young_people_api(client: TestClient) -> dict:
    answer = client.get("/api/v1/public/young-people", params={"quarter": QUARTER, "plan": PLAN})
    assert answer.status_code == 200, answer.text
    for hidden in ("Smith", "Second hub stalled", "v1:", "Board-only", "second hub late", "progress"):
        assert hidden not in answer.text, hidden
    return answer.json()


def young_people_page() -> str:
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[PRINCIPAL_KEY] = Principal("director", "viewer")
    at.run()
    at.query_params["plan"], at.query_params["quarter"] = PLAN, QUARTER
    at.switch_page("app_pages/young_people.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return "\n".join(as_read(str(e.value)) for e in [*at.markdown, *at.header, *at.subheader])


def page_loader() -> list:
    from cyp.ui.data import load_young_people_summary

    st.cache_data.clear()
    return load_young_people_summary(QUARTER, PLAN)


def test_the_api_and_the_page_publish_one_summary(published, monkeypatch: pytest.MonkeyPatch) -> None:
    engine, client, _token = published
    monkeypatch.setenv("CYP_SIGNOFF", "1")
    summary = young_people_api(client)
    [outcome] = summary["outcomes"]
    [news] = page_loader()
    # Three Green plan lines are 3, not "fewer than 6": they count the council's work, not people.
    assert outcome["counts"] == {"Blue": 0, "Green": 3, "Amber": 0, "Red": 0, "No return": 0} == dict(news.line_counts)
    assert outcome["work"] == ["Teams are doing 3 pieces of work for this theme.", "Going well: 3"] == list(news.work)
    assert outcome["headline"] == news.headline == "We made 2 promises here. All of them are on track or done."
    # 4 children with a child protection plan could be recognised: published as words, on the page and in the API.
    numbers = [("Children with a child protection plan", "fewer than 6", QUARTER)]
    assert [(n["name"], n["value"], n["quarter"]) for n in outcome["numbers"]] == numbers
    assert [(n.name, n.value, n.quarter) for n in news.numbers] == numbers
    assert "Children with a child protection plan: fewer than 6 (2025-26 Q3)" in young_people_page()
    assert "fewer than 6" in summary["suppressed"] and "plan lines" in summary["suppressed"]


def test_with_sign_off_on_a_return_awaiting_sign_off_is_not_published(published, monkeypatch) -> None:
    engine, client, token = published
    monkeypatch.setenv("CYP_SIGNOFF", "1")
    summary = young_people_api(client)
    assert summary["returns_counted"] == "signed-off returns only"
    assert summary["outcomes"][0]["counts"]["Red"] == 0
    assert all(p["status"] != "Red" for p in summary["outcomes"][0]["promises"])
    assert [news.line_counts for news in page_loader()][0][3] == ("Red", 0)
    page = young_people_page()
    assert STUCK not in page and "Going well: 3" in page

    report = client.get("/api/v1/report", params={"quarter": QUARTER, "plan": PLAN}, headers=token).json()
    assert report["returns_counted"] == "signed-off returns only"
    assert {line["ref"]: line["status"] for line in report["lines"]} == {
        "T23-1.1": "Green",
        "T23-1.2": "Green",
        "T23-2.1": "Green",
    }
    assert "Smith" not in str(report)
    outcomes = client.get("/api/v1/report/outcomes", params={"quarter": QUARTER}, headers=token).json()
    assert outcomes["returns_counted"] == "signed-off returns only"
    assert outcomes["outcomes"][0]["counts"]["Red"] == 0
    outcomes_csv = client.get("/api/v1/report/outcomes", params={"quarter": QUARTER, "format": "csv"}, headers=token)
    assert outcomes_csv.text.splitlines()[1].endswith(",0,3,0,0,0")
    indicators = client.get("/api/v1/indicators", params={"outcome": "T23-O1"}, headers=token).json()
    assert indicators["returns_counted"] == "signed-off returns only"
    assert [(i["ref"], i["quarter"], i["value"]) for i in indicators["indicators"]] == [("T23-I1", QUARTER, 4.0)]
    # The line's history keeps every version, marked: v1 is signed off and counted, v2 awaits.
    history = client.get("/api/v1/lines/T23-1.2/history", headers=token).json()
    assert [(u["version"], u["status"], u["signed_off"], u["counted"]) for u in history["updates"]] == [
        (1, "Green", True, True),
        (2, "Red", False, False),
    ]

    with write_session(engine) as session:
        sign_off(session, SYSTEM, "family-services", QUARTER)
    summary = young_people_api(client)
    assert summary["outcomes"][0]["counts"] == {"Blue": 0, "Green": 2, "Amber": 0, "Red": 1, "No return": 0}
    assert summary["outcomes"][0]["numbers"][0]["value"] == "161"
    assert STUCK in young_people_page()
    report = client.get("/api/v1/report", params={"quarter": QUARTER, "plan": PLAN}, headers=token).json()
    assert report["lines"][1]["status"] == "Red"
    indicators = client.get("/api/v1/indicators", params={"outcome": "T23-O1"}, headers=token).json()
    assert [i["value"] for i in indicators["indicators"]] == [161.0]
    history = client.get("/api/v1/lines/T23-1.2/history", headers=token).json()
    assert [(u["version"], u["signed_off"], u["counted"]) for u in history["updates"]] == [
        (1, True, False),
        (2, True, True),
    ]


def test_with_sign_off_off_the_current_return_is_published_at_once(published, monkeypatch) -> None:
    _engine, client, token = published
    monkeypatch.setenv("CYP_SIGNOFF", "0")
    summary = young_people_api(client)
    assert summary["returns_counted"] == "current returns"
    assert summary["outcomes"][0]["counts"]["Red"] == 1
    assert STUCK in young_people_page()
    report = client.get("/api/v1/report", params={"quarter": QUARTER}, headers=token).json()
    assert report["returns_counted"] == "current returns" and report["lines"][1]["status"] == "Red"
    indicators = client.get("/api/v1/indicators", params={"outcome": "T23-O1"}, headers=token).json()
    assert [i["value"] for i in indicators["indicators"]] == [161.0]
    history = client.get("/api/v1/lines/T23-1.2/history", headers=token).json()
    assert history["returns_counted"] == "current returns"
    assert [(u["version"], u["counted"]) for u in history["updates"]] == [(1, False), (2, True)]
    assert all("signed_off" not in u for u in history["updates"])


def test_the_public_summary_keeps_its_defaults_and_errors(published) -> None:
    _engine, client, _token = published
    latest = client.get("/api/v1/public/young-people").json()
    assert (latest["quarter"], latest["plan"]) == (QUARTER, PLAN)
    assert client.get("/api/v1/public/young-people", params={"quarter": "Q7 2025"}).json()["error"]["code"] == (
        "bad_quarter"
    )
    unknown = client.get("/api/v1/public/young-people", params={"plan": "NOPE"})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_plan")
    # A plan no team has reported on yet has no latest quarter: 404 too, saying so.
    old = client.get("/api/v1/public/young-people", params={"plan": "T2019"})
    assert old.status_code == 404 and "no team has sent a return" in old.json()["error"]["message"]
