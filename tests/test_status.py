"""Status rules: parsing, indicator status, direction of travel, changes and the roll-up rule (exhaustively)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import yaml

from cyp.status import (
    ALL_STATUSES,
    NO_RETURN,
    RULES_PATH,
    STATUS_MEANINGS,
    STATUSES,
    RollupRule,
    StatusRulesError,
    describe_rule,
    direction_of_travel,
    direction_text,
    indicator_status,
    line_status,
    load_rollup_rule,
    parse_status,
    rollup_status,
    status_change,
    status_counts,
    suggest_status,
)

RANK = {status: rank for rank, status in enumerate(STATUSES)}  # Blue best


def all_counts(max_lines: int) -> list[dict[str, int]]:
    """Every mix of statuses over 0..max_lines lines, as counts keyed by ALL_STATUSES."""
    mixes = []
    for n in range(max_lines + 1):
        for combo in itertools.combinations_with_replacement(ALL_STATUSES, n):
            mixes.append(status_counts(combo))
    return mixes


MIXES = all_counts(6)


def write_rules(tmp_path: Path, **rollup: object) -> Path:
    path = tmp_path / "status-rules.yaml"
    path.write_text(yaml.safe_dump({"rollup": rollup}), encoding="utf-8")
    return path


def test_vocabulary_is_shared_with_models() -> None:
    assert STATUSES == ("Blue", "Green", "Amber", "Red")
    assert ALL_STATUSES == ("Blue", "Green", "Amber", "Red", "No return")
    assert set(STATUS_MEANINGS) == set(ALL_STATUSES)
    assert STATUS_MEANINGS["Blue"] == "complete"
    assert STATUS_MEANINGS["Green"] == "on track"
    assert STATUS_MEANINGS["Amber"] == "some slippage, recoverable"
    assert STATUS_MEANINGS["Red"] == "off track, needs intervention"
    assert STATUS_MEANINGS[NO_RETURN] == "no update this quarter"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("G", "Green"),
        ("g", "Green"),
        ("green ", "Green"),
        ("GREEN", "Green"),
        (" Green\n", "Green"),
        ("On track", "Green"),
        ("on-track.", "Green"),
        ("Green - on track", "Green"),
        ("Green (on track)", "Green"),
        ("Complete", "Blue"),
        ("Completed", "Blue"),
        ("Done", "Blue"),
        ("BLUE", "Blue"),
        ("A", "Amber"),
        ("amber", "Amber"),
        ("At risk", "Amber"),
        ("R", "Red"),
        ("Off track", "Red"),
        ("Red – off track", "Red"),
        ("Amber - on track", None),
        ("Ambr", None),
        ("purple", None),
        ("", None),
        ("   ", None),
        (None, None),
        (float("nan"), None),
        (3, None),
        ("No return", None),
    ],
)
def test_parse_status(text: object, expected: str | None) -> None:
    assert parse_status(text) == expected


def test_every_synonym_in_the_rules_file_parses_to_its_status() -> None:
    rules = yaml.safe_load(RULES_PATH.read_text(encoding="utf-8"))
    for status, entry in rules["statuses"].items():
        assert status in STATUSES
        for word in [status, *entry["synonyms"]]:
            assert parse_status(word) == status, word
            assert parse_status(f"  {str(word).upper()} ") == status, word


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ambr", "Amber"),
        ("Amberr", "Amber"),
        ("Gren", "Green"),
        ("Geen", "Green"),
        ("Rde", "Red"),
        ("Blu", "Blue"),
        ("Compelte", "Blue"),
        ("on trak", "Green"),
        ("Green", "Green"),
        ("xyz", None),
        ("purple", None),
        ("", None),
        ("q", None),
        ("Amber - on track", None),
    ],
)
def test_suggest_status(text: str, expected: str | None) -> None:
    assert suggest_status(text) == expected


@pytest.mark.parametrize(
    ("reported", "expected"),
    [("Green", "Green"), ("red", "Red"), (None, NO_RETURN), (float("nan"), NO_RETURN), ("", NO_RETURN)],
)
def test_line_status(reported: str | None, expected: str) -> None:
    assert line_status(reported) == expected


@pytest.mark.parametrize(
    ("value", "target", "polarity", "tolerance", "expected"),
    [
        (100, 100, "higher", None, "Green"),
        (120, 100, "higher", None, "Green"),
        (95, 100, "higher", None, "Amber"),  # exactly on the default 5% band
        (94.9, 100, "higher", None, "Red"),
        (90, 100, "higher", 0.1, "Amber"),
        (89, 100, "higher", 0.1, "Red"),
        (100, 100, "lower", None, "Green"),
        (80, 100, "lower", None, "Green"),
        (105, 100, "lower", None, "Amber"),
        (105.1, 100, "lower", None, "Red"),
        (155, 150, "Lower", 0.05, "Amber"),
        (99, 100, "higher", 0, "Red"),
        (0, 0, "lower", None, "Green"),
        (1, 0, "lower", None, "Red"),
        (-10, -8, "higher", 0.25, "Amber"),  # the band is a fraction of |target|
        (-11, -8, "higher", 0.25, "Red"),
        (None, 100, "higher", None, None),
        (100, None, "higher", None, None),
        (100, 100, None, None, None),
        (100, 100, "sideways", None, None),
        (float("nan"), 100, "higher", None, None),
        (100, float("nan"), "higher", None, None),
        (95, 100, "higher", float("nan"), "Amber"),
    ],
)
def test_indicator_status(
    value: float | None, target: float | None, polarity: str | None, tolerance: float | None, expected: str | None
) -> None:
    assert indicator_status(value, target, polarity, tolerance) == expected


@pytest.mark.parametrize(
    ("current", "previous", "polarity", "expected"),
    [
        (10, 8, "higher", "Improving"),
        (8, 10, "higher", "Worsening"),
        (10, 8, "lower", "Worsening"),
        (8, 10, "lower", "Improving"),
        (8, 8, "lower", "No change"),
        (0.1 + 0.2, 0.3, "higher", "No change"),
        (None, 8, "higher", None),
        (8, None, "higher", None),
        (8, 7, None, None),
        (float("nan"), 7, "higher", None),
    ],
)
def test_direction_of_travel(
    current: float | None, previous: float | None, polarity: str | None, expected: str
) -> None:
    assert direction_of_travel(current, previous, polarity) == expected


@pytest.mark.parametrize(
    ("current", "previous", "expected"),
    [
        ("Green", "Amber", "Improved"),
        ("Blue", "Green", "Improved"),
        ("Amber", "Red", "Improved"),
        ("Red", "Green", "Worse"),
        ("Amber", "Blue", "Worse"),
        ("Green", "Green", "Same"),
        (NO_RETURN, NO_RETURN, "Same"),
        (NO_RETURN, "Green", None),
        ("Red", NO_RETURN, None),
        ("Green", None, None),
        ("green", "AMBER", "Improved"),
    ],
)
def test_status_change(current: str, previous: str | None, expected: str | None) -> None:
    assert status_change(current, previous) == expected


def test_status_change_is_antisymmetric() -> None:
    opposite = {"Improved": "Worse", "Worse": "Improved", "Same": "Same", None: None}
    for a, b in itertools.product(ALL_STATUSES, repeat=2):
        assert status_change(b, a) == opposite[status_change(a, b)]


def test_status_counts_has_every_key_in_order() -> None:
    counts = status_counts(["Green", "Red", None, NO_RETURN, "Green"])
    assert list(counts) == list(ALL_STATUSES)
    assert counts == {"Blue": 0, "Green": 2, "Amber": 0, "Red": 1, NO_RETURN: 2}
    assert status_counts([]) == dict.fromkeys(ALL_STATUSES, 0)
    with pytest.raises(ValueError, match="Purple"):
        status_counts(["Purple"])


def test_shipped_rule_is_the_documented_default() -> None:
    assert load_rollup_rule() == RollupRule(
        no_return_share=0.5, no_return_counts_as=None, red_share=0.25, amber_share=0.25, any_red_is_amber=True
    )


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ({}, NO_RETURN),
        ({"Green": 4}, "Green"),
        ({"Blue": 4}, "Blue"),
        ({"Blue": 3, "Green": 1}, "Green"),
        ({"Green": 3, "Red": 1}, "Red"),  # 25% Red
        ({"Green": 4, "Red": 1}, "Amber"),  # 20% Red: any Red makes it at least Amber
        ({"Green": 9, "Red": 1}, "Amber"),
        ({"Green": 3, "Amber": 1}, "Amber"),
        ({"Green": 4, "Amber": 1}, "Green"),  # 20% Amber, no Red
        ({"Blue": 6, "Amber": 1}, "Green"),
        ({"Amber": 2, "Red": 2}, "Red"),
        ({"Blue": 2, NO_RETURN: 2}, "Blue"),  # exactly half missing: judged on the half that reported
        ({"Blue": 2, NO_RETURN: 3}, NO_RETURN),
        ({NO_RETURN: 1}, NO_RETURN),
        ({"Red": 1, NO_RETURN: 1}, "Red"),
        ({"Green": 3, "Red": 1, NO_RETURN: 4}, "Red"),
    ],
)
def test_rollup_table(counts: dict[str, int], expected: str) -> None:
    assert rollup_status(counts) == expected


def test_rollup_rejects_unknown_and_negative_counts() -> None:
    with pytest.raises(ValueError, match="Purple"):
        rollup_status({"Purple": 1})
    with pytest.raises(ValueError, match="negative"):
        rollup_status({"Green": -1})


RULES = [
    RollupRule(),
    RollupRule(no_return_share=0.25, no_return_counts_as="Amber", red_share=0.5, amber_share=0.1),
    RollupRule(no_return_share=1.0, red_share=0.0, amber_share=0.0, any_red_is_amber=False),
    RollupRule(no_return_share=0.0, no_return_counts_as="Red", red_share=1.0, amber_share=0.5, any_red_is_amber=False),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: describe_rule(rule)[:60])
def test_rollup_invariants_for_every_mix_of_up_to_six_lines(rule: RollupRule) -> None:
    for counts in MIXES:
        result = rollup_status(counts, rule)
        total, missing = sum(counts.values()), counts[NO_RETURN]
        counted = {s: counts[s] for s in STATUSES}
        if rule.no_return_counts_as:
            counted[rule.no_return_counts_as] += missing
        n = sum(counted.values())
        # No return exactly when there is nothing, or too much missing, to judge by.
        assert (result == NO_RETURN) == (total == 0 or missing > rule.no_return_share * total or n == 0), counts
        if result == NO_RETURN:
            continue
        red, worrying = counted["Red"], counted["Red"] + counted["Amber"]
        # Each status honours its threshold, and a threshold met is never ignored.
        assert (result == "Red") == (red > 0 and red >= rule.red_share * n), counts
        if result == "Amber":
            assert worrying > 0 and (worrying >= rule.amber_share * n or (rule.any_red_is_amber and red > 0))
        if result in ("Green", "Blue"):
            assert red == 0 or not rule.any_red_is_amber, counts
            assert worrying == 0 or worrying < rule.amber_share * n, counts
        assert (result == "Blue") == (counted["Blue"] == n), counts
        # Lines all of one reported status roll up to that status.
        if len({s for s in STATUSES if counts[s]}) == 1 and missing == 0:
            assert result == next(s for s in STATUSES if counts[s]), counts
        # Twice as many of each gives the same answer: the rule is about shares, not sizes.
        assert rollup_status({s: 2 * c for s, c in counts.items()}, rule) == result, counts


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: describe_rule(rule)[:60])
def test_rollup_never_improves_when_a_line_gets_worse(rule: RollupRule) -> None:
    for counts in MIXES:
        before = rollup_status(counts, rule)
        for better, worse in itertools.combinations(STATUSES, 2):  # better comes first in STATUSES
            if not counts[better]:
                continue
            after = rollup_status({**counts, better: counts[better] - 1, worse: counts[worse] + 1}, rule)
            if NO_RETURN not in (before, after):
                assert RANK[after] >= RANK[before], (counts, better, worse)


def test_rollup_default_rule_comes_from_the_file_and_can_be_edited(tmp_path: Path) -> None:
    strict = load_rollup_rule(
        write_rules(tmp_path, no_return_share=0.5, no_return_counts_as="amber", red_share=0.1, amber_share=0.1)
    )
    assert strict.no_return_counts_as == "Amber"
    assert strict.any_red_is_amber is True
    assert rollup_status({"Green": 9, "Red": 1}, strict) == "Red"
    assert rollup_status({"Green": 3, NO_RETURN: 1}, strict) == "Amber"
    assert rollup_status({"Green": 3, NO_RETURN: 1}) == "Green"


@pytest.mark.parametrize(
    ("rollup", "says"),
    [
        ({"red_share": 1.5}, "red_share"),
        ({"amber_share": "a lot"}, "amber_share"),
        ({"no_return_counts_as": "Purple"}, "no_return_counts_as"),
        ({"any_red_is_amber": "yes"}, "any_red_is_amber"),
        ({"red_shares": 0.2}, "at rollup.red_shares: unknown key 'red_shares'"),
    ],
)
def test_invalid_rule_files_are_rejected_with_the_setting_named(
    tmp_path: Path, rollup: dict[str, object], says: str
) -> None:
    with pytest.raises(StatusRulesError, match=says):
        load_rollup_rule(write_rules(tmp_path, **rollup))


def test_rules_file_without_rollup_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("statuses: {}\n", encoding="utf-8")
    with pytest.raises(StatusRulesError, match="rollup"):
        load_rollup_rule(path)


def test_describe_rule_states_the_thresholds_in_use() -> None:
    text = describe_rule()
    assert text == (
        "Overall status: Red when at least 25% of lines are Red; Amber when any line is Red or at least 25% are Red "
        "or Amber; Blue when every line is Blue (complete); otherwise Green. Lines with no return are left out, and "
        "it shows No return when more than 50% of lines have none."
    )
    other = describe_rule(
        RollupRule(red_share=0.4, amber_share=0.1, no_return_counts_as="Amber", any_red_is_amber=False)
    )
    assert "at least 40% of lines are Red" in other
    assert "Amber when at least 10% are Red or Amber" in other
    assert "Lines with no return count as Amber" in other


@pytest.mark.parametrize(
    ("current", "previous", "polarity", "expected"),
    [
        (155.0, 160.0, None, "no better direction set"),  # 16 quarters of values, but no polarity: the real reason
        (155.0, 160.0, "unknown", "no better direction set"),
        (None, 160.0, "lower", "no value this quarter"),
        (155.0, None, "lower", "no earlier value"),
        (155.0, 160.0, "lower", "Improving"),
        (155.0, 155.0, "higher", "No change"),
    ],
)
def test_direction_text_names_the_real_reason_when_there_is_no_direction(current, previous, polarity, expected):
    assert direction_text(current, previous, polarity) == expected
