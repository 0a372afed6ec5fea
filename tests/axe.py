"""axe-core in a Playwright page: inject the axe.min.js shipped by the pinned ``axe-playwright-python`` wheel
(nothing is downloaded at run time) and return the WCAG 2.2 A/AA violations that matter.

``serious_violations(page, exclude=...)`` is what the accessibility tests call; ``describe(violations)`` makes an
assertion message a person can act on (rule, impact, the selectors of the failing elements, axe's summary).
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page

WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
BLOCKING_IMPACTS = ("serious", "critical")


def axe_source() -> str:
    """The text of axe.min.js from the installed ``axe_playwright_python`` package."""
    return files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


def axe_version(page: Page) -> str:
    """The axe-core version running in ``page`` (injecting it first when needed)."""
    _inject(page)
    return str(page.evaluate("axe.version"))


def _inject(page: Page) -> None:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, not as a <script> tag: the app's CSP rightly refuses inline ones.
        page.evaluate(axe_source())


def run_axe(page: Page, tags: Iterable[str] = WCAG_TAGS) -> list[dict[str, Any]]:
    """Every axe violation of the given rule tags on the page as it is now (all impacts)."""
    _inject(page)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        list(tags),
    )
    return list(result["violations"])


def _excluded(rule: str, target: str, exclude: Iterable[tuple[str, str]]) -> bool:
    return any(rule == excluded_rule and excluded_target in target for excluded_rule, excluded_target in exclude)


def serious_violations(page: Page, exclude: Iterable[tuple[str, str]] = ()) -> list[dict[str, Any]]:
    """Serious and critical WCAG 2.2 A/AA violations, less the (rule, selector fragment) pairs in ``exclude``.

    A violation is kept when at least one of its failing elements is not excluded; only those elements are kept.
    Every exclusion must be recorded in docs/accessibility.md with why the app cannot fix it.
    """
    exclude = list(exclude)
    kept: list[dict[str, Any]] = []
    for violation in run_axe(page):
        if violation.get("impact") not in BLOCKING_IMPACTS:
            continue
        nodes = [
            node
            for node in violation["nodes"]
            if not _excluded(violation["id"], " ".join(map(str, node.get("target", []))), exclude)
        ]
        if nodes:
            kept.append({**violation, "nodes": nodes})
    return kept


def describe(violations: list[dict[str, Any]]) -> str:
    """One paragraph per violation: rule, impact, help text and the first failing elements."""
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']} [{violation['helpUrl']}]")
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(map(str, node.get('target', [])))} {node.get('html', '')[:160]}")
            lines.append(f"        {node.get('failureSummary', '')[:300]}")
    return "\n".join(lines)
