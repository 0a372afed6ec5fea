"""Status rules: reading statuses people write, indicator status, direction of travel and roll-ups.

Pure functions, no database and no Streamlit. The vocabulary of statuses and the
roll-up rule are data, in ``data/status-rules.yaml``; this module applies them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, get_args

from cyp.spelling import closest
from cyp.storage.config import PROJECT_ROOT
from cyp.storage.datafiles import SCHEMA_DIR, DataFileError, load_data_file

RULES_PATH = PROJECT_ROOT / "data" / "status-rules.yaml"
# The statuses a team reports, best first, as data/status-rules.yaml lists them (its schema requires the same four).
Status = Literal["Blue", "Green", "Amber", "Red"]
STATUSES: tuple[Status, ...] = get_args(Status)
# What a line shows for a quarter its team did not report: never something a team writes.
NO_RETURN: Final = "No return"
LineStatus = Literal[Status, "No return"]
ALL_STATUSES: tuple[LineStatus, ...] = (*STATUSES, NO_RETURN)
# Best first; a move towards the front is an improvement.
_RANK: dict[str, int] = {status: rank for rank, status in enumerate(STATUSES)}
# A status between two quarters, and an indicator's direction of travel.
StatusChange = Literal["Improved", "Worse", "Same"]
Direction = Literal["Improving", "Worsening", "No change"]
_CANONICAL = frozenset(ALL_STATUSES)
# Which way is better for an indicator: mirrors the ``polarity`` key of data/framework/plan-*.yaml and the
# Indicator.polarity column. Defined here once, beside the rule that reads it (indicator status); the framework's
# checks and the workbook's drop-down take it from here.
POLARITIES = ("higher", "lower")


class StatusRulesError(DataFileError):
    """The status rules file is missing something or says something impossible."""


_RULES_SCHEMA = SCHEMA_DIR / "status-rules.schema.json"


def _read_rules(path: Path | None = None) -> dict[str, Any]:
    """The parsed rules file (checked against ``data/schemas/status-rules.schema.json``), re-read when it changes."""
    # The paths made once: every status looked up reads the rules (a stat of the file says whether it changed).
    path = RULES_PATH if path is None else Path(path)
    try:
        return load_data_file(path, _RULES_SCHEMA)
    except DataFileError as exc:
        raise StatusRulesError(str(exc)) from exc


def _normalise(text: str) -> str:
    """Case, spaces, hyphens/underscores and a trailing full stop do not matter when matching a status."""
    text = re.sub(r"[-_\u2013\u2014]", " ", text.casefold())
    return re.sub(r"\s+", " ", text).strip(" .")


_vocabulary_cache: dict[int, dict[str, str]] = {}


def _vocabulary(path: Path | None = None) -> dict[str, str]:
    """Every accepted spelling (normalised) mapped to its canonical status; rebuilt only when the file changes."""
    rules = _read_rules(path)
    # Keyed by the parsed file's identity: _read_rules returns the same dict until the file changes.
    if (cached := _vocabulary_cache.get(id(rules))) is not None:
        return cached
    statuses = rules.get("statuses") or {}
    words: dict[str, str] = {}
    for status in STATUSES:
        entry = statuses.get(status)
        if not isinstance(entry, dict):
            raise StatusRulesError(f"status rules: no entry for {status} under 'statuses'")
        for word in [status, *(entry.get("synonyms") or [])]:
            key = _normalise(str(word))
            if words.get(key, status) != status:
                raise StatusRulesError(f"status rules: '{word}' is listed under both {words[key]} and {status}")
            words[key] = status
    _vocabulary_cache.clear()
    _vocabulary_cache[id(rules)] = words
    return words


def _meanings() -> dict[str, str]:
    rules = _read_rules()
    meanings: dict[str, str] = {status: str(rules["statuses"][status]["meaning"]) for status in STATUSES}
    meanings[NO_RETURN] = str((rules.get("no_return") or {}).get("meaning", "no update this quarter"))
    return meanings


# Plain-English meaning of each status, e.g. Amber -> "some slippage, recoverable".
STATUS_MEANINGS: dict[str, str] = _meanings()


# Words that may stand beside a status without changing it ("Green and on track", "RAG status: Amber").
_FILLER_WORDS = frozenset({"and", "is", "status", "rag", "overall", "currently", "now", "still"})
# Words that turn a status round ("not green"): a cell holding one is never read as, or offered, a status.
_NEGATIONS = frozenset({"not", "no", "never", "isnt", "nor"})
_WORD = re.compile(r"[^\W_]+")


def _phrases() -> dict[tuple[str, ...], str]:
    """Every spelling of more than one letter, as a tuple of words, mapped to its status ("on track" -> Green)."""
    words = _vocabulary()
    key = id(words)
    if (cached := _phrase_cache.get(key)) is None:
        cached = {tuple(_WORD.findall(word)): status for word, status in words.items() if len(word) > 1}
        cached.pop((), None)
        _phrase_cache.clear()
        _phrase_cache[key] = cached
    return cached


_phrase_cache: dict[int, dict[tuple[str, ...], str]] = {}


def status_words(text: str) -> tuple[set[str], list[str]]:
    """The statuses that words of ``text`` name (longest spelling first, so "not on track" is Red) and the words
    left over, in order."""
    words = _WORD.findall(_normalise(text).replace("'", ""))
    phrases = _phrases()
    longest = max((len(phrase) for phrase in phrases), default=1)
    named: set[str] = set()
    left: list[str] = []
    at = 0
    while at < len(words):
        for size in range(min(longest, len(words) - at), 0, -1):
            status = phrases.get(tuple(words[at : at + size]))
            if status is not None:
                named.add(status)
                at += size
                break
        else:
            left.append(words[at])
            at += 1
    return named, left


def parse_status(text: object) -> str | None:
    """The canonical reportable status (Blue, Green, Amber, Red) for what a team wrote; None when blank or unknown.

    Forgiving about case, spaces and synonyms (``G``, ``green ``, ``Complete``, ``On track``); a cell such as
    ``Green - on track``, ``Green on track`` or ``Green & on track`` is accepted when every word names the same
    status (joining words such as "and" aside). Never returns "No return", which is not something a team reports.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    words = _vocabulary()
    key = _normalise(str(text))
    if not key:
        return None
    if key in words:
        return words[key]
    parts = [_normalise(part) for part in re.split(r"[-\u2013\u2014:()/,]", str(text))]
    found = {words.get(part) for part in parts if part}
    if len(found) == 1 and None not in found:
        return found.pop()
    named, left = status_words(str(text))
    if len(named) == 1 and all(word in _FILLER_WORDS for word in left):
        return named.pop()
    return None


def suggest_status(text: str) -> str | None:
    """The status a mistyped word most likely meant (``Ambr`` -> Amber), for "did you mean"; None if none is close.

    Never a status contrary to words in the cell: a cell naming one status ("Green on track, hubs open") is offered
    that status, one naming two ("Green but behind") or a negation ("not green") is offered none.
    """
    if (exact := parse_status(text)) is not None:
        return exact
    key = _normalise(str(text))
    if len(key) < 2:
        return None
    named, left = status_words(str(text))
    if _NEGATIONS.intersection(left):
        return None
    # One-letter synonyms would make every short typo look close to something.
    words = {word: status for word, status in _vocabulary().items() if len(word) > 1}
    # A mistyped status word counts as naming its status too ("Grene, amber" names two: nothing to suggest).
    single = [word for word in words if " " not in word]
    for word in left:
        if len(word) >= 3 and word not in _FILLER_WORDS and (close := closest(word, single)):
            named.add(words[close])
    if len(named) > 1:
        return None
    if named:
        return named.pop()
    close = closest(key, words)
    return words[close] if close else None


def line_status(reported: str | None) -> str:
    """A line's status for a quarter: what the team reported, or "No return" when it reported nothing."""
    if reported is None or (isinstance(reported, float) and math.isnan(reported)):
        return NO_RETURN
    status = parse_status(reported)
    return status if status is not None else NO_RETURN


def _number(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _polarity(polarity: str | None) -> str | None:
    if polarity is None or (isinstance(polarity, float) and math.isnan(polarity)):
        return None
    text = str(polarity).strip().casefold()
    return text if text in POLARITIES else None


def default_tolerance(path: Path | None = None) -> float:
    """The amber band for indicators without their own tolerance, as a fraction of the target."""
    return float((_read_rules(path).get("indicator") or {}).get("default_tolerance", 0.05))


def indicator_status(
    value: float | None, target: float | None, polarity: str | None, tolerance: float | None = None
) -> str | None:
    """Green when the target is met, Amber when short of it by at most ``tolerance`` × |target|, Red beyond.

    ``polarity`` is "higher" or "lower" (which is better); ``tolerance`` defaults to the rules file's
    ``indicator.default_tolerance``. None when the value, target or polarity is missing (NaN counts as missing).
    """
    value, target, direction = _number(value), _number(target), _polarity(polarity)
    if value is None or target is None or direction is None:
        return None
    band = _number(tolerance)
    band = abs(target) * (default_tolerance() if band is None else abs(band))
    shortfall = target - value if direction == "higher" else value - target
    if shortfall <= 0:
        return "Green"
    return "Amber" if shortfall <= band + 1e-12 * max(1.0, abs(target)) else "Red"


def direction_of_travel(current: float | None, previous: float | None, polarity: str | None) -> Direction | None:
    """ "Improving", "Worsening" or "No change" from the previous period's value; None when not computable."""
    current, previous, direction = _number(current), _number(previous), _polarity(polarity)
    if current is None or previous is None or direction is None:
        return None
    if math.isclose(current, previous, rel_tol=1e-9, abs_tol=1e-12):
        return "No change"
    better = current > previous if direction == "higher" else current < previous
    return "Improving" if better else "Worsening"


def direction_text(current: float | None, previous: float | None, polarity: str | None) -> str:
    """The direction of travel in words, or the real reason there is none, checked in this order: "no better
    direction set" (no polarity), "no value this quarter", "no earlier value"."""
    if _polarity(polarity) is None:
        return "no better direction set"
    if _number(current) is None:
        return "no value this quarter"
    if _number(previous) is None:
        return "no earlier value"
    return str(direction_of_travel(current, previous, polarity))


def status_change(current: str | None, previous: str | None) -> StatusChange | None:
    """ "Improved", "Worse" or "Same" between two quarters' statuses (Blue best, Red worst).

    Two "No return"s are the Same; a change to or from "No return" (or an unknown status) is None, since there is
    nothing to compare: the exceptions view lists missing returns separately.
    """
    current, previous = _as_status(current), _as_status(previous)
    if current is None or previous is None:
        return None
    if current == NO_RETURN or previous == NO_RETURN:
        return "Same" if current == previous else None
    if _RANK[current] == _RANK[previous]:
        return "Same"
    return "Improved" if _RANK[current] < _RANK[previous] else "Worse"


def _as_status(status: str | None) -> str | None:
    if status in _CANONICAL:  # the common case, from the database: skip parsing
        return status
    if status is None or (isinstance(status, float) and math.isnan(status)):
        return None
    if status == NO_RETURN or _normalise(str(status)) == _normalise(NO_RETURN):
        return NO_RETURN
    return parse_status(status)


@dataclass(frozen=True)
class RollupRule:
    """How lines' statuses roll up to an objective, outcome or index domain (see ``data/status-rules.yaml``)."""

    no_return_share: float = 0.5
    no_return_counts_as: str | None = None
    red_share: float = 0.25
    amber_share: float = 0.25
    any_red_is_amber: bool = True

    def __post_init__(self) -> None:
        for name in ("no_return_share", "red_share", "amber_share"):
            share = getattr(self, name)
            if not isinstance(share, int | float) or not 0 <= share <= 1:
                raise StatusRulesError(f"status rules: rollup.{name} must be a fraction from 0 to 1, not {share!r}")
        if not isinstance(self.any_red_is_amber, bool):
            raise StatusRulesError(
                f"status rules: rollup.any_red_is_amber must be true or false, not {self.any_red_is_amber!r}"
            )
        if self.no_return_counts_as is not None and self.no_return_counts_as not in STATUSES:
            raise StatusRulesError(
                f"status rules: rollup.no_return_counts_as must be null or one of {', '.join(STATUSES)}, "
                f"not {self.no_return_counts_as!r}"
            )


def load_rollup_rule(path: Path | None = None) -> RollupRule:
    """The roll-up rule from ``data/status-rules.yaml`` (or ``path``); raises StatusRulesError when it is invalid."""
    section = _read_rules(path).get("rollup")
    if not isinstance(section, dict):
        raise StatusRulesError("status rules: no 'rollup' section")
    known = {"no_return_share", "no_return_counts_as", "red_share", "amber_share", "any_red_is_amber"}
    if unknown := set(section) - known:
        raise StatusRulesError(f"status rules: unknown rollup setting(s) {', '.join(sorted(unknown))}")
    counts_as = section.get("no_return_counts_as")
    if counts_as is not None:
        counts_as = parse_status(counts_as) or str(counts_as)
    return RollupRule(
        no_return_share=section.get("no_return_share", 0.5),
        no_return_counts_as=counts_as,
        red_share=section.get("red_share", 0.25),
        amber_share=section.get("amber_share", 0.25),
        any_red_is_amber=section.get("any_red_is_amber", True),
    )


def status_counts(statuses: Iterable[str | None]) -> dict[str, int]:
    """How many of each status, with every key of ALL_STATUSES present in order (None counts as "No return")."""
    counts: dict[str, int] = dict.fromkeys(ALL_STATUSES, 0)
    for status in statuses:
        canonical = _as_status(status) if status is not None else NO_RETURN
        if canonical is None:
            raise ValueError(f"{status!r} is not a status; expected one of {', '.join(ALL_STATUSES)}")
        counts[canonical] += 1
    return counts


def rollup_status(counts: Mapping[str, int], rule: RollupRule | None = None) -> str:
    """One status for a group of lines from how many lines have each status (missing keys count 0).

    "No return" when there are no lines, or when more than ``rule.no_return_share`` of them have no return.
    """
    rule = rule or load_rollup_rule()
    if unknown := set(counts) - set(ALL_STATUSES):
        raise ValueError(f"unknown status(es) in counts: {', '.join(sorted(map(str, unknown)))}")
    tally: dict[str, int] = {status: int(counts.get(status, 0)) for status in ALL_STATUSES}
    if any(n < 0 for n in tally.values()):
        raise ValueError("status counts cannot be negative")
    total = sum(tally.values())
    missing = tally[NO_RETURN]
    if total == 0 or missing > rule.no_return_share * total:
        return NO_RETURN
    if rule.no_return_counts_as is not None:
        tally[rule.no_return_counts_as] += missing
    counted = sum(tally[status] for status in STATUSES)
    if counted == 0:
        return NO_RETURN
    red, red_or_amber = tally["Red"], tally["Red"] + tally["Amber"]
    if red and red >= rule.red_share * counted:
        return "Red"
    if (red and rule.any_red_is_amber) or (red_or_amber and red_or_amber >= rule.amber_share * counted):
        return "Amber"
    if tally["Blue"] == counted:
        return "Blue"
    return "Green"


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


def describe_rule(rule: RollupRule | None = None) -> str:
    """The roll-up rule in plain English, to show wherever a rolled-up status appears."""
    rule = rule or load_rollup_rule()
    if rule.no_return_counts_as is None:
        missing = "Lines with no return are left out"
    else:
        missing = f"Lines with no return count as {rule.no_return_counts_as}"
    return (
        f"Overall status: Red when at least {_percent(rule.red_share)} of lines are Red; "
        f"Amber when {'any line is Red or ' if rule.any_red_is_amber else ''}"
        f"at least {_percent(rule.amber_share)} are Red or Amber; "
        "Blue when every line is Blue (complete); otherwise Green. "
        f"{missing}, and it shows No return when more than {_percent(rule.no_return_share)} of lines have none."
    )
