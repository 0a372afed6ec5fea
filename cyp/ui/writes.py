"""The writes the pages make, each in its own transaction through :func:`~cyp.ui.engine.attempt_write`.

A page calls these and never names a domain write itself: a refusal or an impossible change is shown on the page
(the function then gives None or False), and after a write every cached read is forgotten. The administrator's
writes are in :mod:`cyp.admin`, account changes in :mod:`cyp.access.accounts`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Any, BinaryIO

from cyp.access import accounts
from cyp.access.permissions import Principal
from cyp.quarters import QuarterError
from cyp.ui.engine import attempt_write
from cyp.ui.signin import current_principal

if TYPE_CHECKING:
    from cyp.framework.workbook import ImportResult

# cyp.admin is imported where it is used, as in cyp.ui.data: it takes 0.1 to 0.2 s to import (openpyxl), which every
# page's first view would otherwise wait for.


def _admin(principal: Principal, action: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    from cyp import admin

    return attempt_write(principal, action, *args, expected=(admin.AdminError, QuarterError))


def import_framework(principal: Principal, stream: BinaryIO, filename: str) -> ImportResult | None:
    """Check and import an edited framework workbook (:func:`cyp.admin.import_framework_as`); None if refused."""
    from cyp import admin

    return _admin(principal, admin.import_framework_as, stream, filename)[1]


def assign_line(principal: Principal, line_ref: str, team_ref: str | None) -> bool:
    """Make ``team_ref`` the team reporting line ``line_ref`` (:func:`cyp.admin.assign_line`); whether it was done."""
    from cyp import admin

    return _admin(principal, admin.assign_line, line_ref, team_ref)[0]


def assign_objective(principal: Principal, objective_ref: str, team_ref: str) -> bool:
    """Have ``team_ref`` report on a whole objective (:func:`cyp.admin.assign_objective`); whether it was done."""
    from cyp import admin

    return _admin(principal, admin.assign_objective, objective_ref, team_ref)[0]


def set_deadline(principal: Principal, quarter_label: str, due: date) -> bool:
    """Set the date a quarter's returns are due (:func:`cyp.admin.set_deadline`); whether it was done."""
    from cyp import admin

    return _admin(principal, admin.set_deadline, quarter_label, due)[0]


def clear_deadline(principal: Principal, quarter_label: str) -> bool:
    """Let a quarter use the default deadline again (:func:`cyp.admin.clear_deadline`); whether a set date went."""
    from cyp import admin

    done, removed = _admin(principal, admin.clear_deadline, quarter_label)
    return done and bool(removed)


def add_demo_data(principal: Principal) -> tuple[dict[str, int], list[tuple[str, str, str]]] | None:
    """Generate demo returns and accounts (:func:`cyp.admin.load_demo`): the counts and (username, password, role)
    of each account, or None if refused."""
    from cyp import admin

    return _admin(principal, admin.load_demo)[1]


def clear_demo_data(principal: Principal) -> dict[str, int] | None:
    """Remove exactly the demo records (:func:`cyp.admin.clear_demo_data`): what went, or None if refused."""
    from cyp import admin

    return _admin(principal, admin.clear_demo_data)[1]


def _account(principal: Principal, action: Any, *args: Any, **options: Any) -> bool:
    return attempt_write(principal, action, *args, expected=(accounts.AccountError,), **options)[0]


def create_user(
    principal: Principal,
    username: str,
    role: str,
    *,
    password: str | None = None,
    email: str | None = None,
    display_name: str | None = None,
    teams: Iterable[str] = (),
) -> bool:
    """Add an account (:func:`cyp.access.accounts.create_user`); whether it was added."""
    return _account(
        principal,
        accounts.create_user,
        username,
        role,
        password=password,
        email=email,
        display_name=display_name,
        teams=list(teams),
    )


def set_role(principal: Principal, username: str, role: str) -> bool:
    """Change an account's role (:func:`cyp.access.accounts.set_role`); whether it was changed."""
    return _account(principal, accounts.set_role, username, role)


def set_teams(principal: Principal, username: str, teams: Iterable[str]) -> bool:
    """Set the teams an account belongs to (:func:`cyp.access.accounts.set_teams`); whether they were set."""
    return _account(principal, accounts.set_teams, username, list(teams))


def set_password(principal: Principal, username: str, password: str) -> bool:
    """Set an account's password (:func:`cyp.access.accounts.set_password`); whether it was set."""
    return _account(principal, accounts.set_password, username, password)


def disable_user(principal: Principal, username: str) -> bool:
    """Stop an account signing in or changing anything (:func:`cyp.access.accounts.disable_user`)."""
    return _account(principal, accounts.disable_user, username)


def enable_user(principal: Principal, username: str) -> bool:
    """Let a disabled account sign in again (:func:`cyp.access.accounts.enable_user`)."""
    return _account(principal, accounts.enable_user, username)


# Sign-off (CYP_SIGNOFF=1): an approver of the team, or an administrator, decides on its current return.


def sign_off_return(principal: Principal, team: str, quarter: str, version: int | None = None) -> bool:
    """Sign off the team's current return for the quarter (:func:`cyp.cycle.signoff.sign_off`); whether it was done.

    ``version`` is the version the page showed: a newer one uploaded since is refused, with the reason shown.
    """
    from cyp.cycle.signoff import SignoffError, sign_off

    return attempt_write(principal, sign_off, team, quarter, version=version, expected=(SignoffError,))[0]


def send_back_return(principal: Principal, team: str, quarter: str, reason: str, version: int | None = None) -> bool:
    """Return the team's current return with a reason (:func:`cyp.cycle.signoff.return_to_team`; the reason is
    required, and the team's leads are emailed it); whether it was done."""
    from cyp.cycle.signoff import SignoffError, return_to_team

    return attempt_write(principal, return_to_team, team, quarter, reason, version=version, expected=(SignoffError,))[0]


def set_my_email_reminders(on: bool) -> bool:
    """Restart (``on``) or stop the signed-in person's own reminder and digest emails
    (:func:`cyp.cycle.recipients.set_opt_out`, audited as mail.opt_in / mail.opt_out); whether they are now as asked.

    The person is the one signed in to this session, never one a page names. False when nobody is signed in or the
    change was refused (the reason is shown).
    """
    from cyp.cycle.recipients import NoSuchUser, set_opt_out

    principal = current_principal()
    if principal is None:
        return False
    done, _changed = attempt_write(principal, set_opt_out, principal.username, not on, expected=(NoSuchUser,))
    return done
