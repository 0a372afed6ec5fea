"""Meta-tests that keep the pages thin: a page gets its data and makes its writes through ``cyp.ui`` alone.

A page may import constants and types (classes, exceptions) from ``cyp`` and makes its writes with the functions
``cyp.ui`` offers (``ui.assign_line``, ``ui.create_user``; tests/test_architecture.py keeps it from importing a
domain module to hand one of its functions to ``ui.attempt_write``); it never calls a ``cyp`` function itself, never
opens a session, never touches SQLAlchemy, and never passes a database URL or cache tag to a loader (the loaders
compute their own).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path
from types import ModuleType

import pytest

from cyp import ui

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "app_pages").glob("*.py"))
FORBIDDEN_MODULES = ("sqlalchemy", "cyp.storage.db", "cyp.ui.")  # cyp.ui's modules: pages use the package
TAG_NAMES = {"url", "tag", "database_url", "data_tag", "session", "engine"}


def _imported(module_name: str, name: str) -> object:
    module = importlib.import_module(module_name)
    if hasattr(module, name):
        return getattr(module, name)
    return importlib.import_module(f"{module_name}.{name}")  # ``from cyp import admin`` before cyp.admin is loaded


def _is_function(target: object) -> bool:
    return inspect.isfunction(target) or inspect.isbuiltin(target) or inspect.ismethod(target)


def page_violations(source: str) -> list[str]:
    """Every way ``source`` (a page) breaks the layering, as "line N: what"; empty when it keeps to it."""
    tree = ast.parse(source)
    found: list[str] = []
    bound: dict[str, object] = {}  # names the page imported from cyp (other than ui), to what they are
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(("cyp", *FORBIDDEN_MODULES)) and alias.name != "cyp.ui":
                    found.append(f"line {node.lineno}: imports {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            module = node.module
            if module.startswith(FORBIDDEN_MODULES) or module == "cyp.ui":
                found.append(f"line {node.lineno}: imports from {module}")
                continue
            if module != "cyp" and not module.startswith("cyp."):
                continue
            for alias in node.names:
                if module == "cyp" and alias.name == "ui":
                    continue
                target = _imported(module, alias.name)
                if _is_function(target):
                    found.append(f"line {node.lineno}: imports the function {module}.{alias.name}")
                bound[alias.asname or alias.name] = target

    def resolve(expression: ast.expr) -> object | None:
        """What a name or dotted name refers to, when it starts from a name imported from cyp."""
        if isinstance(expression, ast.Name):
            return bound.get(expression.id)
        if isinstance(expression, ast.Attribute):
            base = resolve(expression.value)
            if isinstance(base, ModuleType):
                return getattr(base, expression.attr, None)
        return None

    for node in ast.walk(tree):
        is_ui_name = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "ui"
        if is_ui_name and node.attr not in ui.__all__:
            found.append(f"line {node.lineno}: uses ui.{node.attr}, which is not part of ui's public names")
        if isinstance(node, ast.Call):
            target = resolve(node.func)
            if _is_function(target):
                found.append(f"line {node.lineno}: calls {ast.unparse(node.func)} (a cyp function) directly")
            if isinstance(node.func, ast.Attribute) and node.func.attr.startswith("load_"):
                passed = [keyword.arg for keyword in node.keywords] + [
                    arg.id for arg in node.args if isinstance(arg, ast.Name)
                ]
                if TAG_NAMES & set(filter(None, passed)):
                    found.append(f"line {node.lineno}: passes a url, tag or session to {ast.unparse(node.func)}")
        if isinstance(node, ast.With):
            for item in node.items:
                if "session" in ast.unparse(item.context_expr).lower():
                    found.append(f"line {node.lineno}: opens a session")
    return sorted(set(found), key=lambda problem: (int(problem.split(":")[0].removeprefix("line ")), problem))


@pytest.mark.parametrize("page", PAGES, ids=lambda path: path.name)
def test_page_uses_only_ui_for_data_and_writes(page: Path) -> None:
    assert page_violations(page.read_text(encoding="utf-8")) == []


def test_the_checker_finds_each_way_a_page_can_break_the_layering() -> None:
    bad = """
import sqlalchemy
from cyp import admin, ui
from cyp.read.browse import plan_refs
from cyp.read.reports import ViewFilters
from cyp.storage.db import read_session
from cyp.ui.data import load_plans

url = ui.database_url()
with ui.session() as session:
    plans = plan_refs(session)
    teams = admin.team_choices(session)
ui.load_outcome_summary(url, "2022-23 Q4", "2019-23")
ui.load_plans(tag="x")
ViewFilters(plan="2019-23")
ui.attempt_write(None, admin.assign_line, "19-SS-1.1", "housing")
"""
    found = page_violations(bad)
    assert found == [
        "line 2: imports sqlalchemy",
        "line 4: imports the function cyp.read.browse.plan_refs",
        "line 6: imports from cyp.storage.db",
        "line 7: imports from cyp.ui.data",
        "line 9: uses ui.database_url, which is not part of ui's public names",
        "line 10: opens a session",
        "line 10: uses ui.session, which is not part of ui's public names",
        "line 11: calls plan_refs (a cyp function) directly",
        "line 12: calls admin.team_choices (a cyp function) directly",
        "line 13: passes a url, tag or session to ui.load_outcome_summary",
        "line 14: passes a url, tag or session to ui.load_plans",
    ]


def test_no_loader_asks_for_a_url_or_tag() -> None:
    loaders = {name: getattr(ui, name) for name in ui.__all__ if name.startswith("load_")}
    assert len(loaders) > 20
    for name, loader in loaders.items():
        assert not TAG_NAMES & set(inspect.signature(loader).parameters), f"ui.{name} asks for a url or tag"


def test_no_pages_directory_beside_app_py() -> None:
    # A folder named pages/ next to the entrypoint starts Streamlit's legacy "pages/ directory" mode until some
    # session calls st.navigation: a first request straight to /upload would then run that page on its own,
    # skipping app.py's sign-in. The pages live in app_pages/ instead (Streamlit's documented way out).
    assert not (ROOT / "pages").exists()
    assert PAGES
