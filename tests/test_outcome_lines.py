"""How the Outcomes page groups its lines (cyp.ui.data.objective_lines), on lines read from a real database."""

from __future__ import annotations

import pytest

from cyp.bootstrap import initialise_database
from cyp.read.reports import line_statuses, line_trends
from cyp.storage.db import read_session, write_session
from cyp.ui.data import objective_lines
from tests.readside_factory import add_return

ATTENTION = ("Red", "Amber", "No return")
PREVIOUS, QUARTER = "2022-23 Q3", "2022-23 Q4"


@pytest.fixture
def lines_and_trends(engine):
    initialise_database(engine)
    with write_session(engine) as session:
        add_return(session, "family-services", PREVIOUS, {"19-FB-1.1": "Green", "19-FB-1.2": "Red"})
        add_return(
            session,
            "family-services",
            QUARTER,
            {"19-FB-1.1": "Green", "19-FB-1.2": "Green", "19-FB-1.3": "Amber", "19-FB-1.4": "Blue"},
        )
    with read_session(engine) as session:
        lines = line_statuses(session, QUARTER, "2019-23")
        trends = line_trends(session, "2019-23", (PREVIOUS, QUARTER))
    return lines[lines["outcome_ref"] == "19-FB"].reset_index(drop=True), trends


def test_lines_needing_attention_come_first_then_the_rest_in_plan_order(lines_and_trends):
    lines, trends = lines_and_trends
    grouped = objective_lines(lines, trends, 2, ATTENTION)
    assert grouped.count == len(lines) and list(grouped.objectives) == list(dict.fromkeys(lines["objective_ref"]))
    first = grouped.objectives["19-FB-1"]
    # 19-FB-1: 1.1 Green, 1.2 Green, 1.3 Amber, 1.4 Blue: Amber (and any line without a return) first.
    of_objective = lines[lines["objective_ref"] == "19-FB-1"]
    attention = [
        ref for ref, status in zip(of_objective["ref"], of_objective["status"], strict=True) if status in ATTENTION
    ]
    others = [ref for ref in of_objective["ref"] if ref not in attention]
    assert [card.ref for card in first.cards] == attention + others and attention[0] == "19-FB-1.3"
    assert first.counts == of_objective["status"].value_counts().to_dict() and first.counts["Amber"] == 1
    card = next(card for card in first.cards if card.ref == "19-FB-1.2")
    assert card.trend == ((PREVIOUS, "Red"), (QUARTER, "Green")) and card.change == "Improved"
    # Beyond the first two cards, the rest as a table; the strips hold the trend rows in the trends' order.
    assert list(first.rest["Line"]) == (attention + others)[2:]
    assert list(first.rest.columns) == ["Line", "Status", "Responsible", "Progress"]
    assert set(first.strip_first["line"]) == set((attention + others)[:2])
    assert set(first.strip_all["line"]) == set(attention + others)
    assert list(first.strip_all.index) == sorted(first.strip_all.index)
    assert list(first.strip_all.columns) == ["line", "quarter", "status"]


def test_a_short_objective_has_no_rest_and_one_strip(lines_and_trends):
    lines, trends = lines_and_trends
    grouped = objective_lines(lines, trends, 25, ATTENTION)
    for objective in grouped.objectives.values():
        assert objective.rest.empty and objective.strip_first is objective.strip_all
    empty = objective_lines(lines.iloc[0:0], trends, 25, ATTENTION)
    assert (empty.count, empty.objectives) == (0, {})
