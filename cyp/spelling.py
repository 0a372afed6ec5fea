"""The one did-you-mean matcher: the closest known word to a mistyped one, with one cutoff policy for every caller.

Callers normalise both sides the same way first (case, spacing, punctuation); this module only compares.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# How alike (difflib's ratio, 0 to 1) a typed word and a known one must be before we suggest it. One value for every
# caller, so a team, a partner, a status and a sheet heading are forgiven the same typos.
SUGGESTION_CUTOFF = 0.6


def closest(typed: str, known: Iterable[str], cutoff: float = SUGGESTION_CUTOFF) -> str | None:
    """The known word most like ``typed``, or None when none is at least ``cutoff`` alike."""
    matches = difflib.get_close_matches(typed, list(known), n=1, cutoff=cutoff)
    return matches[0] if matches else None
