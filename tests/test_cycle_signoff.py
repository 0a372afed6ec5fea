"""Sign-off: approvers of a team sign off or send back its returns; views can count only what is signed off."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from cyp.access.accounts import create_user
from cyp.access.permissions import SYSTEM, PermissionDenied, Principal
from cyp.cli import cli
from cyp.cycle.signoff import SignoffError, approvers_of, return_to_team, sign_off
from cyp.read import queries
from cyp.read.signoff import AWAITING, RETURNED, SIGNED_OFF, awaiting_signoff, signoff_rows, signoff_states
from cyp.storage.db import read_session, write_session
from cyp.storage.models import AuditEvent, MailSend, Partner
from tests.readside_factory import add_return
from tests.returns_factory import build_framework

pytestmark = pytest.mark.both_databases

APPROVER = Principal("d.okafor", "approver", frozenset({"family-services"}))


@pytest.fixture
def framework(engine: Engine) -> Engine:
    with write_session(engine) as session:
        build_framework(session)
        create_user(session, SYSTEM, "d.okafor", "approver", teams=["family-services"])
        create_user(session, SYSTEM, "h.patel", "approver", teams=["public-health"])
        create_user(session, SYSTEM, "a.lee", "lead", email="a.lee@example.org", teams=["family-services"])
        create_user(session, SYSTEM, "b.khan", "lead", email="b.khan@example.org", teams=["family-services"])
        add_return(session, "family-services", "2025-26 Q3", {"T23-1.1": "Green", "T23-1.2": "Amber"})
    return engine


def statuses(engine: Engine, **kw) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with read_session(engine) as session:
        rows = session.execute(queries.line_status_rows("T2023", "2025-26 Q3", **kw))
        return {row.ref: row.status for row in rows if row.ref.startswith("T23-1")}


def test_an_accepted_return_awaits_sign_off_until_an_approver_of_its_team_signs(framework: Engine) -> None:
    with read_session(framework) as session:
        [row] = awaiting_signoff(session, "2025-26 Q3")
        assert (row.team, row.version, row.state, row.signed_off_version) == ("Family Services", 1, AWAITING, None)
        family = session.scalar(select(Partner).where(Partner.ref == "family-services"))
        assert [u.username for u in approvers_of(session, family.id)] == ["d.okafor"]
    with write_session(framework) as session:
        sign_off(session, APPROVER, "Family Services", "2025-26 Q3")
    with read_session(framework) as session:
        [row] = signoff_rows(session, "2025-26 Q3")
        assert (row.state, row.decided_by, row.signed_off_version) == (SIGNED_OFF, "d.okafor", 1)
        assert awaiting_signoff(session) == []
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "return.signoff"))
        assert (event.actor, event.target, event.outcome) == ("d.okafor", "Family Services 2025-26 Q3 v1", "ok")


def test_only_approvers_of_the_team_or_administrators_may_decide_and_refusals_are_audited(framework: Engine) -> None:
    others = [
        Principal("h.patel", "approver", frozenset({"public-health"})),
        Principal("a.lee", "lead", frozenset({"family-services"})),
    ]
    for principal in others:
        with (
            pytest.raises(PermissionDenied, match="You may not sign off or return a return for team family-services"),
            write_session(framework) as session,
        ):
            sign_off(session, principal, "family-services", "2025-26 Q3")
    with read_session(framework) as session:
        refused = session.scalars(select(AuditEvent.actor).where(AuditEvent.outcome == "refused")).all()
        assert sorted(refused) == ["a.lee", "h.patel"]
        assert signoff_rows(session)[0].state == AWAITING


def test_sending_back_needs_a_reason_tells_the_leads_and_is_final_for_the_version(framework: Engine) -> None:
    with pytest.raises(SignoffError, match="Say why"), write_session(framework) as session:
        return_to_team(session, APPROVER, "Family Services", "2025-26 Q3", "   ")
    with write_session(framework) as session:
        return_to_team(session, APPROVER, "Family Services", "2025-26 Q3", "Line 1.2 needs a date")
    with read_session(framework) as session:
        [row] = signoff_rows(session)
        assert (row.state, row.reason) == (RETURNED, "Line 1.2 needs a date")
        keys = session.scalars(select(MailSend.key).order_by(MailSend.key)).all()
        users = dict(session.execute(select(MailSend.user_id, MailSend.kind)).all())
        assert len(keys) == 2 and all(key.startswith(f"returned:{row.return_id}:") for key in keys)
        assert set(users.values()) == {"returned"}
    with (
        pytest.raises(SignoffError, match="already returned to the team by d.okafor"),
        write_session(framework) as session,
    ):
        sign_off(session, APPROVER, "Family Services", "2025-26 Q3")
    with pytest.raises(SignoffError, match="version 3 is not the current version"), write_session(framework) as session:
        sign_off(session, SYSTEM, "Family Services", "2025-26 Q3", version=3)
    with (
        pytest.raises(SignoffError, match="Public Health has no return for 2025-26 Q3"),
        write_session(framework) as session,
    ):
        sign_off(session, SYSTEM, "Public Health", "2025-26 Q3")


def test_signed_off_views_keep_the_signed_version_while_a_newer_one_awaits(framework: Engine) -> None:
    with write_session(framework) as session:
        sign_off(session, APPROVER, "Family Services", "2025-26 Q3")
        add_return(session, "family-services", "2025-26 Q3", {"T23-1.1": "Red", "T23-1.2": "Green"})
    assert statuses(framework) == {"T23-1.1": "Red", "T23-1.2": "Green"}  # today's behaviour: the current version
    assert statuses(framework, signed_off_only=True) == {"T23-1.1": "Green", "T23-1.2": "Amber"}
    with read_session(framework) as session:
        [row] = signoff_rows(session)
        assert (row.version, row.state, row.signed_off_version) == (2, AWAITING, 1)
        counts = dict(
            (r.status, r.lines)
            for r in session.execute(queries.status_counts_by_outcome("T2023", "2025-26 Q3", signed_off_only=True))
        )
        assert counts["Green"] == 1 and counts["Amber"] == 1
    with write_session(framework) as session:
        sign_off(session, APPROVER, "Family Services", "2025-26 Q3")
    assert statuses(framework, signed_off_only=True) == {"T23-1.1": "Red", "T23-1.2": "Green"}


def test_nothing_signed_off_shows_as_no_return_in_signed_off_views(framework: Engine) -> None:
    assert statuses(framework, signed_off_only=True) == {"T23-1.1": "No return", "T23-1.2": "No return"}


def test_the_tracker_state_follows_the_setting(framework: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    with read_session(framework) as session:
        assert signoff_states(session, "2025-26 Q3") == {}
        monkeypatch.setenv("CYP_SIGNOFF", "1")
        assert signoff_states(session, "2025-26 Q3") == {"family-services": AWAITING}


def test_signoff_commands(framework: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # The commands act as the account --user names, with its permissions: d.okafor approves Family Services only.
    runner = CliRunner()
    listed = runner.invoke(cli, ["signoff", "list", "--quarter", "2025-26 Q3"])
    assert listed.exit_code == 0
    assert listed.output.startswith("Sign-off is switched off (CYP_SIGNOFF=0)")
    assert "2025-26 Q3  Family Services v1 (uploaded by test lead): awaiting sign-off\n1 return(s).\n" in listed.output
    monkeypatch.setenv("CYP_SIGNOFF", "1")
    sent_back = runner.invoke(
        cli,
        [
            "signoff",
            "return",
            "--team",
            "family-services",
            "--quarter",
            "2025-26 Q3",
            "--reason",
            "Add dates",
            "--user",
            "d.okafor",
        ],
    )
    assert sent_back.exit_code == 0, sent_back.output
    assert sent_back.output.endswith("(family-services, 2025-26 Q3): Add dates\n")
    bare = runner.invoke(cli, ["signoff", "approve", "--team", "family-services", "--quarter", "2025-26 Q3"])
    assert bare.exit_code == 2 and "give --user NAME" in bare.output
    again = runner.invoke(
        cli, ["signoff", "approve", "--team", "family-services", "--quarter", "2025-26 Q3", "--user", "d.okafor"]
    )
    assert again.exit_code == 1 and "already returned to the team by d.okafor" in again.output
    with write_session(framework) as session:
        add_return(session, "family-services", "2025-26 Q3", {"T23-1.1": "Green", "T23-1.2": "Green"})
    approved = runner.invoke(
        cli,
        [
            "signoff",
            "approve",
            "--team",
            "Family Services",
            "--quarter",
            "Q3 2025/26",
            "--version",
            "2",
            "--user",
            "d.okafor",
        ],
    )
    assert approved.exit_code == 0, approved.output
    listed = runner.invoke(cli, ["signoff", "list"])
    assert (
        listed.output
        == "2025-26 Q3  Family Services v2 (uploaded by test lead): signed-off by d.okafor\n1 return(s).\n"
    )
    assert runner.invoke(cli, ["signoff", "list", "--awaiting"]).output == "0 return(s).\n"
    unknown = runner.invoke(
        cli, ["signoff", "approve", "--team", "Famly Servces", "--quarter", "2025-26 Q3", "--as-system"]
    )
    assert unknown.exit_code == 1 and "did you mean Family Services?" in unknown.output


def test_the_submission_tracker_shows_the_sign_off_state(framework: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from cyp.read.tracker import submission_tracker

    def states() -> dict[str, str]:
        with read_session(framework) as session:
            return {row.team: row.signoff for row in submission_tracker(session, "2025-26 Q3")}

    assert states() == {"Family Services": "", "Public Health": ""}  # sign-off off: today's tracker
    monkeypatch.setenv("CYP_SIGNOFF", "1")
    assert states() == {"Family Services": AWAITING, "Public Health": ""}  # no return: nothing to sign
    with write_session(framework) as session:
        sign_off(session, APPROVER, "Family Services", "2025-26 Q3")
    assert states()["Family Services"] == SIGNED_OFF


def test_the_read_functions_take_signed_off_only(framework: Engine) -> None:
    from cyp.read.reports import exceptions, line_statuses, outcome_summary, status_report

    with write_session(framework) as session:
        sign_off(session, APPROVER, "Family Services", "2025-26 Q3")
        add_return(session, "family-services", "2025-26 Q3", {"T23-1.1": "Red", "T23-1.2": "Red"})
    with read_session(framework) as session:
        assert [line["status"] for line in status_report(session, "2025-26 Q3", "T2023")["lines"]][:2] == ["Red", "Red"]
        signed = status_report(session, "2025-26 Q3", "T2023", signed_off_only=True)
        assert [line["status"] for line in signed["lines"]][:2] == ["Green", "Amber"]
        frame = line_statuses(session, "2025-26 Q3", "T2023", signed_off_only=True)
        assert list(frame.loc[frame["ref"].str.startswith("T23-1"), "status"]) == ["Green", "Amber"]
        assert outcome_summary(session, "2025-26 Q3", "T2023", signed_off_only=True)["Red"].sum() == 0
        assert len(exceptions(session, "2025-26 Q3", "T2023")["red"]) == 2
        assert len(exceptions(session, "2025-26 Q3", "T2023", signed_off_only=True)["red"]) == 0
