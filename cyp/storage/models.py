"""SQLAlchemy models: the plan framework, returns, users and the audit trail.

Every framework record has a stable ``ref`` (``19-SS-1.2``) that never changes
when its wording is edited; returns and exports refer to lines by ref.

A *line* is what a team reports on each quarter: an :class:`Action`. In the
2019–23 plan these are the "What we are doing" rows; the 2023–27 summary lists
no actions, so an administrator adds actions or assigns a whole objective to a
team (an ``Action`` with ``whole_objective=True``, reported as the objective).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Timezone-aware now, for timestamps."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base for every table."""


action_partners = Table(
    "action_partners",
    Base.metadata,
    Column("action_id", ForeignKey("actions.id", ondelete="CASCADE"), primary_key=True),
    Column("partner_id", ForeignKey("partners.id", ondelete="RESTRICT"), primary_key=True),
    Column("position", Integer, nullable=False, default=0),
)

action_bodies = Table(
    "action_bodies",
    Base.metadata,
    Column("action_id", ForeignKey("actions.id", ondelete="CASCADE"), primary_key=True),
    Column("body_id", ForeignKey("monitoring_bodies.id", ondelete="RESTRICT"), primary_key=True),
    Column("position", Integer, nullable=False, default=0),
)

action_drivers = Table(
    "action_drivers",
    Base.metadata,
    Column("action_id", ForeignKey("actions.id", ondelete="CASCADE"), primary_key=True),
    Column("driver_id", ForeignKey("drivers.id", ondelete="CASCADE"), primary_key=True),
)

user_teams = Table(
    "user_teams",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("partner_id", ForeignKey("partners.id", ondelete="CASCADE"), primary_key=True),
)


class Plan(Base):
    """An edition of the CYP Plan, e.g. 2019–2023."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    # Financial years covered: first_year=2019, last_year=2022 means 2019-20 Q1 to 2022-23 Q4.
    first_year: Mapped[int] = mapped_column(Integer)
    last_year: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False)
    vision: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)

    outcomes: Mapped[list[Outcome]] = relationship(
        back_populates="plan", order_by="Outcome.position", cascade="all, delete-orphan"
    )
    drivers: Mapped[list[Driver]] = relationship(
        back_populates="plan", order_by="Driver.position", cascade="all, delete-orphan"
    )


class Outcome(Base):
    """An outcome (2019–23) or theme (2023–27) of a plan."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    group: Mapped[str | None] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    quirks: Mapped[str | None] = mapped_column(Text)

    plan: Mapped[Plan] = relationship(back_populates="outcomes")
    objectives: Mapped[list[Objective]] = relationship(
        back_populates="outcome", order_by="Objective.position", cascade="all, delete-orphan"
    )
    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="outcome", order_by="Indicator.position", cascade="all, delete-orphan"
    )


class Objective(Base):
    """An objective under an outcome ("How we are addressing children's needs")."""

    __tablename__ = "objectives"

    id: Mapped[int] = mapped_column(primary_key=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("outcomes.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    quirks: Mapped[str | None] = mapped_column(Text)

    outcome: Mapped[Outcome] = relationship(back_populates="objectives")
    actions: Mapped[list[Action]] = relationship(
        back_populates="objective", order_by="Action.position", cascade="all, delete-orphan"
    )
    domain_links: Mapped[list[ObjectiveDomain]] = relationship(back_populates="objective", cascade="all, delete-orphan")


class Partner(Base):
    """A partner organisation or team: responsible for actions, submits returns."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Other spellings found in the source or typed by people, separated by "|".
    variants: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)


class MonitoringBody(Base):
    """A board, plan or report through which an action is monitored."""

    __tablename__ = "monitoring_bodies"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    variants: Mapped[str | None] = mapped_column(Text)


class Action(Base):
    """A reportable line: an action of the plan, or a whole objective assigned to a team."""

    __tablename__ = "actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    objective_id: Mapped[int] = mapped_column(ForeignKey("objectives.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str] = mapped_column(String(30), unique=True)
    text: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    whole_objective: Mapped[bool] = mapped_column(Boolean, default=False)
    # The team that reports this line each quarter; defaults to the first responsible partner.
    reporting_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"), index=True)
    quirks: Mapped[str | None] = mapped_column(Text)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    objective: Mapped[Objective] = relationship(back_populates="actions")
    partners: Mapped[list[Partner]] = relationship(secondary=action_partners, order_by=action_partners.c.position)
    bodies: Mapped[list[MonitoringBody]] = relationship(secondary=action_bodies, order_by=action_bodies.c.position)
    drivers: Mapped[list[Driver]] = relationship(secondary=action_drivers)
    reporting_partner: Mapped[Partner | None] = relationship(foreign_keys=[reporting_partner_id])


class Driver(Base):
    """A cross-cutting driver of the 2023–27 plan (e.g. inclusion)."""

    __tablename__ = "drivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)

    plan: Mapped[Plan] = relationship(back_populates="drivers")


class IndexDomain(Base):
    """One of the nine Family Friendly Index domains ("How we monitor progress")."""

    __tablename__ = "index_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(Text)
    short_name: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(Integer, default=0)


class ObjectiveDomain(Base):
    """Default (editable) mapping of an objective to an index domain, with a reason."""

    __tablename__ = "objective_domains"

    objective_id: Mapped[int] = mapped_column(ForeignKey("objectives.id", ondelete="CASCADE"), primary_key=True)
    domain_id: Mapped[int] = mapped_column(
        ForeignKey("index_domains.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    reason: Mapped[str] = mapped_column(Text, default="")

    objective: Mapped[Objective] = relationship(back_populates="domain_links")
    domain: Mapped[IndexDomain] = relationship()


class IndicatorDomain(Base):
    """Default (editable) mapping of an indicator to an index domain, with a reason."""

    __tablename__ = "indicator_domains"

    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="CASCADE"), primary_key=True)
    domain_id: Mapped[int] = mapped_column(
        ForeignKey("index_domains.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    reason: Mapped[str] = mapped_column(Text, default="")

    indicator: Mapped[Indicator] = relationship(back_populates="domain_links")
    domain: Mapped[IndexDomain] = relationship()


class Indicator(Base):
    """A measure with a baseline ("What we know"), optionally a target and tolerance."""

    __tablename__ = "indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    outcome_id: Mapped[int] = mapped_column(ForeignKey("outcomes.id", ondelete="CASCADE"), index=True)
    ref: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(40))
    # "higher" or "lower" is better; None where the source gives no direction (context figures).
    polarity: Mapped[str | None] = mapped_column(String(10))
    baseline_value: Mapped[float | None] = mapped_column(Float)
    baseline_text: Mapped[str | None] = mapped_column(String(100))
    baseline_period: Mapped[str | None] = mapped_column(String(100))
    target: Mapped[float | None] = mapped_column(Float)
    tolerance: Mapped[float | None] = mapped_column(Float)
    reporting_partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    quirks: Mapped[str | None] = mapped_column(Text)

    outcome: Mapped[Outcome] = relationship(back_populates="indicators")
    reporting_partner: Mapped[Partner | None] = relationship()
    domain_links: Mapped[list[IndicatorDomain]] = relationship(back_populates="indicator", cascade="all, delete-orphan")


class Return(Base):
    """One uploaded version of a team's quarterly return."""

    __tablename__ = "returns"
    __table_args__ = (
        UniqueConstraint("partner_id", "quarter", "version"),
        Index("ix_returns_quarter_current", "quarter", "is_current"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="RESTRICT"))
    # Canonical label, e.g. "2025-26 Q3"; labels sort in time order.
    quarter: Mapped[str] = mapped_column(String(10))
    version: Mapped[int] = mapped_column(Integer)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    original_filename: Mapped[str] = mapped_column(String(300))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    stored_path: Mapped[str] = mapped_column(String(300))
    queries_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)

    partner: Mapped[Partner] = relationship()
    plan: Mapped[Plan] = relationship()
    line_updates: Mapped[list[LineUpdate]] = relationship(back_populates="return_", cascade="all, delete-orphan")
    indicator_values: Mapped[list[IndicatorValue]] = relationship(
        back_populates="return_", cascade="all, delete-orphan"
    )


class LineUpdate(Base):
    """A team's status and commentary for one line in one return version."""

    __tablename__ = "line_updates"
    __table_args__ = (
        UniqueConstraint("return_id", "action_id"),
        Index("ix_line_updates_action_quarter", "action_id", "quarter"),
        # A quarter's updates without reading every quarter of history (the read side filters by quarter first).
        Index("ix_line_updates_quarter_action", "quarter", "action_id", "return_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"), index=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="RESTRICT"))
    # Copied from the return so per-quarter reads need no join (never changes).
    quarter: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    progress: Mapped[str | None] = mapped_column(Text)
    next_steps: Mapped[str | None] = mapped_column(Text)
    risks: Mapped[str | None] = mapped_column(Text)

    return_: Mapped[Return] = relationship(back_populates="line_updates")
    action: Mapped[Action] = relationship()


class IndicatorValue(Base):
    """A reported value of an indicator in one return version."""

    __tablename__ = "indicator_values"
    __table_args__ = (
        UniqueConstraint("return_id", "indicator_id"),
        Index("ix_indicator_values_indicator_quarter", "indicator_id", "quarter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"), index=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="RESTRICT"))
    quarter: Mapped[str] = mapped_column(String(10))
    value: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    commentary: Mapped[str | None] = mapped_column(Text)

    return_: Mapped[Return] = relationship(back_populates="indicator_values")
    indicator: Mapped[Indicator] = relationship()


class QuarterDeadline(Base):
    """An administrator's deadline for a quarter, overriding the default rule."""

    __tablename__ = "quarter_deadlines"

    quarter: Mapped[str] = mapped_column(String(10), primary_key=True)
    due: Mapped[date] = mapped_column(Date)


class User(Base):
    """A local account; OIDC users are matched by email."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    email: Mapped[str | None] = mapped_column(String(200), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    teams: Mapped[list[Partner]] = relationship(secondary=user_teams)


class AuditEvent(Base):
    """One write or refusal: who, when, what, on which record, and how it ended."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[str | None] = mapped_column(Text)


class Meta(Base):
    """Key/value facts about this database (e.g. whether demo data is loaded)."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class DisplayLink(Base):
    """A revocable link that signs a meeting-room screen in with the display role; only its SHA-256 is stored."""

    __tablename__ = "display_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A signed-in browser, behind an HttpOnly cookie; the cookie's value is never stored, only its SHA-256.

    A session belongs to an account (``user_id``) or to a display link (``display_link_id``), never both.
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    display_link_id: Mapped[int | None] = mapped_column(ForeignKey("display_links.id", ondelete="CASCADE"), index=True)
    # "password", "identity provider" or "display link".
    method: Mapped[str] = mapped_column(String(30))
    # A digest of the account's password hash at sign-in: a new password ends the session.
    password_stamp: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    client_address: Mapped[str | None] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User | None] = relationship()
    display_link: Mapped[DisplayLink | None] = relationship()


class SignInTicket(Base):
    """A one-time, short-lived ticket: the script run that signs someone in hands it to the browser, which
    exchanges it for the session cookie at ``/session/claim``. Bound to the browser that asked for it.
    """

    __tablename__ = "signin_tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(30))
    password_stamp: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 of the browser cookie of the script run that signed in: another browser cannot claim it.
    browser_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SignInCounter(Base):
    """Recent failed sign-ins of one username (``scope`` "name") or one client address (``scope`` "client").

    Names with and without an account are counted the same way (so the lockout does not tell which names
    exist); updated with ``failures = failures + 1`` in one statement, so parallel attempts are all counted.
    The rules are in the ``sign_in`` section of ``data/access.yaml``.
    """

    __tablename__ = "sign_in_counters"

    scope: Mapped[str] = mapped_column(String(10), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A data API token: who issued it, what it may read, until when; only the SHA-256 of its secret is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    # The secret's first characters, shown in lists and the audit trail so a token can be recognised.
    prefix: Mapped[str] = mapped_column(String(20))
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Plan refs separated by "," ("" means every plan).
    plans: Mapped[str] = mapped_column(Text, default="")
    include_commentary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Signoff(Base):
    """An approver's decision on one accepted return version: signed off, or returned to the team with a reason.

    A return with no row is awaiting sign-off (when sign-off is switched on); a later decision on the same
    version replaces the row, and every decision is in the audit trail.
    """

    __tablename__ = "signoffs"

    return_id: Mapped[int] = mapped_column(ForeignKey("returns.id", ondelete="CASCADE"), primary_key=True)
    # "signed-off" or "returned".
    state: Mapped[str] = mapped_column(String(20), index=True)
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text)

    return_: Mapped[Return] = relationship()


class BoardQuestion(Base):
    """A question or action the board recorded against a line for a quarter, open until answered or closed."""

    __tablename__ = "board_questions"
    __table_args__ = (Index("ix_board_questions_action_open", "action_id", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("actions.id", ondelete="CASCADE"))
    # The quarter the board was reviewing; the answer comes in a later quarter's return.
    quarter: Mapped[str] = mapped_column(String(10), index=True)
    # "question" or "action".
    kind: Mapped[str] = mapped_column(String(20), default="question")
    text: Mapped[str] = mapped_column(Text)
    asked_by: Mapped[str] = mapped_column(String(200))
    asked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    due_by: Mapped[date | None] = mapped_column(Date)
    answer: Mapped[str | None] = mapped_column(Text)
    answer_return_id: Mapped[int | None] = mapped_column(ForeignKey("returns.id", ondelete="SET NULL"))
    closed_by: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    close_reason: Mapped[str | None] = mapped_column(Text)

    action: Mapped[Action] = relationship()


class MailSend(Base):
    """One email the cycle means to send, claimed by its unique key before it is sent so it goes once only.

    ``sent_at`` is set only after the mail server accepted the message; a failed attempt leaves it empty with
    the error, and the next run tries again. ``dropped`` records why it will never be sent (the return arrived,
    the account was disabled, the person opted out).
    """

    __tablename__ = "mail_sends"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id", ondelete="SET NULL"))
    quarter: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    dropped: Mapped[str | None] = mapped_column(String(200))


class MailOptOut(Base):
    """A person who asked not to receive reminder and digest emails."""

    __tablename__ = "mail_opt_outs"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Lease(Base):
    """A named lock held by one process until it releases it or ``expires_at`` passes (one reminder run at a time)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
