"""Settings, read once from ``CYP_*`` environment variables.

Every setting has a default and a help string; the README's configuration
table is checked against :data:`SETTINGS` by ``tests/test_docs.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Setting:
    """One configurable value: its environment variable, default and meaning."""

    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "CYP_DATABASE_URL",
        f"sqlite:///{PROJECT_ROOT / 'data' / 'cyp.db'}",
        "SQLAlchemy URL of the database; a `postgresql+psycopg://` URL selects PostgreSQL.",
    ),
    Setting(
        "CYP_UPLOADS_DIR",
        str(PROJECT_ROOT / "uploads"),
        "Folder where the original file of every accepted return is kept.",
    ),
    Setting(
        "CYP_FRAMEWORK_DIR",
        str(PROJECT_ROOT / "data" / "framework"),
        "Folder holding the plan framework files loaded by `python -m cyp init`.",
    ),
    Setting(
        "CYP_MAX_UPLOAD_MB",
        "5",
        "Largest return workbook accepted, in megabytes.",
    ),
    Setting(
        "CYP_DEADLINE_DAYS",
        "31",
        "Days after a quarter ends before its returns are late (per-quarter overrides are set by an administrator).",
    ),
    Setting(
        "CYP_DEMO_ON_EMPTY",
        "1",
        "When 1, `scripts/run.sh` fills an empty database with generated demo data for newcomers.",
    ),
    Setting(
        "CYP_ACCESSIBILITY_CONTACT",
        "the performance team (the administrators of CYP Plan Monitor)",
        "Who answers accessibility problems and requests for another format; shown in the accessibility statement.",
    ),
    Setting(
        "CYP_ACCESSIBILITY_EMAIL",
        "",
        "Email address for accessibility problems, shown in the accessibility statement. Set it for a deployment.",
    ),
    Setting(
        "CYP_ACCESSIBILITY_PHONE",
        "",
        "Telephone number for accessibility problems, shown in the accessibility statement (empty: not shown).",
    ),
    Setting(
        "CYP_TODAY",
        "",
        "Pretend today is this ISO date (YYYY-MM-DD); for demonstrations and tests. Empty means the real date.",
    ),
    Setting(
        "CYP_SESSION_IDLE_MINUTES",
        "120",
        "A sign-in ends after this many minutes without any interaction (reload, click, page change).",
    ),
    Setting(
        "CYP_SESSION_LIFETIME_HOURS",
        "12",
        "A sign-in ends this many hours after it was made, however busy; then the person signs in again.",
    ),
    Setting(
        "CYP_DISPLAY_SESSION_DAYS",
        "90",
        "A meeting-room screen signed in with a display link stays signed in this many days (no idle timeout) "
        "unless the link is revoked; opening the link again starts a new period.",
    ),
    Setting(
        "CYP_FRAME_ANCESTORS",
        "'self'",
        "Who may show the app inside a frame: the Content-Security-Policy `frame-ancestors` sources, e.g. "
        "`'self' https://intranet.barnet.gov.uk`; `'none'` forbids every frame.",
    ),
    Setting(
        "CYP_PUBLIC_URL",
        "http://localhost:8501",
        "The app's public base URL, used for links in emails (e.g. `https://cyp.barnet.gov.uk`).",
    ),
    Setting(
        "CYP_SMTP_HOST",
        "",
        "Mail server for reminders and digests; empty means no email is sent (`python -m cyp remind` says so).",
    ),
    Setting("CYP_SMTP_PORT", "587", "Mail server port (587 for STARTTLS, 465 for TLS, 25 for neither)."),
    Setting(
        "CYP_SMTP_SECURITY",
        "starttls",
        "How the connection to the mail server is secured: `starttls`, `tls` or `none` (a relay on loopback only).",
    ),
    Setting("CYP_SMTP_USER", "", "User name for the mail server; empty means no authentication."),
    Setting(
        "CYP_SMTP_PASSWORD",
        "",
        "Password for the mail server (prefer `CYP_SMTP_PASSWORD_FILE`, so it is not in the environment).",
    ),
    Setting(
        "CYP_SMTP_PASSWORD_FILE",
        "",
        "File holding the mail server's password (a container or systemd secret); read when mail is sent.",
    ),
    Setting("CYP_MAIL_FROM", "cyp-plan@localhost", "From address of reminder and digest emails."),
    Setting("CYP_MAIL_REPLY_TO", "", "Reply-To address of emails (e.g. the performance team's mailbox); empty: none."),
    Setting(
        "CYP_REMIND_EVERY_MINUTES",
        "0",
        "When above 0, the app runs the reminders itself this often (one instance at a time); 0 leaves it to cron.",
    ),
    Setting(
        "CYP_REMIND_EVERY_SECONDS",
        "0",
        "When above 0, overrides `CYP_REMIND_EVERY_MINUTES` with a period in seconds (for tests and demonstrations).",
    ),
    Setting(
        "CYP_SIGNOFF",
        "0",
        "When 1, an accepted return awaits an approver's sign-off and views show signed-off data by default.",
    ),
)


# Looked up by name for every field of every Settings(): a dict, not a search of SETTINGS each time.
_DEFAULTS = {setting.env: setting.default for setting in SETTINGS}


def _env(name: str) -> str:
    return os.environ.get(name, "") or _DEFAULTS[name]


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of this process."""

    database_url: str = field(default_factory=lambda: database_url())
    uploads_dir: Path = field(default_factory=lambda: Path(_env("CYP_UPLOADS_DIR")))
    framework_dir: Path = field(default_factory=lambda: Path(_env("CYP_FRAMEWORK_DIR")))
    max_upload_bytes: int = field(default_factory=lambda: int(float(_env("CYP_MAX_UPLOAD_MB")) * 1024 * 1024))
    deadline_days: int = field(default_factory=lambda: int(_env("CYP_DEADLINE_DAYS")))
    demo_on_empty: bool = field(default_factory=lambda: _env("CYP_DEMO_ON_EMPTY") == "1")
    today_override: str = field(default_factory=lambda: _env("CYP_TODAY"))
    session_idle_minutes: int = field(default_factory=lambda: int(_env("CYP_SESSION_IDLE_MINUTES")))
    session_lifetime_hours: int = field(default_factory=lambda: int(_env("CYP_SESSION_LIFETIME_HOURS")))
    display_session_days: int = field(default_factory=lambda: int(_env("CYP_DISPLAY_SESSION_DAYS")))
    frame_ancestors: str = field(default_factory=lambda: _env("CYP_FRAME_ANCESTORS"))
    public_url: str = field(default_factory=lambda: _env("CYP_PUBLIC_URL").rstrip("/"))
    smtp_host: str = field(default_factory=lambda: _env("CYP_SMTP_HOST"))
    smtp_port: int = field(default_factory=lambda: int(_env("CYP_SMTP_PORT")))
    smtp_security: str = field(default_factory=lambda: _env("CYP_SMTP_SECURITY").strip().lower())
    smtp_user: str = field(default_factory=lambda: _env("CYP_SMTP_USER"))
    smtp_password: str = field(default_factory=lambda: _env("CYP_SMTP_PASSWORD"))
    smtp_password_file: str = field(default_factory=lambda: _env("CYP_SMTP_PASSWORD_FILE"))
    mail_from: str = field(default_factory=lambda: _env("CYP_MAIL_FROM"))
    mail_reply_to: str = field(default_factory=lambda: _env("CYP_MAIL_REPLY_TO"))
    remind_every_minutes: int = field(default_factory=lambda: int(_env("CYP_REMIND_EVERY_MINUTES")))
    remind_every_seconds: float = field(default_factory=lambda: float(_env("CYP_REMIND_EVERY_SECONDS")))
    signoff: bool = field(default_factory=lambda: _env("CYP_SIGNOFF") == "1")
    accessibility_contact: str = field(default_factory=lambda: _env("CYP_ACCESSIBILITY_CONTACT"))
    accessibility_email: str = field(default_factory=lambda: _env("CYP_ACCESSIBILITY_EMAIL"))
    accessibility_phone: str = field(default_factory=lambda: _env("CYP_ACCESSIBILITY_PHONE"))


def get_settings() -> Settings:
    """Read the settings from the environment now (cheap; not cached, so tests can vary it)."""
    return Settings()


def database_url() -> str:
    """``get_settings().database_url`` without reading the other settings: the app asks for it in every run."""
    return _env("CYP_DATABASE_URL")
