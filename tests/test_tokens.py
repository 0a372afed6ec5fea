"""Data API tokens: issued with a scope and an expiry, stored hashed, revocable, every use audited; the commands."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from cyp.access.permissions import SYSTEM, PermissionDenied, Principal
from cyp.access.tokens import (
    TokenError,
    TokenRefused,
    bearer_secret,
    check_token,
    issue_token,
    list_tokens,
    record_use,
    revoke_token,
    token_state,
)
from cyp.cli import cli
from cyp.storage.db import dispose_engines, read_session, write_session
from cyp.storage.models import ApiToken, AuditEvent
from tests.returns_factory import build_framework

pytestmark = pytest.mark.both_databases

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(engine: Engine) -> Engine:
    with write_session(engine) as session:
        build_framework(session)
    return engine


def issue(engine: Engine, name: str = "Power BI", **options) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    with write_session(engine) as session:
        token, secret = issue_token(session, SYSTEM, name, now=T0, **options)
        return token.id, secret


def test_a_token_is_stored_only_as_a_hash_and_its_scope_is_kept(db: Engine):
    token_id, secret = issue(db, plans=["T2023"], include_commentary=True, days=30)
    assert secret.startswith("cyp_") and len(secret) >= 40
    with read_session(db) as session:
        stored = session.get(ApiToken, token_id)
        assert stored.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in repr([getattr(stored, c.key) for c in ApiToken.__table__.columns])
        assert stored.prefix == secret[:12]
        trail = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "token.issue")))
        assert secret not in " ".join(f"{e.target} {e.detail}" for e in trail)
        scope = check_token(session, secret, now=T0 + timedelta(days=1))
    assert (scope.plans, scope.include_commentary, scope.name) == (frozenset({"T2023"}), True, "Power BI")
    assert scope.allows_plan("T2023") and not scope.allows_plan("T2019")
    with pytest.raises(TokenRefused) as refused:
        scope.check_plan("T2019")
    assert (refused.value.status, refused.value.code) == (403, "plan_not_in_scope")


def test_every_plan_when_none_is_named(db: Engine):
    _, secret = issue(db)
    with read_session(db) as session:
        scope = check_token(session, secret, now=T0)
    assert scope.allows_plan("T2019") and scope.allows_plan("T2023") and not scope.include_commentary


def test_expired_revoked_and_unknown_tokens_are_refused(db: Engine):
    token_id, secret = issue(db, days=30)
    with read_session(db) as session:
        with pytest.raises(TokenRefused) as expired:
            check_token(session, secret, now=T0 + timedelta(days=30))
        with pytest.raises(TokenRefused) as unknown:
            check_token(session, secret[:-1] + ("A" if secret[-1] != "A" else "B"), now=T0)
    assert (expired.value.status, expired.value.code) == (401, "token_expired")
    assert "expired on 2026-12-23" in expired.value.message
    assert (unknown.value.status, unknown.value.code) == (401, "token_unknown")
    with write_session(db) as session:
        revoked = revoke_token(session, SYSTEM, token_id)
        assert token_state(revoked) == "revoked"
    with read_session(db) as session, pytest.raises(TokenRefused) as refused:
        check_token(session, secret, now=T0)
    assert (refused.value.status, refused.value.code) == (401, "token_revoked")


def test_the_bearer_header_is_required():
    assert bearer_secret("Bearer cyp_abc") == "cyp_abc"
    assert bearer_secret("bearer  cyp_abc ") == "cyp_abc"
    for header in (None, "", "Basic dXNlcg==", "Bearer", "cyp_abc"):
        with pytest.raises(TokenRefused) as refused:
            bearer_secret(header)
        assert (refused.value.status, refused.value.code) == (401, "token_missing")


def test_issuing_checks_what_it_is_given(db: Engine):
    for options, message in [
        ({"plans": ["T2099"]}, "There is no plan T2099; the plans are T2019, T2023"),
        ({"days": 0}, "from 1 to 366 days"),
        ({"days": 400}, "from 1 to 366 days"),
    ]:
        with pytest.raises(TokenError, match=message), write_session(db) as session:
            issue_token(session, SYSTEM, "Power BI", **options)
    with pytest.raises(TokenError, match="name of 1 to 100"), write_session(db) as session:
        issue_token(session, SYSTEM, "   ")
    with pytest.raises(TokenError, match="no token '99'"), write_session(db) as session:
        revoke_token(session, SYSTEM, 99)


def test_only_an_administrator_may_issue(db: Engine):
    with write_session(db) as session:
        from cyp.access.accounts import create_user

        create_user(session, SYSTEM, "vic", "viewer")
    with pytest.raises(PermissionDenied), write_session(db) as session:
        issue_token(session, Principal("vic", "viewer"), "Power BI")
    with read_session(db) as session:
        assert list_tokens(session) == []


def test_each_use_is_audited_and_noted_on_the_token(db: Engine):
    token_id, secret = issue(db)
    with read_session(db) as session:
        scope = check_token(session, secret, now=T0)
    with write_session(db) as session:
        record_use(session, "/api/v1/report?quarter=2025-26+Q3", scope=scope, now=T0 + timedelta(hours=1))
        record_use(session, "/api/v1/report", refused=TokenRefused(401, "token_unknown", "not known"), now=T0)
    with read_session(db) as session:
        assert session.get(ApiToken, token_id).last_used_at.replace(tzinfo=UTC) == T0 + timedelta(hours=1)
        uses = [
            (e.actor, e.outcome, e.target)
            for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "api.read").order_by(AuditEvent.id))
        ]
    assert uses == [
        (f"token:{secret[:12]}", "ok", "/api/v1/report?quarter=2025-26+Q3"),
        ("token:unknown", "refused", "/api/v1/report"),
    ]


@pytest.fixture
def cli_db(db: Engine) -> Iterator[Engine]:
    dispose_engines()
    yield db
    dispose_engines()


def test_token_commands(cli_db: Engine):
    runner = CliRunner()
    issued = runner.invoke(cli, ["token", "issue", "Power BI", "--plan", "T2023", "--days", "30"])
    assert issued.exit_code == 0, issued.output
    first, second = issued.output.splitlines()[:2]
    assert first.startswith("Issued token 1 (Power BI): plans T2023; commentary left out; expires ")
    secret = issued.output.splitlines()[2].strip()
    assert second.startswith("Secret (shown only now") and secret.startswith("cyp_")
    with read_session(cli_db) as session:
        assert check_token(session, secret).plans == frozenset({"T2023"})
    assert runner.invoke(cli, ["token", "issue", "R", "--commentary"]).exit_code == 0
    listed = runner.invoke(cli, ["token", "list"])
    assert listed.exit_code == 0 and secret not in listed.output
    rows = listed.output.splitlines()
    assert rows[0].split() == ["id", "token", "name", "plans", "commentary", "expires", "state", "last", "used"]
    assert "R" in rows[2] and "all" in rows[2] and "yes" in rows[2] and "active" in rows[2]
    assert "Power BI" in rows[3] and "T2023" in rows[3] and "active" in rows[3]
    assert runner.invoke(cli, ["token", "revoke", "1"]).output.strip() == "Revoked token 1 (Power BI)."
    assert "revoked" in runner.invoke(cli, ["token", "list"]).output.splitlines()[3]
    bad = runner.invoke(cli, ["token", "issue", "X", "--plan", "nope"])
    assert bad.exit_code == 1 and "There is no plan nope" in bad.output and "Traceback" not in bad.output
    for command in ("issue", "list", "revoke"):
        helped = runner.invoke(cli, ["token", command, "--help"])
        assert helped.exit_code == 0 and f"python -m cyp token {command}" in helped.output
