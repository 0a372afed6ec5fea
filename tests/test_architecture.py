"""The import direction of docs/architecture.md: pages -> ui -> domain parts -> storage, read from the code with ast.

Every ``import`` in ``app.py``, ``app_pages/`` and ``cyp/`` counts, also one inside a function or under
``TYPE_CHECKING``: a lazy import is still a dependency. The rule is data (``PARTS``, ``ALLOWED``, ``PAGE_NAMES``) so it
is one edit to change; ``KNOWN_VIOLATIONS`` lists the imports that break it today, each to be removed as the code is
fixed (the test also fails when a listed import has gone, so the list only shrinks).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Each part of the code and the module prefixes it holds; a module belongs to the part with the longest prefix.
PARTS: dict[str, tuple[str, ...]] = {
    "storage": ("cyp.storage",),
    # Pure rules and the types and constants everything shares: quarters, statuses, problems, the did-you-mean matcher.
    "core": ("cyp.quarters", "cyp.status", "cyp.problems", "cyp.spelling"),
    "access": ("cyp.access",),
    "framework": ("cyp.framework",),
    "returns": ("cyp.returns",),
    "read": ("cyp.read",),
    "board": ("cyp.board",),
    # What happens around the upload: reminders and mail, the sign-off decisions, asking and closing board questions.
    "cycle": ("cyp.cycle",),
    # The HTTP layer around the app: the data API and its routes.
    "web": ("cyp.web",),
    # Jobs that span parts: the administrator's writes, demo data, bringing a database to a usable state.
    "tasks": ("cyp.admin", "cyp.demo", "cyp.bootstrap"),
    "cli": ("cyp.cli", "cyp.__main__"),
    "ui": ("cyp.ui",),
    "pages": ("app_pages", "app"),
    # cyp/__init__.py: the version, importable by anyone.
    "package": ("cyp",),
}

DOMAIN = {"core", "access", "framework", "returns", "read", "board", "cycle"}

# The parts each part may import (besides itself and "package"). Storage imports no other part; no domain part
# imports ui; only pages (and app.py) import ui; pages import ui and, from anywhere else, only PAGE_NAMES.
ALLOWED: dict[str, set[str]] = {
    "storage": set(),
    "core": {"storage"},
    "access": {"storage", "core", "framework"},
    "framework": {"storage", "core"},
    "read": {"storage", "core", "framework"},
    # A template is pre-filled from, and an upload compared with, what the read side counts (the version that counts,
    # the open board questions); the read side never imports returns, so there is no cycle.
    "returns": {"storage", "core", "framework", "access", "read"},
    "board": {"storage", "core", "read"},
    "cycle": {"storage", "core", "access", "framework", "returns", "read"},
    "web": {"storage", "tasks"} | DOMAIN,
    "tasks": {"storage", "tasks"} | DOMAIN,
    # The command line and the Streamlit side name the web layer's routes (sign-in claim, sign-out, display links).
    "cli": {"storage", "tasks", "web"} | DOMAIN,
    "ui": {"storage", "tasks", "web"} | DOMAIN,
    "pages": {"ui"},
}

# What a page may import from outside cyp.ui: constants (UPPER_CASE) and types (CapWords: classes, exceptions,
# enums), never a function or a module; data and actions come through cyp.ui.
PAGE_NAMES = re.compile(r"[A-Z][A-Z0-9_]*|[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*")

# Imports that break the rule on main today: (importing file, imported module). Remove an entry with its fix; none
# are left, so a new import against the rule fails at once (fix the import, never list it here).
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Import:
    """One imported module (and, for ``from m import x``, the name taken from it), with where it was imported."""

    file: str
    line: int
    module: str
    name: str | None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> list[Path]:
    files = [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py")), *sorted((ROOT / "cyp").rglob("*.py"))]
    # Migration scripts are generated and frozen in time; they import only alembic and sqlalchemy.
    return [path for path in files if "versions" not in path.relative_to(ROOT).parts]


KNOWN_MODULES = {module_name(path) for path in source_files()}


def part_of(module: str) -> str | None:
    """The part holding ``module``, or None for a module outside the project (a library)."""
    best: tuple[int, str] | None = None
    for part, prefixes in PARTS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), part)
    return best[1] if best else None


def imports_of(path: Path, source: str | None = None) -> list[Import]:
    """Every project module ``path`` (or ``source``, as if it were that file) imports.

    ``from cyp import ui`` is an import of the module ``cyp.ui``; ``from cyp.status import X`` takes the name X.
    """
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: list[Import] = []
    relative = str(path.relative_to(ROOT))
    text = path.read_text() if source is None else source
    for node in ast.walk(ast.parse(text, filename=relative)):
        if isinstance(node, ast.Import):
            found += [Import(relative, node.lineno, alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in KNOWN_MODULES:
                    found.append(Import(relative, node.lineno, submodule, None))
                else:
                    found.append(Import(relative, node.lineno, source, alias.name))
    return [item for item in found if part_of(item.module) is not None]


def violations(sources: dict[Path, str] | None = None) -> dict[tuple[str, str], list[str]]:
    """Each import that breaks the rule, as {(file, module): ["file:line: why", ...]}; ``sources`` stands in for
    the text of some files."""
    sources = sources or {}
    broken: dict[tuple[str, str], list[str]] = {}
    for path in source_files():
        importer = part_of(module_name(path))
        assert importer is not None, f"{path} belongs to no part: add its module to PARTS"
        for item in imports_of(path, sources.get(path)):
            target = part_of(item.module)
            if target in (importer, "package"):
                continue
            if target in ALLOWED[importer]:
                continue
            if importer == "pages" and item.name is not None and PAGE_NAMES.fullmatch(item.name):
                continue
            what = f"{item.module}.{item.name}" if item.name else f"the module {item.module}"
            reason = f"{item.file}:{item.line}: {importer} imports {what} ({target})"
            broken.setdefault((item.file, item.module), []).append(reason)
    return broken


def test_every_part_imports_only_what_the_rule_allows():
    new = {edge: reasons for edge, reasons in violations().items() if edge not in KNOWN_VIOLATIONS}
    assert not new, "imports against docs/architecture.md:\n" + "\n".join(r for rs in new.values() for r in rs)


def test_known_violations_still_happen():
    # An entry whose import has gone is fixed: delete it, so the rule cannot quietly loosen again.
    gone = sorted(KNOWN_VIOLATIONS - set(violations()))
    assert not gone, f"fixed, remove from KNOWN_VIOLATIONS: {gone}"


def test_every_module_belongs_to_a_part_and_every_part_has_a_rule():
    assert set(ALLOWED) == set(PARTS) - {"package"}
    assert all(part_of(module_name(path)) for path in source_files())


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from cyp import ui\n", [("cyp.ui", None)]),
        (
            "from cyp.status import ALL_STATUSES, rollup_status\n",
            [("cyp.status", "ALL_STATUSES"), ("cyp.status", "rollup_status")],
        ),
        ("import cyp.storage.db\n", [("cyp.storage.db", None)]),
        ("def later():\n    from cyp.read import reports\n", [("cyp.read.reports", None)]),
        ("from .db import make_engine\n", [("cyp.storage.db", "make_engine")]),
        ("import pandas\nfrom streamlit import cache_data\n", []),
    ],
    ids=["from-package", "names", "dotted", "in-a-function", "relative", "libraries"],
)
def test_imports_are_read_as_modules_and_names(source, expected):
    assert [(item.module, item.name) for item in imports_of(ROOT / "cyp/storage/config.py", source)] == expected


def test_a_page_calling_the_domain_is_caught_and_its_constants_and_types_are_not():
    page = ROOT / "app_pages" / "overview.py"
    source = "\n".join(
        [
            "from cyp import ui",
            "from cyp.read.reports import ViewFilters, status_report",
            "from cyp.status import NO_RETURN",
        ]
    )
    assert violations({page: source}).get(("app_pages/overview.py", "cyp.read.reports")) == [
        "app_pages/overview.py:2: pages imports cyp.read.reports.status_report (read)"
    ]
    assert ("app_pages/overview.py", "cyp.status") not in violations({page: source})


def test_storage_importing_a_domain_part_is_caught():
    config = ROOT / "cyp" / "storage" / "config.py"
    found = violations({config: "from cyp.status import NO_RETURN\n"})
    assert found[("cyp/storage/config.py", "cyp.status")] == [
        "cyp/storage/config.py:1: storage imports cyp.status.NO_RETURN (core)"
    ]


def test_the_allowed_parts_import_each_other_in_one_direction():
    # A cycle (read importing returns while returns imports read) would make the rule's order meaningless.
    def reaches(start: str, goal: str, seen: frozenset[str] = frozenset()) -> bool:
        following = ALLOWED[start] - {start, "package"}
        return goal in following or any(reaches(part, goal, seen | {start}) for part in following - seen)

    assert [part for part in ALLOWED if reaches(part, part)] == []
