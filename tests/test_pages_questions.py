"""Board questions and "what changed since last quarter" on the pages (AppTest), on the real 2019-23 framework.

Two quarters of Family Services returns (2022-23 Q3 and Q4): 19-FB-1.1 goes Amber to Red, 19-FB-2.2 Red to Green and
answers the question the board asked about it in Q3, 19-FB-1.3 stays Green. Questions are asked through the forms of
the outcome page, the line history and the board display, closed by an administrator on the line history and the
exceptions page, and never reach the young people's summary or the data API.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, select
from starlette.testclient import TestClient
from streamlit.testing.v1 import AppTest

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM, Principal
from cyp.access.tokens import issue_token
from cyp.bootstrap import initialise_database
from cyp.cycle.questions import ask_question
from cyp.cycle.signoff import sign_off
from cyp.read.changes import changes_since_last_quarter
from cyp.returns.answers import record_answers
from cyp.storage.db import read_session, write_session
from cyp.storage.models import Action, BoardQuestion
from cyp.ui import PRINCIPAL_KEY
from cyp.ui.escaping import escape_markdown
from cyp.ui.escaping import unescape_markdown as as_read
from cyp.ui.questions import ask_open_key
from cyp.web.api import api_app
from tests.readside_factory import add_return

pytestmark = pytest.mark.both_databases

ROOT = Path(__file__).resolve().parent.parent
PLAN, QUARTER, PREVIOUS, OUTCOME = "2019-23", "2022-23 Q4", "2022-23 Q3", "19-FB"
CHAIR = Principal("chair", "viewer")
ADMIN = Principal("perf.admin", "administrator")
LEAD = Principal("a.lead", "lead", frozenset({"family-services"}))
HOSTILE = "**x** <b>y</b> [l](http://e)"
ANSWERED = "When will the children's centre reopen?"


@pytest.fixture
def board(engine: Engine) -> Engine:
    initialise_database(engine)
    with write_session(engine) as session:
        add_return(
            session, "family-services", PREVIOUS, {"19-FB-1.1": "Amber", "19-FB-2.2": "Red", "19-FB-1.3": "Green"}
        )
        ask_question(session, SYSTEM, "19-FB-2.2", PREVIOUS, ANSWERED)
        latest = add_return(
            session, "family-services", QUARTER, {"19-FB-1.1": "Red", "19-FB-2.2": "Green", "19-FB-1.3": "Green"}
        )
        action = session.scalar(select(Action).where(Action.ref == "19-FB-2.2"))
        record_answers(session, latest.id, QUARTER, [(action.id, "Reopened in March.")], "a.lead")
        create_user(session, SYSTEM, "chair", "viewer")
        create_user(session, SYSTEM, "perf.admin", "administrator")
        create_user(session, SYSTEM, "a.lead", "lead", teams=["family-services"])
    st.cache_data.clear()
    st.cache_resource.clear()
    return engine


def open_page(page: str, principal: Principal, **params: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.session_state[PRINCIPAL_KEY] = principal
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def outcome_page(principal: Principal = CHAIR) -> AppTest:
    return open_page("app_pages/outcome.py", principal, plan=PLAN, quarter=QUARTER, outcome=OUTCOME)


def open_ask(at: AppTest, key: str) -> AppTest:
    """Open an ask form's popover, as a click on its button does: the form is drawn only while it is open."""
    at.session_state[ask_open_key(key)] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def submit(at: AppTest, form: str) -> AppTest:
    [button] = [b for b in at.button if b.form_id == form]
    button.click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text(at: AppTest) -> str:
    """What the page says: the page's own bold markers dropped, then its data's escapes removed."""
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.header]
    parts += [e.value for e in at.success] + [e.value for e in at.error] + [e.value for e in at.subheader]
    return "\n".join(as_read(re.sub(r"(?<!\\)\*\*", "", str(part))) for part in parts)


def questions(engine: Engine, line: str | None = None) -> list[BoardQuestion]:
    with read_session(engine) as session:
        query = select(BoardQuestion).join(Action, Action.id == BoardQuestion.action_id).order_by(BoardQuestion.id)
        if line:
            query = query.where(Action.ref == line)
        return list(session.scalars(query))


def asked_on() -> str:
    """The day a question asked now is dated (the domain stamps the real time, not CYP_TODAY)."""
    now = datetime.now(UTC)
    return f"{now.day} {now:%b %Y}"


def ask_directly(engine: Engine, line: str, words: str, due: date | None = None) -> int:
    with write_session(engine) as session:
        return ask_question(session, CHAIR, line, QUARTER, words, due_by=due).id


def test_the_chair_asks_on_an_outcome_card_and_the_question_shows_on_the_card_literally(board: Engine) -> None:
    at = open_ask(outcome_page(), "outcome_19-FB-1")
    at.selectbox(key="ask_line_outcome_19-FB-1").set_value("19-FB-1.1")
    at.text_area(key="ask_text_outcome_19-FB-1").input(HOSTILE)
    at.date_input(key="ask_due_outcome_19-FB-1").set_value(date(2027, 1, 15))
    submit(at, "ask_outcome_19-FB-1")
    [question] = questions(board, "19-FB-1.1")
    assert (question.text, question.asked_by, question.quarter, question.due_by, question.kind) == (
        HOSTILE,
        "chair",
        QUARTER,
        date(2027, 1, 15),
        "question",
    )
    raw = [element.value for element in at.markdown]
    # On the card, as text: every markup character escaped, so nothing is bold, a tag or a link.
    shown = [value for value in raw if "Board asked" in value]
    assert len(shown) == 1 and escape_markdown(HOSTILE) in shown[0], shown
    assert "**x**" not in shown[0] and "<b>" not in shown[0] and r"\[l\](http" in shown[0]
    assert f"Board asked (Question for {QUARTER}, asked by chair on {asked_on()}, due by 15 Jan 2027): {HOSTILE}" in (
        text(at)
    )
    assert "Recorded for 19-FB-1.1: it goes into the team's next template." in text(at)


def test_the_ask_form_is_drawn_only_while_its_popover_is_open(board: Engine) -> None:
    # Closed, each objective's popover is one element; its six widgets would be in every run of every session.
    at = outcome_page()
    labels = [p.proto.popover.label for p in at.get("popover") if p.proto.popover.label.startswith("Ask the team")]
    assert "Ask the team about a line of 19-FB-1" in labels
    assert not [w for w in at.text_area if str(w.key).startswith("ask_text_")]
    open_ask(at, "outcome_19-FB-1")
    assert [w.key for w in at.text_area if str(w.key).startswith("ask_text_")] == ["ask_text_outcome_19-FB-1"]
    assert at.selectbox(key="ask_line_outcome_19-FB-1").options[0].startswith("19-FB-1.")


def test_an_empty_question_is_refused_with_a_message_and_nothing_stored(board: Engine) -> None:
    at = open_ask(outcome_page(), "outcome_19-FB-1")
    at.selectbox(key="ask_line_outcome_19-FB-1").set_value("19-FB-1.3")
    at.text_area(key="ask_text_outcome_19-FB-1").input("   ")
    submit(at, "ask_outcome_19-FB-1")
    assert "The question is empty; write what the board wants to know." in text(at)
    assert questions(board, "19-FB-1.3") == []


def test_a_lead_has_no_form_and_a_role_changed_since_sign_in_is_refused(board: Engine) -> None:
    at = outcome_page(LEAD)
    assert not [w for w in at.text_area if str(w.key).startswith("ask_text_")]
    assert not [p for p in at.get("popover") if p.proto.popover.label.startswith("Ask the team")]
    # Signed in as a viewer, since made a lead: the form still shows, the domain refuses and says why.
    at = open_ask(outcome_page(Principal("a.lead", "viewer")), "outcome_19-FB-1")
    at.selectbox(key="ask_line_outcome_19-FB-1").set_value("19-FB-1.1")
    at.text_area(key="ask_text_outcome_19-FB-1").input("Why is this Red?")
    submit(at, "ask_outcome_19-FB-1")
    assert "You may not record a board question" in text(at)
    assert questions(board, "19-FB-1.1") == []
    # The board screen's display account may show the slides but not ask.
    display = open_page("app_pages/display.py", Principal("board.screen", "display"), plan=PLAN, quarter=QUARTER)
    assert not [w for w in display.text_area if str(w.key).startswith("ask_text_")]


def test_asked_on_the_line_history_it_shows_there_and_an_administrator_closes_it_with_a_reason(board: Engine) -> None:
    at = open_page("app_pages/line_history.py", CHAIR, line="19-FB-1.1", plan=PLAN, quarter=QUARTER)
    open_ask(at, "history_19-FB-1.1")
    at.text_area(key="ask_text_history_19-FB-1.1").input("Fund a Saturday opening")
    at.radio(key="ask_kind_history_19-FB-1.1").set_value("action")
    submit(at, "ask_history_19-FB-1.1")
    [question] = questions(board, "19-FB-1.1")
    assert (question.kind, question.text, question.asked_by) == ("action", "Fund a Saturday opening", "chair")
    assert f"Board asked (Action for {QUARTER}, asked by chair on {asked_on()}" in text(at)
    assert not [w for w in at.text_input if str(w.key).startswith("close_reason_")]  # a viewer may not close

    at = open_page("app_pages/line_history.py", ADMIN, line="19-FB-1.1", plan=PLAN, quarter=QUARTER)
    key = f"history_{question.id}"
    submit(at, f"close_{key}")  # no reason: refused, still open
    assert "The reason is empty" in text(at)
    assert questions(board, "19-FB-1.1")[0].closed_at is None
    at.text_input(key=f"close_reason_{key}").input("Answered at the meeting")
    submit(at, f"close_{key}")
    [closed] = questions(board, "19-FB-1.1")
    assert (closed.close_reason, closed.closed_by) == ("Answered at the meeting", "perf.admin")
    shown = text(at)
    assert f"Board question {question.id} closed: Answered at the meeting" in shown
    assert "Board asked (closed)" in shown and "Closed by perf.admin on" in shown and "Answered at the meeting" in shown


def test_the_answered_question_shows_its_answer_on_the_line_history(board: Engine) -> None:
    at = open_page("app_pages/line_history.py", CHAIR, line="19-FB-2.2", plan=PLAN, quarter=QUARTER)
    shown = text(at)
    assert f"Board asked (closed) (Question for {PREVIOUS}, asked by system on" in shown and ANSWERED in shown
    assert "Answered by a.lead on" in shown and "Reopened in March." in shown


def test_an_open_question_shows_on_the_card_the_exceptions_page_and_the_display_with_overdue_in_words(
    board: Engine,
) -> None:
    late = ask_directly(board, "19-FB-1.1", HOSTILE, due=date(2026, 11, 1))
    ask_directly(board, "19-FB-1.3", "Keep it going?", due=date(2027, 2, 1))
    card = text(outcome_page())
    assert (
        f"Board asked (Question for {QUARTER}, asked by chair on {asked_on()}, due by 1 Nov 2026 (overdue)): " in card
    )
    assert f"Overdue: {HOSTILE}" in card and "due by 1 Feb 2027): Keep it going?" in card

    at = open_page("app_pages/exceptions.py", CHAIR, plan=PLAN, quarter=QUARTER)
    assert "2 open, 1 overdue (past the date the board asked for an answer)." in text(at)
    table = next(frame.value for frame in at.dataframe if "Overdue" in frame.value.columns)
    rows = table.to_dict("records")
    assert [(r["Asked"], r["Text"], r["Asked by"], r["Due by"], r["Overdue"]) for r in rows] == [
        (f"Question {late}", HOSTILE, f"chair, {asked_on()}", "1 Nov 2026", "overdue"),
        (f"Question {late + 1}", "Keep it going?", f"chair, {asked_on()}", "1 Feb 2027", ""),
    ]
    assert not [w for w in at.text_input if str(w.key).startswith("close_reason_")]

    display = open_page("app_pages/display.py", CHAIR, plan=PLAN, quarter=QUARTER)
    for _ in range(4):  # back from the first slide: the exceptions' last slide holds the questions
        display.button(key="board_previous").click().run()
        slide = "\n".join(block.value for block in display.markdown)
        if "Board questions open" in slide:
            break
    assert "<h1>Exceptions" in slide and "Board questions open (2)" in slide
    assert '<span class="overdue">OVERDUE</span>' in slide
    assert escape_markdown(HOSTILE, inside_html=True) in slide and "<b>y</b>" not in slide
    assert "due by 1 Nov 2026 (overdue)" in slide and f"asked by chair on {asked_on()}" in slide


def test_an_administrator_closes_on_the_exceptions_page_and_the_reason_is_required(board: Engine) -> None:
    asked = ask_directly(board, "19-FB-1.1", "Why is this Red?")
    at = open_page("app_pages/exceptions.py", ADMIN, plan=PLAN, quarter=QUARTER)
    submit(at, f"close_exceptions_{asked}")
    assert "The reason is empty" in text(at) and questions(board)[-1].closed_at is None
    at.text_input(key=f"close_reason_exceptions_{asked}").input("Taken to the strategy board")
    submit(at, f"close_exceptions_{asked}")
    assert questions(board)[-1].close_reason == "Taken to the strategy board"
    shown = text(at)
    assert f"Board question {asked} closed: Taken to the strategy board" in shown
    assert "No board question is waiting for an answer." in [e.value for e in at.success]


def test_the_chair_asks_from_the_display_on_a_line_of_the_slide(board: Engine) -> None:
    at = open_page("app_pages/display.py", CHAIR, plan=PLAN, quarter=QUARTER, slide="3")
    assert "<h1>Family &amp; Belonging" in "\n".join(block.value for block in at.markdown)
    open_ask(at, "display")
    lines = at.selectbox(key="ask_line_display")
    assert lines.options[0].startswith("19-FB-1.1 · ") and all(o.startswith("19-FB-") for o in lines.options)
    lines.set_value("19-FB-1.3")
    at.text_area(key="ask_text_display").input("Is the parenting course full?")
    at.date_input(key="ask_due_display").set_value(date(2027, 1, 31))
    submit(at, "ask_display")
    [question] = questions(board, "19-FB-1.3")
    assert (question.text, question.quarter, question.due_by, question.asked_by) == (
        "Is the parenting course full?",
        QUARTER,
        date(2027, 1, 31),
        "chair",
    )
    assert "Recorded for 19-FB-1.3: it goes into the team's next template." in text(at)


def slide_lines(at: AppTest) -> tuple[str, list[str], list[str]]:
    """(title, the line refs the slide lists, the refs its Ask form offers), both in order and without repeats."""
    slide = "\n".join(block.value for block in at.markdown)
    title = re.search(r"<h1>(.*?)</h1>", slide).group(1)
    listed = [as_read(html.unescape(ref)) for ref in re.findall(r'<span class="ref">(.*?)</span>', slide)]
    boxes = [box for box in at.selectbox if box.key == "ask_line_display"]  # none: no line to offer
    offered = [option.split(" · ")[0] for box in boxes for option in box.options]
    return title, list(dict.fromkeys(ref for ref in listed if ref.startswith("19-"))), offered


def test_the_display_offers_the_lines_each_slide_lists_and_on_the_summary_the_exceptions(board: Engine) -> None:
    ask_directly(board, "19-EL-1.1", "Why no return?")  # an open question: the exceptions slide lists its line
    at = open_ask(open_page("app_pages/display.py", CHAIR, plan=PLAN, quarter=QUARTER), "display")  # stays open
    slides = []
    for _ in range(20):
        slides.append(slide_lines(at))
        at.button(key="board_next").click().run()
        if "Slide 1 of" in "\n".join(block.value for block in at.markdown):
            break
    changed, summary, *outcomes = slides
    exceptions = [slide for slide in outcomes if slide[0].startswith("Exceptions")]
    assert changed[0].startswith("What changed") and changed[1] == changed[2] == ["19-FB-1.1", "19-FB-2.2"]
    # Red, worse, no return (the first 8 of 75), the open question's line; then the teams late: no line.
    listed = list(dict.fromkeys(ref for _title, refs, _offered in exceptions for ref in refs))
    assert listed[0] == "19-FB-1.1" and "19-EL-1.1" in listed and len(listed) == 1 + 8 + 1
    assert [refs for _title, refs, _offered in exceptions].count([]) == 1
    for title, refs, offered in [summary, *exceptions]:
        # Each its own lines; one listing none (the summary, the teams late) what the exceptions slides list.
        assert offered == (refs or listed), title
    assert summary[0].endswith("at a glance") and summary[1] == []
    # An outcome's slides offer every line of the outcome, in plan order.
    family = [offered for title, _listed, offered in outcomes if title.startswith("Family")]
    assert family and all(o[0] == "19-FB-1.1" and len(o) == 11 for o in family)


def test_what_changed_is_the_first_slide_of_the_display(board: Engine) -> None:
    at = open_page("app_pages/display.py", Principal("board.screen", "display"), plan=PLAN, quarter=QUARTER)
    slide = "\n".join(block.value for block in at.markdown)
    assert f"<h1>What changed since {PREVIOUS}" in slide and "Slide 1 of" in slide
    with read_session(board) as session:
        changes = changes_since_last_quarter(session, PLAN, QUARTER)
    assert [(c.ref, c.before, c.after) for c in changes.status_changes] == [
        ("19-FB-1.1", "Amber", "Red"),
        ("19-FB-2.2", "Red", "Green"),
    ]
    counts = "2 status changes · 1 new Red · 1 line recovered · 1 board question answered"
    assert f'<div class="counts">{counts}</div>' in slide
    # Statuses in words beside their icons, each line under its heading; the answer quoted.
    assert "<h2>New Reds (1)</h2>" in slide and "<h2>Lines recovered (1)</h2>" in slide
    assert "was ▲ Amber, now ✖ Red" in slide and "was ✖ Red, now ● Green" in slide
    assert "<h2>Board questions answered (1)</h2>" in slide and "Answer: Reopened in March." in slide
    assert slide.index("19-FB-1.1") < slide.index("Lines recovered") < slide.index("19-FB-2.2")


def test_each_outcome_page_opens_with_what_changed_in_it(board: Engine) -> None:
    at = outcome_page()
    shown = text(at)
    assert (
        f"What changed since {PREVIOUS}: 2 status changes · 1 new Red · 1 line recovered · 1 board question answered"
        in shown
    )
    assert "New Reds: 19-FB-1.1" in shown and "Lines recovered: 19-FB-2.2" in shown
    assert "19-FB-1.1 was ▲ Amber, now ✖ Red" in shown
    assert "19-FB-2.2 board question answered: Reopened in March." in shown
    other = open_page("app_pages/outcome.py", CHAIR, plan=PLAN, quarter=QUARTER, outcome="19-SS")
    assert (
        f"What changed since {PREVIOUS}: 0 status changes · 0 new Reds · 0 lines recovered · 0 board questions answered"
        in text(other)
    )


def test_a_question_never_reaches_the_young_peoples_summary_or_the_data_api(board: Engine) -> None:
    secret = "Board-only: is the Hendon hub closing?"
    ask_directly(board, "19-FB-1.1", secret)
    with write_session(board) as session:
        token = issue_token(session, SYSTEM, "Power BI", include_commentary=True)[1]
    young = open_page("app_pages/young_people.py", CHAIR, plan=PLAN, quarter=QUARTER)
    assert "Hendon hub" not in text(young) and "Reopened in March" not in text(young)
    assert "Board questions" not in text(open_page("app_pages/overview.py", CHAIR, plan=PLAN, quarter=QUARTER))
    with TestClient(api_app(board)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        for path, params in [
            ("/api/v1/public/young-people", {"quarter": QUARTER, "plan": PLAN}),
            ("/api/v1/report", {"quarter": QUARTER, "plan": PLAN}),
            ("/api/v1/report", {"quarter": QUARTER, "plan": PLAN, "format": "csv"}),
            ("/api/v1/lines/19-FB-1.1/history", {}),
            ("/api/v1/lines/19-FB-2.2/history", {}),
        ]:
            answer = client.get(path, params=params, headers=headers)
            assert answer.status_code == 200, (path, answer.text)
            for words in ("Hendon hub", "Reopened in March", "children's centre reopen", "Board asked"):
                assert words not in answer.text, (path, words)


def test_the_exceptions_page_lists_the_questions_on_the_lines_its_filters_select(board: Engine) -> None:
    ours = ask_directly(board, "19-FB-1.1", "Why is this Red?")
    ask_directly(board, "19-FB-1.2", "Is the foundation's funding secure?")  # Young Barnet Foundation's line
    every = open_page("app_pages/exceptions.py", CHAIR, plan=PLAN, quarter=QUARTER)
    assert "2 open, 0 overdue (past the date the board asked for an answer)." in text(every)
    team = open_page("app_pages/exceptions.py", CHAIR, plan=PLAN, quarter=QUARTER, team="family-services")
    assert "1 open, 0 overdue (past the date the board asked for an answer)." in text(team)
    table = next(frame.value for frame in team.dataframe if "Overdue" in frame.value.columns)
    assert list(table["Asked"]) == [f"Question {ours}"]


def test_with_sign_off_on_what_changed_compares_signed_off_returns(board: Engine, monkeypatch) -> None:
    monkeypatch.setenv("CYP_SIGNOFF", "1")
    with write_session(board) as session:
        sign_off(session, SYSTEM, "family-services", PREVIOUS)  # Q4's return is not signed off yet
    shown = text(outcome_page())
    # Q3's statuses against nothing counted in Q4: three lines now read No return, none became Red or recovered.
    assert f"What changed since {PREVIOUS}: 3 status changes · 0 new Reds · 0 lines recovered" in shown
    assert "19-FB-1.1 was ▲ Amber, now ? No return" in shown
