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
)


def _env(name: str) -> str:
    setting = next(s for s in SETTINGS if s.env == name)
    return os.environ.get(name, "") or setting.default


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of this process."""

    database_url: str = field(default_factory=lambda: _env("CYP_DATABASE_URL"))
    uploads_dir: Path = field(default_factory=lambda: Path(_env("CYP_UPLOADS_DIR")))
    framework_dir: Path = field(default_factory=lambda: Path(_env("CYP_FRAMEWORK_DIR")))
    max_upload_bytes: int = field(default_factory=lambda: int(float(_env("CYP_MAX_UPLOAD_MB")) * 1024 * 1024))
    deadline_days: int = field(default_factory=lambda: int(_env("CYP_DEADLINE_DAYS")))
    demo_on_empty: bool = field(default_factory=lambda: _env("CYP_DEMO_ON_EMPTY") == "1")
    today_override: str = field(default_factory=lambda: _env("CYP_TODAY"))
    accessibility_contact: str = field(default_factory=lambda: _env("CYP_ACCESSIBILITY_CONTACT"))
    accessibility_email: str = field(default_factory=lambda: _env("CYP_ACCESSIBILITY_EMAIL"))
    accessibility_phone: str = field(default_factory=lambda: _env("CYP_ACCESSIBILITY_PHONE"))


def get_settings() -> Settings:
    """Read the settings from the environment now (cheap; not cached, so tests can vary it)."""
    return Settings()
