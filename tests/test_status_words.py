"""Reading statuses written with words around them, and suggestions that never contradict the cell's words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cyp.status import _vocabulary, parse_status, status_words, suggest_status


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Green on track", "Green"),
        ("Green On Track", "Green"),
        ("Green & on track", "Green"),
        ("Green and on track", "Green"),
        ("on track - green", "Green"),
        ("Amber, some slippage", "Amber"),
        ("RAG status: Red", "Red"),
        ("Complete (done)", "Blue"),
        ("Red  not on track", "Red"),
    ],
)
def test_a_status_with_words_that_agree_is_read(text: str, status: str) -> None:
    assert parse_status(text) == status


@pytest.mark.parametrize(
    "text", ["Green but behind", "Green - not on track", "Red on track", "not green", "Amber/Red", "Green then Amber"]
)
def test_a_status_with_words_that_disagree_is_refused(text: str) -> None:
    assert parse_status(text) is None


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("Gren on track", "Green"),  # the words name Green, whatever the typo
        ("Green, on track with the hubs open", "Green"),
        ("Ambr", "Amber"),
        ("Green but behind", None),  # two statuses: nothing to suggest
        ("Grene, amber", None),  # a mistyped status word counts as naming its status
        ("not green", None),
        ("Not started", None),
    ],
)
def test_suggestions_follow_the_words_in_the_cell(text: str, suggestion: str | None) -> None:
    assert suggest_status(text) == suggestion


SPELLINGS = sorted(word for word in _vocabulary() if len(word) > 1)
OTHER_WORDS = ["and", "but", "hubs", "open", "&", "-", ",", "with", "the", "recruitment", "Q3", "is"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(SPELLINGS + OTHER_WORDS), min_size=1, max_size=5), st.booleans())
def test_no_suggestion_ever_names_a_status_contrary_to_words_present(words: list[str], upper: bool) -> None:
    text = " ".join(word.upper() if upper else word.title() for word in words)
    named, _left = status_words(text)
    suggestion = suggest_status(text)
    if suggestion is not None:
        assert named <= {suggestion}, (text, named, suggestion)
    read = parse_status(text)
    if read is not None:
        assert named <= {read}
