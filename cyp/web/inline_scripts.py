"""The app's own inline scripts, allowed by the Content-Security-Policy by hash.

Their text never changes at run time: what a script needs from the page (the board display's address) is read from
a ``data-`` attribute beside it, so one hash per script covers every run.
"""

from __future__ import annotations

# The board display: arrow keys and Space drive the slides only when no control has focus; on a focused button
# Space and Enter press that button, as everywhere else (Streamlit's own shortcuts would fire on a focused button).
BOARD_KEYS = """
if (!window.cypBoardKeys) {
  window.cypBoardKeys = true;
  document.addEventListener("keydown", (event) => {
    if (!document.querySelector(".board") || event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    const interactive = "button, a, input, select, textarea, summary, [contenteditable], [role=button], [role=link]";
    if (target && target.closest && target.closest(interactive)) return;
    const key = {ArrowLeft: "board_previous", ArrowRight: "board_next", " ": "board_pause"}[event.key];
    const button = key && document.querySelector(".st-key-" + key + " button");
    if (!button || button.disabled) return;
    event.preventDefault();
    button.click();
  });
}
"""

# The board display: rewrite the address in place (no history entry) from the parameters beside the script.
BOARD_ADDRESS = """
(() => {
  const holder = document.querySelector("[data-board-address]");
  if (!holder) return;
  const url = new URL(window.location.href);
  const params = JSON.parse(holder.dataset.boardAddress);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  if (url.href !== window.location.href) window.history.replaceState(window.history.state, "", url);
})();
"""

SCRIPTS = (BOARD_KEYS, BOARD_ADDRESS)
