"""Sign-off on the pages: where each return stands, who approves a team, the approver's actions, the views' switch.

Sign-off is switched on per deployment (``CYP_SIGNOFF=1``, :mod:`cyp.read.signoff`); off, nothing here draws
anything and the views count every current version, as before. The loaders are cached on the data tag like those
of :mod:`cyp.ui.data`; the actions go through :mod:`cyp.ui.writes` (``attempt_write``), so the domain's permission check
(an approver of the team, or an administrator) and its audit events are the only rule, and a refusal is shown.
Text that came from people (a reason for sending a return back, names) is shown as plain text: in a table cell,
or escaped.
"""

from __future__ import annotations

import streamlit as st

from cyp.access.permissions import Principal
from cyp.cycle.signoff import approvers_of
from cyp.framework.teams import UnknownTeam, require_team
from cyp.read.signoff import AWAITING, RETURNED, SIGNED_OFF, STATE_WORDS, SignoffRow, signoff_enabled, signoff_rows
from cyp.ui.data import TTL
from cyp.ui.engine import data_tag, tagged_session
from cyp.ui.escaping import escape_markdown
from cyp.ui.filters import _follow_address, _widget_key
from cyp.ui.writes import send_back_return, sign_off_return

# The address says "include what is awaiting sign-off" with ?awaiting=include, so a shared link keeps the view.
INCLUDE_AWAITING_PARAM = "awaiting"
INCLUDE_AWAITING_VALUE = "include"
SWITCH_LABEL = "Include returns awaiting sign-off"
# A message kept across the rerun that follows a decision, shown at the top of the sign-off section.
FLASH_KEY = "cyp_signoff_flash"
DECIDING_ROLES = ("approver", "administrator")


def signoff_on() -> bool:
    """Whether this deployment asks for sign-off (``CYP_SIGNOFF=1``)."""
    return signoff_enabled()


def state_text(state: str) -> str:
    """A sign-off state in words: "awaiting sign-off", "signed off", "returned to the team" ("" for none)."""
    return STATE_WORDS.get(state, state)


@st.cache_data(ttl=TTL, show_spinner=False)
def _signoff_rows(tag: str, quarter: str | None) -> list[SignoffRow]:
    with tagged_session(tag) as db_session:
        return signoff_rows(db_session, quarter)


def load_signoff_rows(quarter: str | None = None) -> list[SignoffRow]:
    """Every current return (of one quarter, if given) and its sign-off state (:func:`cyp.read.signoff.signoff_rows`).

    Cached on the data tag: a decision anywhere is an audit event, so the next run reads it fresh.
    """
    return _signoff_rows(data_tag(), quarter)


@st.cache_data(ttl=TTL, show_spinner=False)
def _approvers(tag: str, team: str) -> tuple[str, ...]:
    with tagged_session(tag) as db_session:
        try:
            partner = require_team(db_session, team)
        except UnknownTeam:
            return ()
        return tuple(
            f"{user.display_name} ({user.username})" if user.display_name else user.username
            for user in approvers_of(db_session, partner.id)
        )


def load_approvers(team: str) -> tuple[str, ...]:
    """The active approvers of a team (by name or ref), as "Name (username)", by username."""
    return _approvers(data_tag(), team)


def _count(number: int, what: str) -> str:
    return f"{number} {what}{'' if number == 1 else 's'}"


def view_switch(quarter: str) -> bool:
    """With sign-off on: the caption saying what a view counts, and the switch to include what awaits sign-off.

    Returns ``signed_off_only`` for the loaders: True by default (signed-off returns only), False when the switch
    (kept in the address as ``?awaiting=include``) is on. With sign-off off it draws nothing and returns False.
    """
    if not signoff_on():
        return False
    rows = load_signoff_rows(quarter)
    awaiting = sum(row.state == AWAITING for row in rows)
    returned = sum(row.state == RETURNED for row in rows)
    key = _widget_key("include_awaiting")
    from_address = st.query_params.get(INCLUDE_AWAITING_PARAM) == INCLUDE_AWAITING_VALUE
    _follow_address(key, from_address, [True, False])
    include = st.toggle(
        SWITCH_LABEL,
        key=key,
        help="Off: only returns an approver has signed off count, as the board sees them. On: every team's latest "
        "version counts, signed off or not.",
    )
    st.session_state[f"{key}:address"] = include
    if include:
        st.query_params[INCLUDE_AWAITING_PARAM] = INCLUDE_AWAITING_VALUE
    elif INCLUDE_AWAITING_PARAM in st.query_params:
        del st.query_params[INCLUDE_AWAITING_PARAM]
    if include:
        parts = [f"{_count(awaiting, 'return')} awaiting sign-off"]
        if returned:
            parts.append(f"{_count(returned, 'return')} sent back to {'its team' if returned == 1 else 'their teams'}")
        st.caption(f"Including returns not yet signed off in {quarter}: {' and '.join(parts)}.")
    else:
        if awaiting:
            verb = "is" if awaiting == 1 else "are"
            waiting = _count(awaiting, "return")
            text = f"Showing signed-off returns only; {waiting} awaiting sign-off {verb} not included"
        else:
            text = f"Showing signed-off returns only; no return for {quarter} is awaiting sign-off"
        if returned:
            verb = "is" if returned == 1 else "are"
            text += f", and {_count(returned, 'return')} sent back to the team {verb} not included either"
        st.caption(text + ".")
    return not include


def counted_note(quarter: str) -> str:
    """For the board display's bar: "signed-off returns only (2 awaiting sign-off)"; "" with sign-off off."""
    if not signoff_on():
        return ""
    awaiting = sum(row.state == AWAITING for row in load_signoff_rows(quarter))
    return f"signed-off returns only ({awaiting} awaiting sign-off)"


def awaiting_note(team: str, quarter: str, version: int | None) -> None:
    """After an accepted upload with sign-off on: the return awaits sign-off, and who the team's approvers are."""
    if not signoff_on():
        return
    approvers = load_approvers(team)
    who = (
        "An approver of the team signs it off or sends it back: " + ", ".join(approvers) + "."
        if approvers
        else "The team has no approver yet: ask the performance team (an administrator) to add one."
    )
    which = f"Version {version} of the" if version else "The"
    st.info(
        escape_markdown(
            f"{which} {team} return for {quarter} is awaiting sign-off. It counts in the views once signed off. {who}"
        ),
        icon=":material/hourglass_top:",
    )


def team_states(team_refs: set[str]) -> None:
    """A lead's view: where each current return of their teams stands, with the reason where one was sent back."""
    if not signoff_on() or not team_refs:
        return
    rows = [row for row in load_signoff_rows() if row.team_ref in team_refs]
    st.header("Sign-off of your team's returns")
    if not rows:
        st.caption("Your team has no return yet.")
        return
    rows.sort(key=lambda row: (row.quarter, row.team), reverse=True)
    # A table cell is plain text: a reason typed by an approver is never read as markdown or HTML.
    st.dataframe(
        [
            {
                "Quarter": row.quarter,
                "Team": row.team,
                "Version": f"v{row.version}",
                "Sign-off": state_text(row.state),
                "By": row.decided_by or "",
                "When": row.decided_at.strftime("%-d %b %Y %H:%M") if row.decided_at else "",
                "Reason": row.reason or "",
                "Counted in the views": f"v{row.signed_off_version}" if row.signed_off_version else "none yet",
            }
            for row in rows
        ],
        hide_index=True,
        width="stretch",
    )
    sent_back = [row for row in rows if row.state == RETURNED]
    for row in sent_back:
        st.warning(
            escape_markdown(
                f"{row.team} {row.quarter} version {row.version} was sent back by {row.decided_by}. "
                "Correct the return and upload it again; the reason is in the table above."
            ),
            icon=":material/undo:",
        )


def may_decide(principal: Principal) -> bool:
    """Whether to show the sign-off section (presentation only: the domain checks every decision again)."""
    return signoff_on() and principal.role in DECIDING_ROLES


def _decide(principal: Principal, row: SignoffRow, reason: str | None) -> None:
    if reason is None:
        done = sign_off_return(principal, row.team_ref, row.quarter, row.version)
        message = f"Signed off {row.team} {row.quarter} version {row.version}: it now counts in the views."
    else:
        done = send_back_return(principal, row.team_ref, row.quarter, reason, row.version)
        message = (
            f"Returned {row.team} {row.quarter} version {row.version} to the team; its leads are emailed the reason."
        )
    if done:
        st.session_state[FLASH_KEY] = message
        st.rerun()


def signoff_section(principal: Principal) -> None:
    """An approver's (or administrator's) list of their teams' returns awaiting sign-off, each with its actions."""
    if not may_decide(principal):
        return
    st.header("Sign-off")
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(escape_markdown(flash), icon=":material/check_circle:")
    everyone = principal.role == "administrator"
    waiting = [
        row for row in load_signoff_rows() if row.state == AWAITING and (everyone or row.team_ref in principal.teams)
    ]
    if not waiting:
        st.caption("No return of your teams is awaiting sign-off.")
        return
    st.caption(
        f"{_count(len(waiting), 'return')} awaiting your sign-off. Signing off makes a return count in the views; "
        "returning it sends the reason to the team's leads."
    )
    for row in waiting:
        with st.container(border=True):
            earlier = (
                f" Version {row.signed_off_version} is signed off and counts until this one is."
                if row.signed_off_version
                else ""
            )
            st.markdown(
                f"**{escape_markdown(row.team)}**, {escape_markdown(row.quarter)}, version {row.version}: "
                f"uploaded by {escape_markdown(row.uploaded_by)} on {row.uploaded_at:%-d %b %Y %H:%M}.{earlier}"
            )
            # Labels are markdown: the team's name is escaped like any other text from the database.
            if st.button(
                escape_markdown(f"Sign off {row.team} {row.quarter}"),
                key=f"signoff_{row.return_id}",
                type="primary",
                icon=":material/verified:",
            ):
                _decide(principal, row, None)
            with st.form(f"send_back_{row.return_id}"):
                reason = st.text_area(
                    escape_markdown(f"Why is {row.team} {row.quarter} sent back?"),
                    key=f"reason_{row.return_id}",
                    help="Required: the team's leads get it by email and see it on this page.",
                    max_chars=2000,
                )
                if st.form_submit_button(
                    escape_markdown(f"Return {row.team} {row.quarter} to the team"), icon=":material/undo:"
                ):
                    _decide(principal, row, reason)


__all__ = [
    "AWAITING",
    "INCLUDE_AWAITING_PARAM",
    "RETURNED",
    "SIGNED_OFF",
    "SWITCH_LABEL",
    "awaiting_note",
    "counted_note",
    "load_approvers",
    "load_signoff_rows",
    "may_decide",
    "signoff_on",
    "signoff_section",
    "state_text",
    "team_states",
    "view_switch",
]
