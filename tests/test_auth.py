"""Accounts, sign-in, OIDC mapping, the permission check and the user commands."""

from __future__ import annotations

import getpass
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import Engine, select

from cyp.access import accounts, signin
from cyp.access.accounts import (
    AccountError,
    create_demo_accounts,
    create_user,
    disable_user,
    enable_user,
    first_admin_instruction,
    list_users,
    remove_demo_accounts,
    set_password,
    set_role,
    set_teams,
)
from cyp.access.permissions import SYSTEM, PermissionDenied, Principal, can_view_page, require, system_acting_for
from cyp.access.signin import client_address, principal_for_oidc, sign_in_with_password
from cyp.cli import cli
from cyp.storage.db import dispose_engines, read_session, write_session
from cyp.storage.models import AuditEvent, Partner, SignInCounter, User

pytestmark = pytest.mark.both_databases

PASSWORD = "correct horse battery"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(engine: Engine) -> Engine:
    """A database with three teams and one account per role (no passwords, so no hashing cost)."""
    with write_session(engine) as session:
        session.add_all(
            [
                Partner(ref="FS", name="Family Services"),
                Partner(ref="EH", name="Early Help"),
                Partner(ref="YS", name="Youth Service"),
            ]
        )
        session.flush()
        create_user(session, SYSTEM, "ada", "administrator", email="Ada@Barnet.gov.uk")
        create_user(session, SYSTEM, "lee", "lead", teams=["FS", "EH"], email="lee@barnet.gov.uk")
        create_user(session, SYSTEM, "vic", "viewer")
        create_user(session, SYSTEM, "dee", "display")
    return engine


def events(engine: Engine, **where: str) -> list[AuditEvent]:
    with read_session(engine) as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for column, value in where.items():
            query = query.where(getattr(AuditEvent, column) == value)
        return list(session.scalars(query))


def sign_in(
    engine: Engine, username: str, password: str, now: datetime, client: str = "192.0.2.1"
) -> signin.AuthResult:
    return sign_in_with_password(engine, username, password, client=client, now=now)


def counter(engine: Engine, scope: str, key: str) -> int:
    with read_session(engine) as session:
        found = session.get(SignInCounter, (scope, key))
        return found.failures if found is not None else 0


# A cheap argon2 hash, so that many parallel checks cost little (verifying uses the parameters in the hash).
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)


def principal(username: str) -> Principal:
    return {
        "ada": Principal("ada", "administrator", frozenset()),
        "lee": Principal("lee", "lead", frozenset({"FS", "EH"})),
        "vic": Principal("vic", "viewer", frozenset()),
        "dee": Principal("dee", "display", frozenset()),
    }[username]


def test_password_is_stored_only_as_an_argon2_hash(db: Engine):
    with write_session(db) as session:
        set_password(session, SYSTEM, "lee", PASSWORD)
    with read_session(db) as session:
        stored = session.scalar(select(User.password_hash).where(User.username == "lee"))
        trail = " ".join(f"{e.target} {e.detail}" for e in session.scalars(select(AuditEvent)))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored and "horse" not in stored
    assert "horse" not in trail
    assert PasswordHasher().verify(stored, PASSWORD)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("aaaaaaaaaaaaaaaa", "one character repeated"),
        ("password1234", "most common"),
        ("Password2026!", "most common"),
        ("qwertyuiopasdfgh".upper(), "most common"),
        ("Barnet123456!", "most common"),
        ("xx-lee-is-my-name", "contain the username"),
    ],
)
def test_obvious_passwords_are_refused(db: Engine, password: str, why: str):
    with pytest.raises(AccountError, match=why), write_session(db) as session:
        set_password(session, SYSTEM, "lee", password)


def test_the_common_password_list_is_shipped_as_data():
    common = accounts.common_passwords()
    assert len(common) > 2000 and "123456" in common and all(word == word.lower() for word in common)
    accounts.check_password("correct horse battery", "lee")


def test_short_password_is_refused_with_the_minimum(db: Engine):
    with pytest.raises(AccountError, match="at least 12 characters; this one has 5"), write_session(db) as session:
        set_password(session, SYSTEM, "lee", "short")


def test_sign_in_succeeds_with_teams_and_is_audited(db: Engine):
    with write_session(db) as session:
        set_password(session, SYSTEM, "lee", PASSWORD)
    result = sign_in(db, " Lee ", PASSWORD, T0)
    assert result.ok and result.principal == Principal("lee", "lead", frozenset({"FS", "EH"}))
    assert [(e.actor, e.outcome) for e in events(db, action="auth.signin")] == [("lee", "ok")]


def test_wrong_password_and_unknown_name_get_the_same_answer(db: Engine):
    with write_session(db) as session:
        set_password(session, SYSTEM, "lee", PASSWORD)
    wrong = sign_in(db, "lee", "not the password", T0)
    unknown = sign_in(db, "nobody", "not the password", T0)
    assert (wrong.status, wrong.message) == (unknown.status, unknown.message) == ("failed", signin.FAILED_MESSAGE)
    with read_session(db) as session:
        assert session.scalar(select(User.failed_attempts).where(User.username == "lee")) == 1
    assert [e.outcome for e in events(db, action="auth.signin")] == ["failed", "failed"]


@pytest.mark.parametrize(
    ("typed", "audited"),
    [
        ("lee\x00", "lee\\x00"),
        ("\x00", "\\x00"),
        ("l\x00ee", "l\\x00ee"),
        ("lee\x1b[2j", "lee\\x1b[2j"),
        ("lee\u200b", "lee\\u200b"),
    ],
)
def test_a_control_character_in_the_username_fails_cleanly_and_is_audited_escaped(db: Engine, typed: str, audited: str):
    with write_session(db) as session:
        set_password(session, SYSTEM, "lee", PASSWORD)
    result = sign_in(db, typed, PASSWORD, T0)
    assert (result.status, result.message, result.principal) == ("failed", signin.FAILED_MESSAGE, None)
    assert [(e.actor, e.target, e.outcome) for e in events(db, action="auth.signin")] == [
        (audited, f"user:{audited}", "failed")
    ]
    with read_session(db) as session:
        assert session.scalar(select(User.failed_attempts).where(User.username == "lee")) == 0


def test_a_nul_in_the_password_is_a_wrong_password(db: Engine):
    with write_session(db) as session:
        set_password(session, SYSTEM, "lee", PASSWORD)
    for password in (PASSWORD + "\x00", "\x00", PASSWORD[:5] + "\x00" + PASSWORD[5:]):
        assert sign_in(db, "lee", password, T0 + timedelta(hours=1)).status in ("failed", "locked")
    assert sign_in(db, "lee", PASSWORD, T0 + timedelta(hours=2)).ok
    assert [e.outcome for e in events(db, action="auth.signin")] == ["failed", "failed", "failed", "ok"]


def test_an_identity_provider_email_with_a_nul_has_no_access(db: Engine):
    with read_session(db) as session:
        assert principal_for_oidc(session, "lee@barnet.gov.uk\x00") is None
        assert principal_for_oidc(session, "lee@barnet.gov.uk").username == "lee"


def _five_failures(engine: Engine, username: str) -> list[tuple[str, int]]:
    """Five wrong passwords from five addresses, each after the previous slow-down has passed."""
    now, seen = T0, []
    for number in range(5):
        result = sign_in(engine, username, "not the password", now, client=f"198.51.100.{number}")
        seen.append((result.status, result.retry_after))
        now += timedelta(seconds=result.retry_after)
    return seen


def test_failures_slow_down_then_lock_and_the_lock_ends(db: Engine):
    with write_session(db) as session:
        set_password(session, SYSTEM, "lee", PASSWORD)
    assert _five_failures(db, "lee") == [("failed", 0), ("failed", 0), ("failed", 2), ("failed", 4), ("locked", 900)]
    locked_at = T0 + timedelta(seconds=6)
    during = sign_in(db, "lee", PASSWORD, locked_at + timedelta(minutes=5))
    assert (during.status, during.retry_after) == ("locked", 600)
    assert "10 minutes" in during.message
    after = sign_in(db, "lee", PASSWORD, locked_at + timedelta(minutes=15, seconds=1))
    assert after.ok
    with read_session(db) as session:
        user = session.scalar(select(User).where(User.username == "lee"))
        assert (user.failed_attempts, user.locked_until) == (0, None)
    assert [e.outcome for e in events(db, action="auth.signin")][-3:] == ["locked", "locked", "ok"]
    assert counter(db, "name", "lee") == 0


def test_a_name_with_no_account_locks_the_same_way(db: Engine):
    assert _five_failures(db, "nobody") == [("failed", 0), ("failed", 0), ("failed", 2), ("failed", 4), ("locked", 900)]
    assert sign_in(db, "nobody", PASSWORD, T0 + timedelta(minutes=1), client="203.0.113.9").status == "locked"


def test_real_and_unknown_names_forget_failures_after_the_same_quiet_window(db: Engine):
    with write_session(db) as session:
        set_password(session, SYSTEM, "lee", PASSWORD)
    window = timedelta(minutes=signin.rules()["window_minutes"])
    seen: dict[str, list[tuple[str, int]]] = {}
    for name in ("lee", "nobody"):
        now, client = T0, f"198.51.100.{len(seen)}"
        answers = []
        for _ in range(3):
            result = sign_in(db, name, "not the password", now, client=client)
            answers.append((result.status, result.retry_after))
            now += timedelta(seconds=result.retry_after)
        # Quiet for the window: the next failure is the first again (no slow-down), for both kinds of name.
        result = sign_in(db, name, "not the password", now + window, client=client)
        answers.append((result.status, result.retry_after))
        seen[name] = answers
        assert counter(db, "name", name) == 1
    assert seen["lee"] == seen["nobody"] == [("failed", 0), ("failed", 0), ("failed", 2), ("failed", 0)]


def test_too_quick_an_attempt_is_not_checked(db: Engine):
    with write_session(db) as session:
        set_password(session, SYSTEM, "lee", PASSWORD)
    for _ in range(3):
        sign_in(db, "lee", "not the password", T0)
    early = sign_in(db, "lee", PASSWORD, T0 + timedelta(seconds=1))
    assert (early.status, early.retry_after) == ("locked", 1)
    assert counter(db, "name", "lee") == 3  # not counted: it was not checked


def test_one_address_is_stopped_before_it_can_lock_an_account(db: Engine):
    with write_session(db) as session:
        set_password(session, SYSTEM, "lee", PASSWORD)
    rules = signin.rules()
    attacker, now = "203.0.113.66", T0
    # Several rounds: each time the address is stopped, then waits out its block and tries again.
    for _round in range(3):
        answers = []
        for _ in range(rules["client_lock_after"] + 2):
            result = sign_in(db, "lee", "not the password", now, client=attacker)
            answers.append(result.status)
            now += timedelta(seconds=result.retry_after if result.status == "failed" else 1)
        assert answers[-3:] == ["locked", "locked", "locked"]
        assert counter(db, "name", "lee") < rules["lock_after"]
        # Meanwhile the owner, elsewhere, signs in: all one address causes is the name's slow-down, a few seconds.
        now += timedelta(seconds=2 ** (rules["client_lock_after"] - rules["slow_down_after"]))
        assert sign_in(db, "lee", PASSWORD, now, client="192.0.2.7").ok
        now += timedelta(minutes=rules["client_lock_minutes"], seconds=1)
    assert sign_in(db, "lee", PASSWORD, now, client=attacker).ok


def test_one_address_cannot_lock_many_accounts(db: Engine):
    with write_session(db) as session:
        for name in ("lee", "vic", "dee"):
            set_password(session, SYSTEM, name, PASSWORD)
    names = ["lee", "vic", "dee", "ada", "lee", "vic", "dee", "ada"]
    statuses = [sign_in(db, name, "not the password", T0, client="203.0.113.66").status for name in names]
    limit = signin.rules()["client_lock_after"]
    assert statuses == ["failed"] * (limit - 1) + ["locked"] * (len(names) - limit + 1)
    assert sign_in(db, "vic", PASSWORD, T0, client="203.0.113.66").status == "locked"
    for name in ("lee", "vic", "dee"):
        assert sign_in(db, name, PASSWORD, T0, client="192.0.2.8").ok
    details = [e.detail for e in events(db, action="auth.signin", outcome="locked")]
    assert all("from 203.0.113.66" in detail for detail in details)


def test_a_success_takes_back_the_failure_counted_in_advance(db: Engine):
    with write_session(db) as session:
        set_password(session, SYSTEM, "lee", PASSWORD)
    for second in range(6):
        assert sign_in(db, "lee", PASSWORD, T0 + timedelta(seconds=second)).ok
    assert counter(db, "client", "192.0.2.1") == 0


def test_the_client_address_trusts_only_the_configured_proxies():
    assert client_address("10.0.0.5", "203.0.113.1, 10.0.0.2", trusted_hops=0) == "10.0.0.5"
    assert client_address("10.0.0.5", "198.51.100.4, 203.0.113.1", trusted_hops=1) == "203.0.113.1"
    assert client_address("10.0.0.5", "198.51.100.4, 203.0.113.1", trusted_hops=2) == "198.51.100.4"
    # A client cannot choose its own address by sending more entries than there are proxies.
    assert client_address("10.0.0.5", "1.2.3.4, 198.51.100.4, 203.0.113.1", trusted_hops=1) == "203.0.113.1"
    assert client_address("10.0.0.5", "203.0.113.1", trusted_hops=3) == "203.0.113.1"
    assert client_address("10.0.0.5", "not-an-address", trusted_hops=1) == "10.0.0.5"
    assert client_address("not-an-address", None, trusted_hops=0) == "unknown"
    # A connection from this machine (Streamlit says None) is a proxy on the same host: one hop is trusted.
    assert client_address(None, None, trusted_hops=0) == "localhost"
    assert client_address(None, "203.0.113.1", trusted_hops=0) == "203.0.113.1"
    assert client_address("127.0.0.1", "198.51.100.4, 203.0.113.1", trusted_hops=0) == "203.0.113.1"
    assert client_address("::1", None, trusted_hops=0) == "::1"


def _parallel(engine: Engine, attempts: int, clients: list[str]) -> list[signin.AuthResult]:
    """``attempts`` wrong passwords for lee at the same moment, each in its own thread with its own sessions."""
    start = threading.Barrier(attempts)

    def attempt(number: int) -> signin.AuthResult:
        start.wait()
        return sign_in(engine, "lee", "not the password", T0, client=clients[number % len(clients)])

    with ThreadPoolExecutor(attempts) as pool:
        return list(pool.map(attempt, range(attempts)))


def test_parallel_wrong_passwords_are_all_counted(db: Engine, monkeypatch: pytest.MonkeyPatch):
    with write_session(db) as session:
        session.scalar(select(User).where(User.username == "lee")).password_hash = CHEAP_HASHER.hash(PASSWORD)
    # Limits above the number of attempts, so that every one of them is checked and counted.
    generous = signin.sign_in_rules() | {"slow_down_after": 50, "lock_after": 60, "client_lock_after": 40}
    monkeypatch.setattr(signin, "sign_in_rules", lambda: generous)
    results = _parallel(db, 20, ["198.51.100.1"])
    assert [result.status for result in results] == ["failed"] * 20
    assert counter(db, "name", "lee") == counter(db, "client", "198.51.100.1") == 20
    with read_session(db) as session:
        assert session.scalar(select(User.failed_attempts).where(User.username == "lee")) == 20
    assert len(events(db, action="auth.signin", outcome="failed")) == 20


def test_parallel_wrong_passwords_from_many_addresses_get_only_the_allowed_guesses(db: Engine):
    with write_session(db) as session:
        session.scalar(select(User).where(User.username == "lee")).password_hash = CHEAP_HASHER.hash(PASSWORD)
    lock_after = signin.rules()["lock_after"]
    results = _parallel(db, 20, [f"198.51.100.{number}" for number in range(20)])
    trail = events(db, action="auth.signin")
    checked = [event for event in trail if "failed in a row" in (event.detail or "")]
    counted = counter(db, "name", "lee")
    # Every attempt is audited; attempts that reached the counter were all counted, and only the first
    # `lock_after` of them were checked (the rest arrived while the name was slowed down or locked).
    assert len(trail) == 20 and [result.status for result in results].count("ok") == 0
    assert len(checked) == min(counted, lock_after)
    with read_session(db) as session:
        assert session.scalar(select(User.failed_attempts).where(User.username == "lee")) == counted
    later = sign_in(db, "lee", PASSWORD, T0 + timedelta(seconds=30), client="192.0.2.9")
    assert later.status == ("locked" if counted >= lock_after else "ok")


def test_the_password_is_checked_outside_the_write_lock(db: Engine, monkeypatch: pytest.MonkeyPatch):
    with write_session(db) as session:
        set_password(session, SYSTEM, "lee", PASSWORD)
    checking, release = threading.Event(), threading.Event()
    real_verify = signin._verify

    def slow_verify(password_hash: str | None, password: str) -> bool:
        checking.set()
        release.wait(10)
        return real_verify(password_hash, password)

    monkeypatch.setattr(signin, "_verify", slow_verify)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(sign_in, db, "lee", PASSWORD, T0)
        assert checking.wait(10)
        # While the password is being checked, another write goes through at once.
        started = datetime.now(UTC)
        with write_session(db) as session:
            session.add(Partner(ref="NEW", name="Written during the check"))
        assert (datetime.now(UTC) - started).total_seconds() < 2
        release.set()
        assert pending.result(10).ok


def test_disabled_account_is_refused_only_with_the_right_password(db: Engine):
    with write_session(db) as session:
        set_password(session, SYSTEM, "vic", PASSWORD)
        disable_user(session, SYSTEM, "vic")
    assert sign_in(db, "vic", "not the password", T0).status == "failed"
    result = sign_in(db, "vic", PASSWORD, T0)
    assert (result.status, result.principal) == ("disabled", None)


def test_an_old_hash_is_upgraded_at_sign_in(db: Engine):
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with write_session(db) as session:
        session.scalar(select(User).where(User.username == "vic")).password_hash = weak
    assert sign_in(db, "vic", PASSWORD, T0).ok
    with read_session(db) as session:
        upgraded = session.scalar(select(User.password_hash).where(User.username == "vic"))
    assert upgraded != weak and not PasswordHasher().check_needs_rehash(upgraded)


def test_oidc_users_get_role_and_teams_by_email(db: Engine):
    with write_session(db) as session:
        assert principal_for_oidc(session, "ada@barnet.gov.uk") == principal("ada")
        assert principal_for_oidc(session, " LEE@Barnet.gov.uk ") == principal("lee")
        assert principal_for_oidc(session, "stranger@barnet.gov.uk") is None
        assert principal_for_oidc(session, None) is None
        disable_user(session, SYSTEM, "lee")
        assert principal_for_oidc(session, "lee@barnet.gov.uk") is None


ALLOWED = {
    # permission: usernames allowed (lee is a lead of FS and EH; the team asked for is FS unless noted)
    "view": {"ada", "lee", "vic", "dee"},
    "return.submit": {"ada", "lee"},
    "framework.import": {"ada"},
    "user.manage": {"ada"},
    "assignment.manage": {"ada"},
    "deadline.manage": {"ada"},
    "demo.manage": {"ada"},
    "token.manage": {"ada"},
}
CASES = [(permission, name, "FS") for permission in ALLOWED for name in ("ada", "lee", "vic", "dee")]
CASES.append(("return.submit", "lee", "YS"))  # a lead of another team


def test_require_for_every_permission_and_role(db: Engine):
    # One database for every case (a fresh one each would cost more than the checks): each case
    # looks only at the rows it adds.
    for number, (permission, username, team) in enumerate(CASES):
        case = f"{username} {permission} {team}"
        allowed = username in ALLOWED[permission] and (team != "YS" or username == "ada")
        before = len(events(db))
        if allowed:
            with write_session(db) as session:
                require(session, principal(username), permission, team_ref=team)
                session.add(Partner(ref=f"OK{number}", name=f"Written after the check {number}"))
            assert len(events(db)) == before, case
            continue
        with pytest.raises(PermissionDenied) as refusal, write_session(db) as session:
            session.add(Partner(ref="NEW", name="Written before the check"))
            session.flush()
            require(session, principal(username), permission, team_ref=team, target="record 1")
            session.add(Partner(ref="NEVER", name="Never written"))
        assert str(refusal.value).startswith("You may not "), case
        with read_session(db) as session:
            assert session.scalar(select(Partner.id).where(Partner.ref.in_(["NEW", "NEVER"]))) is None, case
        stored = events(db)[before:]
        assert [(e.actor, e.action, e.outcome, e.target) for e in stored] == [
            (username, permission, "refused", "record 1")
        ], case
        assert stored[0].detail == str(refusal.value), case


def test_lead_of_another_team_is_told_why(db: Engine):
    expected = "submit a return for team YS: lee is not a member of team YS"
    with pytest.raises(PermissionDenied, match=expected), write_session(db) as session:
        require(session, principal("lee"), "return.submit", team_ref="YS")


def test_a_refusal_the_caller_commits_is_stored_once(db: Engine):
    with write_session(db) as session:
        with pytest.raises(PermissionDenied):
            require(session, principal("vic"), "user.manage")
        session.add(Partner(ref="NEW", name="Stored with the refusal"))
    assert [e.actor for e in events(db, outcome="refused")] == ["vic"]


def test_a_refusal_inside_a_rolled_back_savepoint_is_kept(db: Engine):
    with write_session(db) as session, pytest.raises(PermissionDenied), session.begin_nested():
        require(session, principal("vic"), "user.manage")
    assert [e.actor for e in events(db, outcome="refused")] == ["vic"]


def test_require_judges_the_account_as_it_is_now(db: Engine):
    stale = principal("lee")  # signed in as a lead of FS; since then disabled
    with write_session(db) as session:
        disable_user(session, principal("ada"), "lee")
    with pytest.raises(PermissionDenied, match="disabled"), write_session(db) as session:
        require(session, stale, "return.submit", team_ref="FS")
    forged = Principal("mallory", "administrator", frozenset())
    with pytest.raises(PermissionDenied, match="no account named mallory"), write_session(db) as session:
        require(session, forged, "user.manage")


def test_unknown_permission_is_a_programming_error(db: Engine):
    with pytest.raises(ValueError, match="unknown permission"), read_session(db) as session:
        require(session, SYSTEM, "return.delete")


def test_principal_helpers():
    assert principal("lee").can_submit_for("FS") and not principal("lee").can_submit_for("YS")
    assert principal("ada").can_submit_for("YS")
    assert not principal("vic").can_submit_for("FS") and not principal("dee").can_submit_for("FS")
    assert SYSTEM.is_system and SYSTEM.can_submit_for("YS")
    named = system_acting_for("command line, login root")
    assert (named.username, named.is_system, named.can_submit_for("YS")) == (
        "system (command line, login root)",
        True,
        True,
    )


def test_page_access_by_role():
    pages = ("overview", "upload", "admin", "display")
    names = ("ada", "lee", "vic", "dee")
    seen = {name: [page for page in pages if can_view_page(principal(name), page)] for name in names}
    assert seen == {
        "ada": ["overview", "upload", "admin", "display"],
        "lee": ["overview", "upload", "display"],
        "vic": ["overview", "display"],
        "dee": ["display"],
    }


def test_user_changes_are_audited_with_actor_and_target(db: Engine):
    admin = principal("ada")
    with write_session(db) as session:
        create_user(session, admin, "Sam.Jones", "viewer", display_name="Sam Jones")
        set_role(session, admin, "sam.jones", "lead")
        set_teams(session, admin, "sam.jones", ["ys", "FS"])
        disable_user(session, admin, "sam.jones")
        enable_user(session, admin, "sam.jones")
    trail = [(e.actor, e.action, e.target, e.detail) for e in events(db, actor="ada")]
    assert trail == [
        ("ada", "user.add", "user:sam.jones", "role viewer; teams none"),
        ("ada", "user.set_role", "user:sam.jones", "role viewer -> lead"),
        ("ada", "user.set_teams", "user:sam.jones", "teams none -> FS, YS"),
        ("ada", "user.disable", "user:sam.jones", None),
        ("ada", "user.enable", "user:sam.jones", None),
    ]
    with read_session(db) as session:
        sam = next(user for user in list_users(session) if user.username == "sam.jones")
        assert (sam.role, sam.is_active, sorted(t.ref for t in sam.teams)) == ("lead", True, ["FS", "YS"])


def test_a_lead_cannot_manage_users_and_nothing_changes(db: Engine):
    with pytest.raises(PermissionDenied, match="manage user accounts"), write_session(db) as session:
        set_role(session, principal("lee"), "lee", "administrator")
    with read_session(db) as session:
        assert session.scalar(select(User.role).where(User.username == "lee")) == "lead"
    assert [(e.action, e.outcome, e.target) for e in events(db, actor="lee")] == [
        ("user.manage", "refused", "user:lee")
    ]


def test_account_errors_are_clear(db: Engine):
    cases = [
        (lambda s: create_user(s, SYSTEM, "ada", "viewer"), "already exists"),
        (lambda s: create_user(s, SYSTEM, "x y", "viewer"), "not a valid username"),
        (lambda s: create_user(s, SYSTEM, "newbie", "boss"), "'boss' is not a role"),
        (lambda s: create_user(s, SYSTEM, "newbie", "viewer", email="ADA@barnet.gov.uk"), "already has the email"),
        (lambda s: set_teams(s, SYSTEM, "lee", ["FS", "XX"]), r"Unknown team 'XX'\. Give a team by its name or ref"),
        (lambda s: disable_user(s, SYSTEM, "ghost"), "no account named 'ghost'"),
        (lambda s: disable_user(s, SYSTEM, "ada"), "only active administrator"),
        (lambda s: set_role(s, SYSTEM, "ada", "viewer"), "only active administrator"),
    ]
    for change, message in cases:
        with pytest.raises(AccountError, match=message), write_session(db) as session:
            change(session)


def test_first_sign_in_needs_an_administrator_made_on_the_server(engine: Engine):
    with write_session(engine) as session:
        assert accounts.FIRST_ADMIN_COMMAND in first_admin_instruction(session)
        create_user(session, SYSTEM, "first", "administrator")
        assert first_admin_instruction(session) is None


def test_demo_accounts_have_random_passwords_and_can_be_removed(db: Engine):
    with write_session(db) as session:
        accounts = create_demo_accounts(session)
    assert [(name, role) for name, _, role in accounts] == [
        ("demo-admin", "administrator"),
        ("demo-lead", "lead"),
        ("demo-viewer", "viewer"),
        ("demo-display", "display"),
    ]
    passwords = [password for _, password, _ in accounts]
    assert len(set(passwords)) == 4 and min(len(password) for password in passwords) >= 12
    lead_password = passwords[1]
    result = sign_in(db, "demo-lead", lead_password, T0)
    assert result.ok and len(result.principal.teams) == 2
    with write_session(db) as session:
        assert remove_demo_accounts(session) == 4
    with read_session(db) as session:
        assert [user.username for user in list_users(session)] == ["ada", "dee", "lee", "vic"]


@pytest.fixture
def cli_db(db: Engine) -> Iterator[Engine]:
    """The test database, with the CLI's process-wide engine cache emptied around the test."""
    dispose_engines()
    yield db
    dispose_engines()


def test_cli_user_commands(cli_db: Engine):
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["user", "add", "jo", "--role", "lead", "--team", "FS", "--email", "jo@barnet.gov.uk", "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "Added jo (lead; teams FS)."
    prompted = runner.invoke(cli, ["user", "add", "kim", "--role", "viewer"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output
    listed = runner.invoke(cli, ["user", "list"])
    assert listed.exit_code == 0
    rows = {line.split()[0]: line for line in listed.output.splitlines()[2:]}
    assert sorted(rows) == ["ada", "dee", "jo", "kim", "lee", "vic"]
    assert "FS" in rows["jo"] and "jo@barnet.gov.uk" in rows["jo"]
    assert runner.invoke(cli, ["user", "disable", "jo"]).output.strip() == "Disabled jo."
    assert "disabled" in runner.invoke(cli, ["user", "list"]).output.splitlines()[4]
    assert runner.invoke(cli, ["user", "enable", "jo"]).exit_code == 0
    changed = runner.invoke(cli, ["user", "set-password", "jo", "--password-stdin"], input="another long password\n")
    assert changed.exit_code == 0, changed.output
    assert sign_in(cli_db, "jo", "another long password", T0).ok
    unknown = runner.invoke(cli, ["user", "set-teams", "jo", "Family Services", "Yuoth Service", "NOPE"])
    assert unknown.exit_code == 1
    assert "Error: Unknown team 'Yuoth Service' (did you mean Youth Service?), 'NOPE'. Give a team" in unknown.output
    assert "Traceback" not in unknown.output
    assert runner.invoke(cli, ["user", "set-teams", "jo", "--none"]).output.strip() == "jo now belongs to no team."
    assert runner.invoke(cli, ["user", "set-role", "jo", "viewer"]).output.strip() == "jo is now a viewer."
    short = runner.invoke(cli, ["user", "set-password", "jo", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    trail = [(e.actor, e.action) for e in events(cli_db, target="user:jo")]
    # The commands act as the system, named in the trail for whoever ran them.
    system = f"system (command line, login {getpass.getuser()})"
    assert trail[:2] == [(system, "user.add"), (system, "user.disable")]


def test_cli_user_help_has_examples_and_no_password_option():
    for command in ("add", "list", "disable", "enable", "set-password", "set-teams", "set-role"):
        result = CliRunner().invoke(cli, ["user", command, "--help"])
        assert result.exit_code == 0 and f"python -m cyp user {command}" in result.output
        assert "--password " not in result.output


@pytest.mark.postgres
def test_refusal_survives_the_rollback_on_postgresql(postgres_engine: Engine):
    with write_session(postgres_engine) as session:
        session.add(Partner(ref="FS", name="Family Services"))
        create_user(session, SYSTEM, "lee", "lead", teams=["FS"], email="Lee@Barnet.gov.uk")
    with pytest.raises(PermissionDenied), write_session(postgres_engine) as session:
        session.add(Partner(ref="NEW", name="Written before the check"))
        session.flush()
        require(session, principal("lee"), "return.submit", team_ref="YS")
    with read_session(postgres_engine) as session:
        assert session.scalar(select(Partner.id).where(Partner.ref == "NEW")) is None
        refused = [
            (e.actor, e.action, e.target)
            for e in session.scalars(select(AuditEvent).where(AuditEvent.outcome == "refused"))
        ]
        assert refused == [("lee", "return.submit", "team:YS")]
        assert principal_for_oidc(session, "lee@barnet.GOV.uk") == Principal("lee", "lead", frozenset({"FS"}))


def test_a_demo_administrator_still_leaves_the_real_first_administrator_instruction(engine: Engine):
    with write_session(engine) as session:
        create_demo_accounts(session)
        instruction = first_admin_instruction(session)
        assert "Only the demo administrator exists" in instruction and accounts.FIRST_ADMIN_COMMAND in instruction
        create_user(session, SYSTEM, "real.admin", "administrator")
        assert first_admin_instruction(session) is None


def test_what_demo_accounts_create_is_demo_data_and_goes_with_it(engine: Engine):
    from cyp.demo import tear_down_demo
    from cyp.returns.ingest import ingest_return
    from cyp.storage.models import Return
    from tests.returns_factory import build_framework, build_return, with_line

    with write_session(engine) as session:
        build_framework(session)
        create_demo_accounts(session)
    real = ingest_return(
        build_return(), "fs.xlsx", system_acting_for("a real upload"), acknowledge_queries=True, engine=engine
    )
    assert real.accepted
    demo_lead = Principal("demo-lead", "lead", frozenset({"family-services", "public-health"}))
    changed = build_return(lines=with_line(0, **{"Progress update": "Changed by the demo lead"}))
    by_demo = ingest_return(changed, "fs2.xlsx", demo_lead, acknowledge_queries=True, engine=engine)
    assert by_demo.accepted and by_demo.version == 2
    with write_session(engine) as session:
        made = create_user(session, Principal("demo-admin", "administrator"), "made.by.demo", "viewer")
        assert made.is_demo
    with read_session(engine) as session:
        versions = {r.version: (r.is_demo, r.is_current) for r in session.scalars(select(Return))}
    assert versions == {1: (False, False), 2: (True, True)}
    with write_session(engine) as session:
        tear_down_demo(session)
    with read_session(engine) as session:
        versions = {r.version: (r.is_demo, r.is_current) for r in session.scalars(select(Return))}
        assert versions == {1: (False, True)}  # the real return counts again
        assert [user.username for user in list_users(session)] == []


def test_the_sign_in_page_never_shows_an_administrator_password(engine: Engine):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from cyp.admin import load_demo
    from cyp.bootstrap import initialise_database
    from cyp.storage.config import PROJECT_ROOT
    from cyp.ui.escaping import unescape_markdown

    initialise_database(engine)
    with write_session(engine) as session:
        _, demo_accounts = load_demo(session, SYSTEM, seed=3)
    passwords = {role: password for _, password, role in demo_accounts}
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    at.run()
    # What a reader sees: the markdown source with the escaping taken off (a password may hold "_" or "-").
    shown = unescape_markdown(" ".join(str(element.value) for element in [*at.info, *at.markdown]))
    assert passwords["administrator"] not in shown and "demo-admin" not in shown
    assert passwords["lead"] in shown and passwords["viewer"] in shown
    assert "Only the demo administrator exists" in shown
