"""Data API tokens: an administrator issues one with a scope (which plans; whether commentary is included) and an
expiry; only the SHA-256 of its secret is stored; it can be revoked; every use is audited.

The secret is shown once, when issued (``python -m cyp token issue``). A tool such as Power BI sends it as
``Authorization: Bearer cyp_...``; :func:`check_token` turns that into a :class:`TokenScope` or a
:class:`TokenRefused` carrying the HTTP status and a message fit to show.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cyp.access import audit
from cyp.access.permissions import Principal, require
from cyp.storage.models import ApiToken, Plan, utcnow

SECRET_PREFIX = "cyp_"


# Characters of the secret kept in clear: enough to tell tokens apart in lists and the audit trail.
SHOWN_CHARACTERS = 12


DEFAULT_DAYS = 90


MAX_DAYS = 366


class TokenError(ValueError):
    """A token that cannot be issued or revoked as asked (unknown plan, bad expiry, unknown token)."""


class TokenRefused(Exception):
    """A request's token is missing, unknown, expired, revoked, or does not cover what was asked."""

    def __init__(self, status: int, code: str, message: str, *, prefix: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.prefix = prefix


@dataclass(frozen=True)
class TokenScope:
    """What a valid token may read: ``plans`` (empty means every plan) and whether commentary is included."""

    token_id: int
    name: str
    prefix: str
    plans: frozenset[str]
    include_commentary: bool

    @property
    def actor(self) -> str:
        """The token as it appears in the audit trail."""
        return f"token:{self.prefix}"

    def allows_plan(self, plan_ref: str) -> bool:
        """Whether the token may read the plan ``plan_ref``."""
        return not self.plans or plan_ref in self.plans

    def check_plan(self, plan_ref: str) -> None:
        """Raise :class:`TokenRefused` (403) unless the token may read the plan ``plan_ref``."""
        if not self.allows_plan(plan_ref):
            allowed = ", ".join(sorted(self.plans))
            raise TokenRefused(
                403,
                "plan_not_in_scope",
                f"This token may read only plan {allowed}, not {plan_ref}; ask an administrator for a token "
                "that covers it.",
                prefix=self.prefix,
            )


def _as_utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def secret_sha256(secret: str) -> str:
    """The stored form of a secret. The secret is 256 random bits, so a plain SHA-256 cannot be reversed."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    """ "revoked", "expired" or "active"."""
    if token.revoked_at is not None:
        return "revoked"
    if _as_utc(token.expires_at) <= _as_utc(now or utcnow()):
        return "expired"
    return "active"


def token_plans(token: ApiToken) -> list[str]:
    """The plan refs a token may read; empty means every plan."""
    return [ref for ref in token.plans.split(",") if ref]


def issue_token(
    session: Session,
    actor: Principal,
    name: str,
    *,
    plans: Iterable[str] = (),
    include_commentary: bool = False,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token named ``name`` for ``plans`` (none given: every plan), valid for ``days``; returns it and
    its secret, which is not stored and cannot be shown again."""
    require(session, actor, "token.manage", target=f"token:{name.strip()}")
    label = " ".join(name.split())
    if not label or len(label) > 100:
        raise TokenError("Give the token a name of 1 to 100 characters saying who or what uses it, e.g. 'Power BI'.")
    if not 1 <= days <= MAX_DAYS:
        raise TokenError(f"A token lasts from 1 to {MAX_DAYS} days; {days} is outside that. Issue a new one yearly.")
    wanted = sorted({ref.strip() for ref in plans if ref.strip()})
    known = set(session.scalars(select(Plan.ref)))
    unknown = [ref for ref in wanted if ref not in known]
    if unknown:
        raise TokenError(f"There is no plan {', '.join(unknown)}; the plans are {', '.join(sorted(known)) or 'none'}.")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    now = _as_utc(now or utcnow())
    token = ApiToken(
        name=label,
        prefix=secret[:SHOWN_CHARACTERS],
        secret_sha256=secret_sha256(secret),
        plans=",".join(wanted),
        include_commentary=include_commentary,
        created_by=actor.username,
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    detail = (
        f"{label}; plans {', '.join(wanted) or 'all'}; commentary {'included' if include_commentary else 'left out'}; "
        f"expires {token.expires_at:%Y-%m-%d}"
    )
    audit.record(session, actor.username, "token.issue", "ok", target=f"token:{token.prefix}", detail=detail, at=now)
    return token, secret


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token ever issued, newest first (revoked and expired ones too: they explain the audit trail)."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(session: Session, actor: Principal, token: int | str, *, now: datetime | None = None) -> ApiToken:
    """Revoke a token by its number or its shown prefix; it is refused from the next request on."""
    require(session, actor, "token.manage", target=f"token:{token}")
    text = str(token).strip()
    query = select(ApiToken).where(ApiToken.id == int(text) if text.isdigit() else ApiToken.prefix == text)
    found = session.scalar(query)
    if found is None:
        raise TokenError(f"There is no token {text!r}; `python -m cyp token list` shows each token's number.")
    if found.revoked_at is None:
        found.revoked_at = _as_utc(now or utcnow())
        found.revoked_by = actor.username
        audit.record(session, actor.username, "token.revoke", "ok", target=f"token:{found.prefix}", detail=found.name)
    return found


def bearer_secret(authorization: str | None) -> str:
    """The secret of an ``Authorization: Bearer ...`` header; :class:`TokenRefused` (401) when there is none."""
    scheme, _, secret = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise TokenRefused(
            401,
            "token_missing",
            "Send an API token as the header 'Authorization: Bearer cyp_...'; an administrator issues one with "
            "`python -m cyp token issue`.",
        )
    return secret.strip()


def check_token(session: Session, secret: str, *, now: datetime | None = None) -> TokenScope:
    """The scope of a valid token; :class:`TokenRefused` (401) for an unknown, expired or revoked one. Reads only."""
    token = session.scalar(select(ApiToken).where(ApiToken.secret_sha256 == secret_sha256(secret)))
    if token is None:
        raise TokenRefused(401, "token_unknown", "This API token is not known. Check it was copied whole.")
    state = token_state(token, now)
    if state == "revoked":
        raise TokenRefused(
            401,
            "token_revoked",
            "This API token has been revoked; ask an administrator for a new one.",
            prefix=token.prefix,
        )
    if state == "expired":
        raise TokenRefused(
            401,
            "token_expired",
            f"This API token expired on {_as_utc(token.expires_at):%Y-%m-%d}; ask an administrator for a new one.",
            prefix=token.prefix,
        )
    return TokenScope(token.id, token.name, token.prefix, frozenset(token_plans(token)), token.include_commentary)


def record_use(
    session: Session,
    what: str,
    *,
    scope: TokenScope | None = None,
    refused: TokenRefused | None = None,
    now: datetime | None = None,
) -> None:
    """Audit one request made with a token (``what``: the path and query asked for), allowed or refused."""
    now = _as_utc(now or utcnow())
    if scope is not None and refused is None:
        token = session.get(ApiToken, scope.token_id)
        if token is not None:
            token.last_used_at = now
        audit.record(session, scope.actor, "api.read", "ok", target=what[:200], detail=scope.name, at=now)
        return
    prefix = (refused.prefix if refused else None) or (scope.prefix if scope else None)
    actor = f"token:{prefix}" if prefix else "token:unknown"
    detail = f"{refused.code}: {refused.message}" if refused else None
    audit.record(session, actor, "api.read", "refused", target=what[:200], detail=detail, at=now)
