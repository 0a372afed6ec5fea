"""The young people's summary: what the plan promised and how it is going, in plain words.

It carries no team commentary and no board questions at all. Numbers of *people* (an indicator whose unit and
name say it counts children, families...) from 1 up to ``suppress_up_to`` (in data/young-people.yaml) are published
as the words of ``suppressed`` ("fewer than 6"), so no child can be picked out. Counts of plan lines and promises
are about the council's work, so they are always shown as they are.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from cyp.quarters import parse_quarter
from cyp.read import queries
from cyp.read.browse import plan_outcomes_and_objectives
from cyp.read.reports import UnknownPlan
from cyp.status import ALL_STATUSES, NO_RETURN, RollupRule, load_rollup_rule, rollup_status
from cyp.storage.config import PROJECT_ROOT
from cyp.storage.datafiles import load_data_file

YOUNG_PEOPLE_TEXT = PROJECT_ROOT / "data" / "young-people.yaml"
ON_TRACK = ("Green", "Blue")
NOT_GOING_WELL = ("Red", "Amber")


def young_people_words() -> dict[str, Any]:
    """The plain words for the summary, from ``data/young-people.yaml``."""
    return load_data_file(YOUNG_PEOPLE_TEXT)


def publishable_count(count: int, words: Mapping[str, Any]) -> str:
    """A count of people fit to publish: "none" for 0, ``suppressed`` from 1 to ``suppress_up_to``, else the count."""
    if count <= 0:
        return "none"
    return str(words["suppressed"]) if count <= int(words["suppress_up_to"]) else str(count)


def counts_people(name: str, unit: str, words: Mapping[str, Any]) -> bool:
    """Whether an indicator counts people (so small values are suppressed): its unit and a word in its name."""
    if unit not in words["people_units"]:
        return False
    lowered = name.lower()
    return any(re.search(rf"\b{re.escape(word.lower())}\b", lowered) for word in words["people_words"])


@dataclass(frozen=True)
class Promise:
    """One objective of the plan ("what we promised") with the rolled-up status of its lines this quarter."""

    text: str
    status: str


@dataclass(frozen=True)
class PublishedNumber:
    """An indicator's latest value as the page may show it (people counts from 1 to 5 already suppressed)."""

    name: str
    value: str
    quarter: str


@dataclass(frozen=True)
class OutcomeNews:
    """One outcome or theme for the summary: its promises and how they are going, its work, a few numbers."""

    ref: str
    name: str
    status: str
    promises: tuple[Promise, ...]
    line_counts: tuple[tuple[str, int], ...]  # (status, number of plan lines): never suppressed
    numbers: tuple[PublishedNumber, ...] = ()
    headline: str = ""  # "We made 4 promises here. 3 of them are on track or done."
    work: tuple[str, ...] = ()  # "Teams are doing 12 pieces of work…", then "Going well: 8" per status

    @property
    def on_track(self) -> int:
        """How many promises are on track or done."""
        return sum(promise.status in ON_TRACK for promise in self.promises)

    @property
    def lines(self) -> int:
        """How many plan lines (pieces of work) the theme has."""
        return sum(count for _status, count in self.line_counts)

    def promises_with(self, statuses: tuple[str, ...]) -> tuple[str, ...]:
        """The promises whose status is one of ``statuses``, in plan order."""
        return tuple(promise.text for promise in self.promises if promise.status in statuses)


def _value_text(value: float, unit: str, people: bool, words: Mapping[str, Any]) -> str | None:
    template = words["units"].get(unit)
    if template is None:
        return None
    if people:
        return publishable_count(round(value), words)
    return template.format(value=f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}")


def _numbers(
    session: Session, outcome_refs: list[str], quarter: str, words: Mapping[str, Any], signed_off_only: bool
) -> dict[str, tuple[PublishedNumber, ...]]:
    """{outcome ref: the latest value up to ``quarter`` of each of its indicators, as published}, in one query."""
    latest: dict[str, dict[str, Any]] = {ref: {} for ref in outcome_refs}
    statement = queries.indicator_values_by_outcome(outcome_refs, signed_off_only=signed_off_only)
    for row in session.execute(statement):
        if row.quarter <= quarter:  # labels sort in time order; rows come oldest first, so the last one stays
            latest[row.outcome_ref][row.ref] = row
    published: dict[str, tuple[PublishedNumber, ...]] = {}
    for outcome_ref, rows in latest.items():
        numbers = []
        for row in rows.values():
            people = counts_people(str(row.name), str(row.unit), words)
            value = float(row.value) if row.value is not None else float("nan")
            text = _value_text(value, str(row.unit), people, words)
            if text is not None:
                numbers.append(PublishedNumber(str(row.name), text, str(row.quarter)))
        published[outcome_ref] = tuple(numbers)
    return published


def young_people_summary(
    session: Session,
    quarter: str,
    plan_ref: str,
    words: Mapping[str, Any] | None = None,
    *,
    signed_off_only: bool = False,
) -> list[OutcomeNews]:
    """Each outcome of the plan in the quarter, in plan order: promises with their status, work counts, numbers.

    ``signed_off_only`` counts each team's latest signed-off return instead of its current one (sign-off switched
    on: :func:`cyp.read.signoff.signoff_enabled`), so nothing an approver has not seen is published.
    """
    words = words if words is not None else young_people_words()
    plan = plan_outcomes_and_objectives(session, plan_ref)
    if plan is None:
        raise UnknownPlan(f"There is no plan '{plan_ref}'.")
    outcomes, objectives = plan
    # Counted in the database, once: each objective's lines per status for its promise, and an outcome's are the
    # sum of its objectives' (every line belongs to one objective of one outcome).
    by_objective: dict[str, Counter[str]] = {}
    counts = queries.status_counts_by_objective(plan_ref, parse_quarter(quarter).label, signed_off_only=signed_off_only)
    for objective_ref, status, count in session.execute(counts):
        by_objective.setdefault(objective_ref, Counter())[status] += count
    by_outcome: dict[str, dict[str, int]] = {ref: dict.fromkeys(ALL_STATUSES, 0) for ref, _name in outcomes}
    for ref, _text, parent in objectives:
        for status, count in by_objective.get(ref, Counter()).items():
            by_outcome[parent][status] = by_outcome[parent].get(status, 0) + count
    numbers = _numbers(session, [ref for ref, _name in outcomes], quarter, words, signed_off_only)
    news = []
    for outcome_ref, name in outcomes:
        promises = tuple(
            Promise(text, rollup_status(by_objective.get(ref, Counter())))
            for ref, text, parent in objectives
            if parent == outcome_ref
        )
        outcome_counts = by_outcome[outcome_ref]
        outcome = OutcomeNews(
            ref=outcome_ref,
            name=name,
            status=rollup_status(outcome_counts),
            promises=promises,
            line_counts=tuple((status, int(outcome_counts[status])) for status in ALL_STATUSES),
            numbers=numbers[outcome_ref],
        )
        news.append(
            replace(outcome, headline=on_track_sentence(outcome, words), work=tuple(work_sentences(outcome, words)))
        )
    return news


def on_track_sentence(outcome: OutcomeNews, words: Mapping[str, Any]) -> str:
    """ "We made 4 promises here. 3 of them are on track or done." """
    total, on_track = len(outcome.promises), outcome.on_track
    key = "none" if on_track == 0 else "all" if on_track == total else "one" if on_track == 1 else "some"
    return str(words["promises_on_track"][key]).format(total=total, on_track=on_track)


def work_sentences(outcome: OutcomeNews, words: Mapping[str, Any]) -> list[str]:
    """How many pieces of work the theme has, then one "going well: 8" per status that has any."""
    first = str(words["work_count_one"]) if outcome.lines == 1 else str(words["work_count"]).format(lines=outcome.lines)
    return [first] + [
        str(words["work_status"]).format(status=str(words["statuses"][status]).capitalize(), count=count)
        for status, count in outcome.line_counts
        if count
    ]


def rule_sentences(words: Mapping[str, Any], rule: RollupRule | None = None) -> list[str]:
    """The roll-up rule (``data/status-rules.yaml``) in the summary's plain words."""
    rule = rule or load_rollup_rule()
    plain = words["rule"]

    def share(value: float) -> str:
        return f"{value * 100:g}%"

    amber = plain["amber_any_red"] if rule.any_red_is_amber else plain["amber"]
    sentences = [
        str(plain["red"]).format(share=share(rule.red_share)),
        str(amber).format(share=share(rule.amber_share)),
        str(plain["blue"]),
    ]
    if rule.no_return_counts_as is None or rule.no_return_counts_as == NO_RETURN:
        sentences.append(str(plain["no_news"]).format(share=share(rule.no_return_share)))
    return sentences


def summary_words(news: list[OutcomeNews], words: Mapping[str, Any]) -> list[str]:
    """Every sentence the summary writes itself (not the plan's own promise texts), in page order.

    The page shows exactly these; the readability test measures them.
    """
    sentences = [str(words["intro"]), str(words["print_hint"])]
    for outcome in news:
        sentences += [outcome.headline, *outcome.work]
        sentences += [str(words[key]) for key in ("going_well", "not_going_well", "no_news")]
        sentences += [str(words["number"]).format(**vars(n)) for n in outcome.numbers]
    sentences += [str(words["rule_heading"]), *rule_sentences(words), str(words["privacy"])]
    return sentences
