"""The Streamlit configuration keeps its hardening settings, and secrets stay out of git."""

import re
import subprocess
import tomllib
from pathlib import Path

from cyp.storage.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))


def test_server_is_headless_with_xsrf_and_cors_protection():
    assert CONFIG["server"]["headless"] is True
    assert CONFIG["server"]["enableXsrfProtection"] is True
    assert CONFIG["server"].get("enableCORS", True) is True


def test_upload_limit_matches_the_default_max_upload_setting():
    default_mb = next(setting.default for setting in SETTINGS if setting.env == "CYP_MAX_UPLOAD_MB")
    assert CONFIG["server"]["maxUploadSize"] == int(default_mb)


def test_errors_and_developer_menu_are_hidden_from_users():
    assert CONFIG["client"]["showErrorDetails"] == "none"
    assert CONFIG["client"]["toolbarMode"] == "minimal"


def test_no_usage_statistics_leave_the_council():
    assert CONFIG["browser"]["gatherUsageStats"] is False


def test_theme_is_light():
    assert CONFIG["theme"]["base"] == "light"


def test_every_option_is_one_streamlit_knows():
    from streamlit import config

    known = set(config._config_options_template)
    for section, options in CONFIG.items():
        for name in options:
            assert f"{section}.{name}" in known, f"unknown Streamlit option {section}.{name}"


def test_secrets_file_is_ignored_and_the_example_has_only_placeholders():
    ignored = subprocess.run(
        ["git", "check-ignore", "--quiet", ".streamlit/secrets.toml"], cwd=ROOT, check=False
    ).returncode
    assert ignored == 0
    example = tomllib.loads((ROOT / ".streamlit" / "secrets.example.toml").read_text(encoding="utf-8"))
    auth = example["auth"]
    assert set(auth) == {"redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url"}
    assert auth["redirect_uri"].endswith("/oauth2callback")
    assert auth["server_metadata_url"].startswith("https://login.microsoftonline.com/")
    assert re.fullmatch(r"[0]{8}-[0]{4}-[0]{4}-[0]{4}-[0]{12}", auth["client_id"])
    assert "replace" in auth["cookie_secret"] and "replace" in auth["client_secret"]
