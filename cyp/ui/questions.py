"""Board questions and "what changed since last quarter" on the pages: cached loaders, the ask and close forms.

The domain decides who may ask (``question.ask``) and close (``question.close``) and checks again on every write
(:func:`cyp.ui.engine.attempt_write`); hiding a form from a role that may not use it is presentation only. Every
piece of a question (its text, who asked, a reason, an answer) is shown through :func:`escape_markdown`, never as
markdown or HTML.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

import streamlit as st

from cyp.access.permissions import load_access_rules
from cyp.cycle.questions import MAX_TEXT, QuestionError, ask_question, close_question
from cyp.quarters import today
from cyp.read.changes import LineChange, OutcomeChanges, PlanChanges, changes_since_last_quarter
from cyp.read.charts import status_label
from cyp.read.questions import QuestionRow, list_questions
from cyp.ui.data import counted_versions
from cyp.ui.engine import attempt_write, data_tag, shared_cache, tagged_session
from cyp.ui.escaping import escape_markdown
from cyp.ui.signin import current_principal

TTL = 600  # seconds: a safety net only, since the data tag changes with every write
KIND_WORDS = {"question": "Question", "action": "Action"}
DEFAULT_DUE_DAYS = 28  # a board usually wants the answer by its next meeting
FLASH_PREFIX = "cyp_questions_said:"
CLOSED_KEY = "closed"


class QuestionList(list[QuestionRow]):
    """A loader's list of questions; a list of its own so what is worked out from it can be remembered per list
    (:func:`cyp.ui.engine.derived` follows it by weak reference, which a plain list does not allow)."""

    __slots__ = ("__weakref__",)


# Shared, not copied per run (st.cache_data unpickles a copy on every hit): the board display's slides are worked
# out once per data from the very same objects (:func:`cyp.ui.engine.derived`).
@shared_cache(ttl=TTL)
def _questions(
    tag: str, plan_ref: str | None, line_ref: str | None, outcome_ref: str | None, open_only: bool
) -> QuestionList:
    with tagged_session(tag) as db_session:
        return QuestionList(
            list_questions(
                db_session, open_only=open_only, plan_ref=plan_ref, line_ref=line_ref, outcome_ref=outcome_ref
            )
        )


def load_questions(
    plan_ref: str | None = None,
    *,
    line_ref: str | None = None,
    outcome_ref: str | None = None,
    open_only: bool = True,
) -> QuestionList:
    """Board questions in plan order (open ones unless ``open_only`` is False), of a plan, an outcome or a line.

    Shared by every session: never change a row in place."""
    return _questions(data_tag(), plan_ref, line_ref, outcome_ref, open_only)


def questions_by_line(rows: Iterable[QuestionRow]) -> dict[str, list[QuestionRow]]:
    """{line ref: its questions}, in the order given."""
    found: dict[str, list[QuestionRow]] = defaultdict(list)
    for row in rows:
        found[row.line_ref].append(row)
    return dict(found)


@shared_cache(ttl=TTL)
def _changes(tag: str, plan_ref: str, quarter: str, signed_off_only: bool, outcome_ref: str | None) -> PlanChanges:
    with tagged_session(tag) as db_session:
        return changes_since_last_quarter(
            db_session, plan_ref, quarter, signed_off_only=signed_off_only, outcome_ref=outcome_ref
        )


def load_changes(
    plan_ref: str, quarter: str, signed_off_only: bool | None = None, outcome_ref: str | None = None
) -> PlanChanges:
    """What changed in the plan between the quarter before ``quarter`` and ``quarter``, outcome by outcome.

    ``signed_off_only`` as the other views (None: signed-off returns only while sign-off is switched on);
    ``outcome_ref`` reads only that outcome's lines (the Outcomes page shows one outcome's changes).
    """
    return _changes(data_tag(), plan_ref, quarter, counted_versions(signed_off_only), outcome_ref)


def _rerun_saying(key: str, message: str) -> None:
    # Run the page again, so the question just recorded or closed shows where it belongs, and say so there.
    st.session_state[FLASH_PREFIX + key] = message
    st.rerun()


def _said(key: str) -> None:
    message = st.session_state.pop(FLASH_PREFIX + key, None)
    if message:
        st.success(escape_markdown(message), icon=":material/check_circle:")


def _may(permission: str) -> bool:
    principal = current_principal()
    if principal is None:
        return False
    if principal.is_system:
        return True
    return principal.role in load_access_rules()["permissions"][permission].get("roles", [])


def may_ask() -> bool:
    """Whether the signed-in user's role may record a board question (presentation only: the domain checks)."""
    return _may("question.ask")


def may_close() -> bool:
    """Whether the signed-in user's role may close a board question (presentation only: the domain checks)."""
    return _may("question.close")


def day_text(when: date) -> str:
    """A date the way the template writes due dates: "1 Mar 2026"."""
    return f"{when.day} {when:%b %Y}"


def question_words(row: QuestionRow) -> str:
    """One question as plain words: kind, quarter, who asked and when, due date and whether it is overdue."""
    due = ""
    if row.due_by is not None:
        due = f", due by {day_text(row.due_by)}" + (" (overdue)" if row.overdue else "")
    kind = KIND_WORDS.get(row.kind, "Question")
    return f"{kind} for {row.quarter}, asked by {row.asked_by} on {day_text(row.asked_at)}{due}"


def state_words(row: QuestionRow) -> str:
    """How a question ended, or "open": the team's answer, or the reason an administrator gave."""
    if row.is_open:
        return "OVERDUE, open" if row.overdue else "open"
    closed = f" on {day_text(row.closed_at)}" if row.closed_at else ""
    if row.answer:
        return f"answered by {row.closed_by or 'the team'}{closed}: {row.answer}"
    return f"closed by {row.closed_by or 'an administrator'}{closed}: {row.close_reason or 'no reason recorded'}"


def question_notes(rows: Sequence[QuestionRow], *, heading: str = "Board asked") -> None:
    """Each question as a short plain-text note (what was asked, by whom, due when, overdue in words)."""
    for row in rows:
        mark = "**Overdue:** " if row.overdue else ""
        st.markdown(
            f"**{heading}** ({escape_markdown(question_words(row))}): {mark}{escape_markdown(row.text)}",
        )
        if not row.is_open:
            words = state_words(row)
            st.caption(escape_markdown(words[:1].upper() + words[1:]))


def ask_open_key(key: str) -> str:
    """The widget key of the ask form's popover (its open state) for a form's ``key``."""
    return f"ask_open_{key}"


def ask_form(
    line_ref: str | None,
    quarter: str,
    *,
    key: str,
    label: str = "Ask the team",
    choices: Sequence[tuple[str, str]] = (),
    help: str | None = None,
) -> None:
    """A compact button opening a form that records a board question or action on a line for ``quarter``.

    ``line_ref`` names the line; with None the form offers ``choices`` ((ref, words) pairs) to pick one from.
    ``help`` is the button's tooltip.
    Shown only to roles that may ask; the domain checks the permission again when the form is sent.
    """
    principal = current_principal()
    if principal is None or not may_ask() or (line_ref is None and not choices):
        return
    _said(key)
    words = dict(choices)
    # Drawn only while open (opening it reruns the page): a closed form is six widgets in every run of every
    # session, a third of a board meeting's load when every member opens the same pages at once.
    popover = st.popover(label, icon=":material/contact_support:", help=help, key=ask_open_key(key), on_change="rerun")
    if not popover.open:
        return
    with popover, st.form(f"ask_{key}", clear_on_submit=True, border=False):
        if line_ref is None:
            picked = st.selectbox(
                "Line",
                list(words),
                format_func=lambda ref: f"{ref} · {words[ref]}",
                key=f"ask_line_{key}",
            )
            st.caption(f"For {escape_markdown(quarter)}")
        else:
            picked = line_ref
            st.markdown(f"Board question or action on **{escape_markdown(line_ref)}** for {escape_markdown(quarter)}")
        kind = st.radio(
            "Kind", list(KIND_WORDS), format_func=KIND_WORDS.__getitem__, horizontal=True, key=f"ask_kind_{key}"
        )
        text = st.text_area(
            "What the board asks", max_chars=MAX_TEXT, key=f"ask_text_{key}", help="Shown to the team as text."
        )
        due = st.date_input(
            "Answer due by",
            value=today() + timedelta(days=DEFAULT_DUE_DAYS),
            min_value=today(),
            format="DD/MM/YYYY",
            key=f"ask_due_{key}",
        )
        sent = st.form_submit_button("Record", type="primary")
    if sent:
        done, _question = attempt_write(
            principal, ask_question, picked, quarter, text, kind=kind, due_by=due, expected=(QuestionError,)
        )
        if done:
            _rerun_saying(key, f"Recorded for {picked}: it goes into the team's next template.")


def close_form(row: QuestionRow, *, key: str) -> None:
    """For an administrator: close an open question with a reason (required), e.g. answered at the meeting."""
    principal = current_principal()
    if principal is None or not row.is_open or not may_close():
        return
    title = f"Close board question {row.id} on {escape_markdown(row.line_ref)}"
    expander = st.expander(title, icon=":material/task_alt:")
    with expander, st.form(f"close_{key}", clear_on_submit=True, border=False):
        reason = st.text_input("Reason for closing (required)", max_chars=MAX_TEXT, key=f"close_reason_{key}")
        sent = st.form_submit_button("Close the question")
    if sent:
        done, _closed = attempt_write(principal, close_question, row.id, reason, expected=(QuestionError,))
        if done:
            _rerun_saying(CLOSED_KEY, f"Board question {row.id} closed: {' '.join(reason.split())}")


def closed_note() -> None:
    """Where a page shows that a question was just closed (the closed question itself has left the list)."""
    _said(CLOSED_KEY)


def change_words(change: LineChange) -> str:
    """ "was ▲ Amber, now ✖ Red": a status change in words (each status with its icon)."""
    return f"was {status_label(change.before)}, now {status_label(change.after)}"


def change_counts(changes: OutcomeChanges | PlanChanges) -> str:
    """The four counts in words, e.g. "3 status changes · 1 new Red · 1 recovered · 0 questions answered"."""

    def counted(number: int, one: str, many: str) -> str:
        return f"{number} {one if number == 1 else many}"

    return " · ".join(
        (
            counted(len(changes.status_changes), "status change", "status changes"),
            counted(len(changes.new_reds), "new Red", "new Reds"),
            counted(len(changes.recovered), "line recovered", "lines recovered"),
            counted(len(changes.questions_answered), "board question answered", "board questions answered"),
        )
    )


def changes_summary(changes: PlanChanges, outcome_ref: str) -> None:
    """A compact "what changed since last quarter" for one outcome: the counts, and the lines in an expander."""
    try:
        outcome = changes.outcome(outcome_ref)
    except StopIteration:
        outcome = OutcomeChanges(outcome_ref, "")
    st.markdown(
        f"**What changed since {escape_markdown(changes.previous)}:** {escape_markdown(change_counts(outcome))}"
    )
    if not outcome.anything:
        return
    with st.expander("Which lines changed"):
        for title, found in (("New Reds", outcome.new_reds), ("Lines recovered", outcome.recovered)):
            if found:
                st.markdown(f"**{title}:** " + "; ".join(escape_markdown(c.ref) for c in found))
        parts = []
        for change in outcome.status_changes:
            parts.append(f"- **{escape_markdown(change.ref)}** {escape_markdown(change_words(change))}")
        for row in outcome.questions_answered:
            parts.append(
                f"- **{escape_markdown(row.line_ref)}** board question answered: {escape_markdown(row.answer or '')}"
            )
        st.markdown("\n".join(parts))
