"""HTML_CodeSniffer in a Playwright page: the second accessibility engine beside axe-core (tests/axe.py).

The engine is the ``html_codesniffer`` package from the npm registry, installed by ``npm ci`` in ``tests/node/``
(``scripts/test.sh`` runs it when ``tests/node/node_modules`` is missing; nothing is downloaded at run time). It is
injected into the page like axe and run against the WCAG2AA standard; its errors (not its warnings or notices, which
ask a person to check something) are the serious findings. Findings that are false positives are set aside by
``tests/a11y-false-positives.yaml``, one entry and one reason each, shared with the axe checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from playwright.sync_api import Page

NODE_DIR = Path(__file__).resolve().parent / "node"
HTMLCS_JS = NODE_DIR / "node_modules" / "html_codesniffer" / "build" / "HTMLCS.js"
FALSE_POSITIVES = Path(__file__).resolve().parent / "a11y-false-positives.yaml"
ERROR = 1  # HTMLCS.ERROR; 2 is a warning, 3 a notice

# Each message with a short, stable description of its element: the data-testid and st-key- classes of its
# ancestors (Streamlit's own names), then the element's tag, id and role.
_RUN = """() => new Promise(resolve => HTMLCS.process('WCAG2AA', document, () => {
  const describe = element => {
    if (!element || !element.tagName) return String(element);
    const parts = [];
    for (let node = element.parentElement; node && node !== document.body; node = node.parentElement) {
      const testid = node.getAttribute('data-testid');
      const key = [...node.classList].find(name => name.startsWith('st-key-'));
      if (testid) parts.unshift(`[data-testid="${testid}"]`);
      if (key) parts.unshift('.' + key);
    }
    let own = element.tagName.toLowerCase();
    if (element.id) own += '#' + element.id;
    if (element.getAttribute('role')) own += `[role="${element.getAttribute('role')}"]`;
    if (element.getAttribute('data-testid')) own += `[data-testid="${element.getAttribute('data-testid')}"]`;
    return [...parts.slice(-4), own].join(' ');
  };
  resolve(HTMLCS.getMessages().map(m => ({
    type: m.type, code: m.code, message: m.msg, target: describe(m.element),
    html: m.element && m.element.outerHTML ? m.element.outerHTML.slice(0, 200) : '',
  })));
}))"""


@dataclass(frozen=True)
class FalsePositive:
    """A finding the app sets aside: which engine, the rule (a regular expression), where, and why."""

    engine: str
    rule: str
    target: str
    reason: str

    def matches(self, engine: str, rule: str, target: str) -> bool:
        """Whether this entry covers a finding of ``rule`` on ``target`` by ``engine``."""
        return engine == self.engine and re.search(self.rule, rule) is not None and self.target in target


def false_positives(engine: str | None = None) -> list[FalsePositive]:
    """The entries of tests/a11y-false-positives.yaml (of one engine when given); each must give a reason."""
    entries = yaml.safe_load(FALSE_POSITIVES.read_text(encoding="utf-8")) or []
    found = []
    for entry in entries:
        if not str(entry.get("reason", "")).strip():
            raise ValueError(f"{FALSE_POSITIVES.name}: entry {entry} has no reason")
        found.append(FalsePositive(str(entry["engine"]), str(entry["rule"]), str(entry["target"]), entry["reason"]))
    return [entry for entry in found if engine is None or entry.engine == engine]


def htmlcs_available() -> bool:
    """Whether ``npm ci`` has installed the engine in tests/node/."""
    return HTMLCS_JS.exists()


def run_htmlcs(page: Page) -> list[dict[str, Any]]:
    """Every HTML_CodeSniffer WCAG2AA message on the page as it is now (errors, warnings and notices)."""
    if not page.evaluate("typeof window.HTMLCS !== 'undefined'"):
        # Evaluated through the browser's debugging protocol, as axe is: the app's Content-Security-Policy rightly
        # blocks an injected inline <script>. The engine's top-level `var HTMLCS` is published on window.
        page.evaluate(HTMLCS_JS.read_text(encoding="utf-8") + "\n;window.HTMLCS = HTMLCS;")
    return list(page.evaluate(_RUN))


def serious_findings(page: Page) -> list[dict[str, Any]]:
    """HTML_CodeSniffer's errors on the page, less the documented false positives."""
    ignored = false_positives("htmlcs")
    return [
        message
        for message in run_htmlcs(page)
        if message["type"] == ERROR
        and not any(entry.matches("htmlcs", message["code"], message["target"]) for entry in ignored)
    ]


def describe(findings: list[dict[str, Any]]) -> str:
    """One line per finding, then its element, for an assertion message."""
    lines = []
    for finding in findings[:30]:
        lines.append(f"htmlcs {finding['code']}: {finding['message'][:200]}")
        lines.append(f"    {finding['target']}  {finding['html'][:160]}")
    if len(findings) > 30:
        lines.append(f"... and {len(findings) - 30} more")
    return "\n".join(lines)
