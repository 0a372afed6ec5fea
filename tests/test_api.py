"""The data API over HTTP: each token scope, refused tokens, JSON and CSV matching the report, the public summary,
the OpenAPI description, and schemathesis against a running uvicorn server."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
import pytest
import uvicorn
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from cyp.access.permissions import SYSTEM
from cyp.access.tokens import issue_token, revoke_token
from cyp.read.reports import indicator_series, line_history, status_report
from cyp.storage.db import make_engine, read_session, write_session
from cyp.storage.models import AuditEvent, IndicatorValue, utcnow
from cyp.storage.schema import upgrade_schema
from cyp.web.api import api_app
from tests.readside_factory import add_return
from tests.returns_factory import build_framework

pytestmark = pytest.mark.both_databases

FORMULA = '=HYPERLINK("http://example.org","click")'


@dataclass(frozen=True)
class Tokens:
    full: str  # every plan, with commentary
    narrow: str  # the 2023 plan only, no commentary
    expired: str
    revoked: str


def load(engine: Engine) -> Tokens:
    """Two plans with returns in three quarters, indicator values with commentary, and four tokens."""
    with write_session(engine) as session:
        build_framework(session)
        add_return(
            session,
            "family-services",
            "2025-26 Q2",
            {"T23-1.1": "Green", "T23-1.2": ("Amber", "Hub delayed")},
            values={"T23-I1": 160},
        )
        latest = add_return(
            session,
            "family-services",
            "2025-26 Q3",
            {"T23-1.1": ("Red", FORMULA), "T23-1.2": ("Green", "Both hubs open, café too")},
            values={"T23-I1": 155},
        )
        add_return(session, "public-health", "2025-26 Q3", {"T23-2.1": ("Blue", "Done")})
        add_return(session, "family-services", "2022-23 Q4", {"T19-1.1": ("Green", "Hubs busy")})
        session.scalar(select(IndicatorValue).where(IndicatorValue.return_id == latest.id)).commentary = "After review"
        full = issue_token(session, SYSTEM, "R analysis", include_commentary=True)[1]
        narrow = issue_token(session, SYSTEM, "Power BI", plans=["T2023"])[1]
        expired = issue_token(session, SYSTEM, "Old", now=utcnow() - timedelta(days=40), days=30)[1]
        revoked_token, revoked = issue_token(session, SYSTEM, "Leaked")
        revoke_token(session, SYSTEM, revoked_token.id)
    return Tokens(full, narrow, expired, revoked)


@pytest.fixture
def tokens(engine: Engine) -> Tokens:
    return load(engine)


@pytest.fixture
def client(engine: Engine, tokens: Tokens) -> Iterator[TestClient]:
    with TestClient(api_app(engine)) as test_client:
        yield test_client


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_the_report_is_the_status_report(engine: Engine, tokens: Tokens, client: TestClient):
    answer = client.get("/api/v1/report", params={"quarter": "Q3 25/26", "plan": "T2023"}, headers=bearer(tokens.full))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    with read_session(engine) as session:
        # Sign-off is off here: the current version of each return counts, and the answer says so.
        assert answer.json() == {**status_report(session, "2025-26 Q3", "T2023"), "returns_counted": "current returns"}
    # Without a quarter: the latest with returns (and the plan covering it).
    latest = client.get("/api/v1/report", headers=bearer(tokens.full)).json()
    assert (latest["quarter"], latest["plan"]) == ("2025-26 Q3", "T2023")


def test_a_token_without_commentary_gets_none(engine: Engine, tokens: Tokens, client: TestClient):
    answer = client.get("/api/v1/report", params={"quarter": "2025-26 Q3"}, headers=bearer(tokens.narrow)).json()
    with read_session(engine) as session:
        report = status_report(session, "2025-26 Q3", "T2023")
    assert answer["lines"] == [{k: v for k, v in line.items() if k != "progress"} for line in report["lines"]]
    assert answer["outcomes"] == report["outcomes"]
    for path, params in [
        ("/api/v1/report", {"format": "csv"}),
        ("/api/v1/lines/T23-1.1/history", {}),
        ("/api/v1/lines/T23-1.1/history", {"format": "csv"}),
        ("/api/v1/indicators", {}),
        ("/api/v1/indicators", {"format": "csv"}),
    ]:
        text = client.get(path, params=params, headers=bearer(tokens.narrow)).text
        for commentary in ("HYPERLINK", "café", "Hub delayed", "After review", "progress", "commentary"):
            assert commentary not in text, (path, params, commentary)
    indicators = client.get("/api/v1/indicators", headers=bearer(tokens.full)).json()["indicators"]
    assert [row["commentary"] for row in indicators] == [None, "After review"]


def test_a_token_reads_only_its_plans(tokens: Tokens, client: TestClient):
    narrow = bearer(tokens.narrow)
    refused = client.get("/api/v1/report", params={"quarter": "2022-23 Q4"}, headers=narrow)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "plan_not_in_scope"
    assert "only plan T2023, not T2019" in refused.json()["error"]["message"]
    assert client.get("/api/v1/lines/T19-1.1/history", headers=narrow).status_code == 403
    assert client.get("/api/v1/tracker", params={"quarter": "2022-23 Q4"}, headers=narrow).status_code == 403
    assert client.get("/api/v1/indicators", params={"plan": "T2019"}, headers=narrow).status_code == 403
    assert [plan["ref"] for plan in client.get("/api/v1/plans", headers=narrow).json()["plans"]] == ["T2023"]
    everything = client.get("/api/v1/plans", headers=bearer(tokens.full)).json()
    assert [(p["ref"], p["quarters_with_returns"]) for p in everything["plans"]] == [
        ("T2019", ["2022-23 Q4"]),
        ("T2023", ["2025-26 Q3", "2025-26 Q2"]),
    ]
    assert everything["commentary_included"] is True
    old = client.get("/api/v1/report", params={"quarter": "2022-23 Q4"}, headers=bearer(tokens.full))
    assert old.status_code == 200 and old.json()["plan"] == "T2019"


@pytest.mark.parametrize(
    ("which", "code"),
    [("expired", "token_expired"), ("revoked", "token_revoked"), ("unknown", "token_unknown"), (None, "token_missing")],
)
def test_refused_tokens_get_401_and_a_json_error(
    engine: Engine, tokens: Tokens, client: TestClient, which: str | None, code: str
):
    secrets = {"expired": tokens.expired, "revoked": tokens.revoked, "unknown": "cyp_" + "x" * 43}
    headers = bearer(secrets[which]) if which else {}
    for path in ("/api/v1/report", "/api/v1/report?format=csv", "/api/v1/plans", "/api/v1/lines/T23-1.1/history"):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 401 and answer.headers["content-type"] == "application/json"
        assert answer.json()["error"]["code"] == code and answer.json()["error"]["message"]
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "lines" not in answer.text
    with read_session(engine) as session:
        refusals = list(
            session.scalars(select(AuditEvent).where(AuditEvent.action == "api.read", AuditEvent.outcome == "refused"))
        )
    assert len(refusals) == 4 and all(code in event.detail for event in refusals)


def test_each_use_is_audited(engine: Engine, tokens: Tokens, client: TestClient):
    client.get("/api/v1/report", params={"quarter": "2025-26 Q3"}, headers=bearer(tokens.narrow))
    client.get("/api/v1/report", params={"quarter": "2022-23 Q4"}, headers=bearer(tokens.narrow))
    with read_session(engine) as session:
        uses = [
            (e.actor, e.outcome, e.target)
            for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "api.read").order_by(AuditEvent.id))
        ]
    actor = f"token:{tokens.narrow[:12]}"
    assert uses == [
        (actor, "ok", "/api/v1/report?quarter=2025-26+Q3"),
        (actor, "refused", "/api/v1/report?quarter=2022-23+Q4"),
    ]


def _csv(content: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(content), keep_default_na=False, dtype=str)


def test_the_csv_opens_with_pandas_and_matches_the_report(engine: Engine, tokens: Tokens, client: TestClient):
    answer = client.get(
        "/api/v1/report", params={"quarter": "2025-26 Q3", "format": "csv"}, headers=bearer(tokens.full)
    )
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/csv; charset=utf-8"
    frame = _csv(answer.content)
    with read_session(engine) as session:
        report = status_report(session, "2025-26 Q3", "T2023")
    assert list(frame.columns) == ["ref", "outcome", "objective", "teams", "status", "progress"]
    expected = [
        {
            **{key: line[key] for key in ("ref", "outcome", "objective", "status")},
            "teams": "; ".join(line["teams"]),
            # A spreadsheet would run text starting with "=" as a formula: the CSV quotes it with "'".
            "progress": ("'" + line["progress"] if line["progress"].startswith("=") else line["progress"])
            if line["progress"]
            else "",
        }
        for line in report["lines"]
    ]
    assert frame.to_dict("records") == [{column: row[column] for column in frame.columns} for row in expected]
    assert "'" + FORMULA in frame["progress"].tolist() and "Both hubs open, café too" in frame["progress"].tolist()
    outcomes = _csv(
        client.get("/api/v1/report/outcomes?quarter=2025-26+Q3&format=csv", headers=bearer(tokens.full)).content
    )
    assert outcomes.to_dict("records") == [
        {
            "quarter": "2025-26 Q3",
            "plan": "T2023",
            "ref": o["ref"],
            "name": o["name"],
            "status": o["status"],
            **{k: str(v) for k, v in o["counts"].items()},
        }
        for o in report["outcomes"]
    ]


def test_line_history_indicators_and_tracker(engine: Engine, tokens: Tokens, client: TestClient):
    full = bearer(tokens.full)
    with read_session(engine) as session:
        history = line_history(session, "T23-1.1")
        series = indicator_series(session, ["T23-I1", "T23-I2"])
    answer = client.get("/api/v1/lines/T23-1.1/history", headers=full).json()
    assert answer["plan"] == "T2023"
    assert [(u["quarter"], u["status"], u["progress"]) for u in answer["updates"]] == list(
        history[["quarter", "status", "progress"]].itertuples(index=False, name=None)
    )
    as_csv = _csv(client.get("/api/v1/lines/T23-1.1/history?format=csv", headers=full).content)
    assert as_csv["quarter"].tolist() == history["quarter"].tolist()
    assert as_csv["progress"].tolist() == ["T23-1.1 update for 2025-26 Q2", "'" + FORMULA]
    values = client.get("/api/v1/indicators", params={"outcome": "T23-O1"}, headers=full).json()["indicators"]
    assert [(v["ref"], v["quarter"], v["value"], v["status"]) for v in values] == list(
        series[["ref", "quarter", "value", "status"]].itertuples(index=False, name=None)
    )
    tracker = client.get("/api/v1/tracker", params={"quarter": "2025-26 Q3"}, headers=full).json()
    states = {row["team_ref"]: row["state"] for row in tracker["teams"]}
    assert states["family-services"] in {"On time", "Late"} and states["public-health"] in {"On time", "Late"}
    tracker_csv = _csv(client.get("/api/v1/tracker?quarter=2025-26+Q3&format=csv", headers=full).content)
    assert tracker_csv["team_ref"].tolist() == [row["team_ref"] for row in tracker["teams"]]


def test_bad_requests_get_a_json_error(tokens: Tokens, client: TestClient):
    full = bearer(tokens.full)
    cases = [
        ("/api/v1/report?quarter=Q7+2025", 400, "bad_quarter"),
        ("/api/v1/report?quarter=2025-26+Q3&plan=NOPE", 404, "unknown_plan"),
        ("/api/v1/report?format=xml", 400, "bad_format"),
        ("/api/v1/lines/NOPE-1/history", 404, "unknown_line"),
        ("/api/v1/indicators?outcome=NOPE", 404, "unknown_outcome"),
        ("/api/v1/nothing-here", 404, "not_found"),
    ]
    for path, status, code in cases:
        answer = client.get(path, headers=full)
        assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), path
    assert "there is no Q7" in client.get("/api/v1/report?quarter=Q7+2025", headers=full).json()["error"]["message"]
    posted = client.post("/api/v1/report", headers=full)
    assert posted.status_code == 405 and posted.json()["error"]["code"] == "method_not_allowed"


def test_the_young_peoples_summary_is_public_without_commentary(tokens: Tokens, client: TestClient):
    answer = client.get("/api/v1/public/young-people")
    assert answer.status_code == 200
    summary = answer.json()
    assert (summary["quarter"], summary["plan"]) == ("2025-26 Q3", "T2023")
    assert summary["returns_counted"] == "current returns"
    outcome = summary["outcomes"][0]
    assert outcome["we_said_we_would"] == ["Support families early", "Healthy lives"]
    # "Support families early" has a Red and a Green line (Red by the roll-up rule); "Healthy lives" one Blue line.
    assert outcome["promises"] == [
        {"text": "Support families early", "status": "Red", "in_plain_words": "stuck, and needs extra help"},
        {"text": "Healthy lives", "status": "Blue", "in_plain_words": "done"},
    ]
    # Three lines: one Red, one Green, one Blue. They count plan lines, not people: published as they are.
    assert outcome["counts"] == {"Blue": 1, "Green": 1, "Amber": 0, "Red": 1, "No return": 0}
    assert outcome["headline"] == "We made 2 promises here. 1 of them is on track or done."
    assert outcome["work"] == [
        "Teams are doing 3 pieces of work for this theme.",
        "Done: 1",
        "Going well: 1",
        "Stuck, and needs extra help: 1",
    ]
    for commentary in ("HYPERLINK", "café", "Hub delayed", "After review", "progress", "update for"):
        assert commentary not in answer.text
    as_csv = _csv(client.get("/api/v1/public/young-people?format=csv").content)
    assert as_csv[["ref", "status", "Blue", "Amber", "Red", "headline"]].to_dict("records") == [
        {
            "ref": "T23-O1",
            "status": outcome["status"],
            "Blue": "1",
            "Amber": "0",
            "Red": "1",
            "headline": outcome["headline"],
        }
    ]
    assert as_csv["promises"].tolist() == ["Support families early (stuck, and needs extra help); Healthy lives (done)"]
    older = client.get("/api/v1/public/young-people", params={"quarter": "2022-23 Q4"}).json()
    assert older["plan"] == "T2019"


def test_the_openapi_description_lists_every_route(client: TestClient):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    routes = {route.path for route in api_app().routes[0].routes}
    assert set(document["paths"]) == routes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(db_url: str) -> Iterator[tuple[str, Tokens]]:
    """uvicorn serving the API on a free loopback port, over this test's own SQLite database."""
    engine = make_engine(db_url)
    upgrade_schema(engine)
    tokens = load(engine)
    port = _free_port()
    running = uvicorn.Server(uvicorn.Config(api_app(engine), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}", tokens
    running.should_exit = True
    thread.join(10)
    engine.dispose()


@pytest.mark.parametrize("signoff", ["0", "1"], ids=["signoff-off", "signoff-on"])
def test_schemathesis_finds_nothing_against_the_running_server(
    server: tuple[str, Tokens], monkeypatch: pytest.MonkeyPatch, signoff: str
):
    import schemathesis

    # With sign-off on the answers carry returns_counted "signed-off returns only" and the history signed_off.
    monkeypatch.setenv("CYP_SIGNOFF", signoff)
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    base, tokens = server
    # The description's "quarter" format: a quarter in one of the usual forms, in or out of the plans' years.
    years = st.integers(min_value=2015, max_value=2030)
    numbers = st.integers(min_value=1, max_value=4)
    quarters = st.one_of(
        st.builds(lambda y, n: f"{y}-{(y + 1) % 100:02d} Q{n}", years, numbers),
        st.builds(lambda y, n: f"Q{n} {y % 100:02d}/{(y + 1) % 100:02d}", years, numbers),
        st.builds(lambda y, m: f"{y}-{m:02d}-15", years, st.integers(min_value=1, max_value=12)),
    )
    schemathesis.openapi.format("quarter", quarters)
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    answered: dict[str, set[int]] = {}

    @given(case=schema.as_strategy())
    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def conforms(case) -> None:  # type: ignore[no-untyped-def]
        response = case.call_and_validate(headers=bearer(tokens.full))
        answered.setdefault(case.operation.path, set()).add(response.status_code)

    conforms()
    # Every data route was called, and each without a path parameter (which random text rarely matches)
    # answered at least once with data, not only with errors.
    assert set(answered) == set(schema.raw_schema["paths"]) - {"/openapi.json"}
    assert all(200 in statuses for path, statuses in answered.items() if "{" not in path), answered
