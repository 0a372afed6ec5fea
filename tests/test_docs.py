"""Meta-tests that keep the house tidy: docs match code, layering holds."""

import ast
import re
from pathlib import Path

import click

from cyp.cli import cli
from cyp.storage.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_only_ui_package_imports_streamlit():
    offenders = []
    for path in (ROOT / "cyp").rglob("*.py"):
        # cyp/web/app.py builds the st.App (Streamlit's ASGI app); the rest of cyp/web is plain Starlette.
        if path.is_relative_to(ROOT / "cyp" / "ui") or path == ROOT / "cyp" / "web" / "app.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name == "streamlit" or name.startswith("streamlit.") for name in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_every_setting_is_in_the_readme_configuration_table():
    table_rows = re.findall(r"^\| `(CYP_[A-Z_]+)` \|", README, flags=re.MULTILINE)
    assert sorted(table_rows) == sorted(setting.env for setting in SETTINGS)


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    # Through list_commands/get_command: the top-level group loads its commands only when asked (cyp/cli/__init__.py).
    ctx = click.Context(group)
    found = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.extend(_commands(command, path + " "))
        else:
            found.append((path, command))
    return found


def test_every_command_is_documented_with_an_example():
    for path, command in _commands(cli):
        assert f"python -m cyp {path}" in README, f"README has no example of `python -m cyp {path}`"
        assert "Example" in (command.help or ""), f"`{path} --help` has no example"


def test_no_utils_module():
    assert not list((ROOT / "cyp").rglob("utils.py"))


def test_every_page_file_is_registered_in_app():
    app_source = (ROOT / "app.py").read_text(encoding="utf-8")
    for page in (ROOT / "app_pages").glob("*.py"):
        assert f'"app_pages/{page.name}"' in app_source, f"{page.name} is not registered in app.py"
