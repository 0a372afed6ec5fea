"""Personal-data detection in commentary: what must be queried and what must not."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cyp.returns.personal_data import (
    PersonalDataHit,
    describe_hits,
    find_personal_data,
    find_personal_data_each,
    nhs_number_is_valid,
    upn_check_letter,
)

POSITIVE = [
    # NHS numbers with a valid modulus-11 check digit, in the ways people write them.
    ("NHS number", "Child's NHS no 943 476 5919 referred to CAMHS", "943 476 5919"),
    ("NHS number", "nhs 9434765919", "9434765919"),
    ("NHS number", "ref 943-476-5919.", "943-476-5919"),
    ("NHS number", "(401 023 2137)", "401 023 2137"),
    # However grouped, mixed or hidden: irregular grouping, mixed separators, zero-width spaces, full-width digits.
    ("NHS number", "NHS 943 4765919", "943 4765919"),
    ("NHS number", "no. 943 476-5919", "943 476-5919"),
    ("NHS number", "9\u200b4\u200b3\u200b4\u200b7\u200b6\u200b5\u200b9\u200b1\u200b9", "9434765919"),
    ("NHS number", "nhs \uff19\uff14\uff13\uff14\uff17\uff16\uff15\uff19\uff11\uff19", "9434765919"),
    ("NHS number", "9 4 3 4 7 6 5 9 1 9", "9 4 3 4 7 6 5 9 1 9"),
    ("unique pupil number", "UPN B 8012 0000 5001", "B 8012 0000 5001"),
    # Unique pupil numbers: check letter computed by the DfE mod-23 rule.
    ("unique pupil number", "UPN B801200005001 moved school", "B801200005001"),
    ("unique pupil number", "pupil P302200025001 excluded", "P302200025001"),
    # Dates next to a date-of-birth word; the hit is the date itself.
    ("date of birth", "DOB 12/03/2015", "12/03/2015"),
    ("date of birth", "dob: 1/2/15", "1/2/15"),
    ("date of birth", "D.O.B. 01.02.2016", "01.02.2016"),
    ("date of birth", "born on 3 March 2015", "3 March 2015"),
    ("date of birth", "she was born on the 3rd of March 2015 in Barnet", "3rd of March 2015"),
    ("date of birth", "born March 3, 2015", "March 3, 2015"),
    ("date of birth", "Date of birth - 2015-03-12", "2015-03-12"),
    ("date of birth", "12/03/2015 (DOB)", "12/03/2015"),
    ("date of birth", "birthday 12/03/2015", "12/03/2015"),
    ("date of birth", "Birthday: 3 March 2015", "3 March 2015"),
    # Full postcodes with their inward code.
    ("postcode", "family moved to EN5 4AB last month", "EN5 4AB"),
    ("postcode", "NW9 6LR", "NW9 6LR"),
    ("postcode", "lives in N3 1DL.", "N3 1DL"),
    ("postcode", "address EC1A 1BB", "EC1A 1BB"),
    ("postcode", "HA87AB", "HA87AB"),
    ("postcode", "moved to en54ab", "en54ab"),
]

NEGATIVE = [
    # Ten digits whose check digit is wrong, or whose check would be 10 (never issued).
    "943 476 5918",
    "9434765910",
    "4399496690",
    # Numbers that are not NHS numbers: phone numbers, money, longer numbers, mixed separators.
    "call 020 8359 2000",
    "budget £9434765919",
    "19434765919",
    # UPN-shaped but with the wrong check letter, or a letter the DfE never uses.
    "A801200005001",
    "I801200005001",
    # Plain dates: deadlines, meetings and quarters are not dates of birth.
    "meeting on 12/03/2025",
    "deadline 3 March 2025",
    "report due 2025-03-31",
    "due 31 March 2025; born out of the 2019 plan",
    "DOB 31/02/2015",
    "DOB unknown. Review on 12/03/2025",
    # Partial postcodes, districts, and prose that only looks like one.
    "the N3 area",
    "across NW9 and EN5",
    "Q3 2ND review",
    "in Y6 2nd term",
    "Q1 2025-26",
    "KPI 12 and 14",
    None,
    "",
]


@pytest.mark.parametrize(("kind", "text", "found"), POSITIVE)
def test_personal_data_is_found(kind: str, text: str, found: str) -> None:
    assert find_personal_data(text) == [PersonalDataHit(kind, found)]


@pytest.mark.parametrize("text", NEGATIVE)
def test_ordinary_commentary_is_not_personal_data(text: str | None) -> None:
    assert find_personal_data(text) == []


def test_hits_say_whether_they_block_and_are_shown_masked() -> None:
    nhs, postcode = find_personal_data("NHS 943 476 5919 at EN5 4AB")
    assert (nhs.blocks, nhs.masked) == (True, "943 ••• ••••")
    assert (postcode.blocks, postcode.masked) == (False, "EN5 •••")


def test_nhs_check_digit() -> None:
    assert nhs_number_is_valid("9434765919")
    assert nhs_number_is_valid("4010232137")
    assert not nhs_number_is_valid("9434765918")
    assert not nhs_number_is_valid("943476591")
    assert not nhs_number_is_valid("94347659a9")


def test_upn_check_letter_follows_dfe_rule() -> None:
    # Worked by hand: 3×2 + 0×3 + 2×4 + 2×5 + 0 + 0 + 0 + 2×9 + 5×10 + 0 + 0 + 1×13 = 105; 105 mod 23 = 13 → P.
    assert upn_check_letter("302200025001") == "P"
    # Temporary UPNs end in a letter, valued by its place in the same alphabet.
    temporary = "30220002500A"
    assert find_personal_data(upn_check_letter(temporary) + temporary)[0].kind == "unique pupil number"


def test_hits_come_in_text_order_and_describe_names_each_kind() -> None:
    hits = find_personal_data("EN5 4AB; NHS 943 476 5919; DOB 12/03/2015; also NW9 6LR")
    assert [hit.kind for hit in hits] == ["postcode", "NHS number", "date of birth", "postcode"]
    assert describe_hits(hits) == (
        "looks like it contains full postcodes (EN5 4AB, NW9 6LR), an NHS number (943 476 5919) "
        "and a date of birth (12/03/2015)"
    )


def test_describe_two_kinds() -> None:
    hits = find_personal_data("NHS 943 476 5919 at EN5 4AB")
    assert describe_hits(hits) == "looks like it contains an NHS number (943 476 5919) and a full postcode (EN5 4AB)"
    assert describe_hits([]) == ""


def test_same_date_written_with_two_markers_is_one_hit() -> None:
    assert find_personal_data("DOB 12/03/2015 (DOB)") == [PersonalDataHit("date of birth", "12/03/2015")]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Nd", "No", "Nl", "Cs")), max_size=400))
def test_commentary_without_digits_never_matches(text: str) -> None:
    assert find_personal_data(text) == []


# Pieces that make every kind of hit likely when strung together at random: digits in the shapes of NHS numbers,
# UPNs and dates, date-of-birth words in several cases and spacings, postcodes, and plain words.
_PIECES = st.sampled_from(
    [
        "943 476 5919",
        "9434765919",
        "943-476-5919",
        "B801200005001",
        "P302200025001",
        "12/03/2015",
        "1/2/15",
        "3 March 2015",
        "2015-03-12",
        "DOB",
        "dob:",
        "D.O.B.",
        "date of  birth",
        "Date Of Birth",
        "born on",
        "BORN",
        "birthdate",
        "date of b\u0131rth",
        "b\u0130RTH",
        "N3 2AB",
        "en54ab",
        "n3 2ab",
        "9 4 3 4 7 6 5 9 1 9",
        "943./476-/5919",
        "EN5 1QT",
        "NW9 6YJ",
        "week 7",
        "15",
        "2025-26 Q3",
        "19-SS-1.3",
        " ",
        ", ",
        "(",
        ")",
        "progress",
        "the",
        "\u00a0",
        "٣",
    ]
)


@settings(max_examples=400, deadline=None)
@example("date of b\u0131rth 12/03/2015")  # a dotless i matches "i" when case is ignored; lower() keeps it dotless
@given(st.lists(_PIECES | st.text(max_size=6), max_size=14).map("".join))
def test_shortcuts_never_change_what_is_found(text: str) -> None:
    # The cheap checks that skip patterns (no digit, no ten chained digits, no inward code, no date-of-birth word)
    # must only ever skip patterns that could not match: with them switched off, the hits are the same.
    import cyp.returns.personal_data as personal_data

    expected = find_personal_data(text)
    shortcuts = (
        "_may_hold_number_or_postcode",
        "_may_hold_nhs_number_or_upn",
        "_may_hold_postcode",
        "_may_name_a_date_of_birth",
    )
    saved = {name: getattr(personal_data, name) for name in (*shortcuts, "_DIGIT")}
    try:
        for name in shortcuts:
            setattr(personal_data, name, lambda _text: True)
        personal_data._DIGIT = re.compile("")  # matches every text
        assert find_personal_data(text) == expected
    finally:
        for name, value in saved.items():
            setattr(personal_data, name, value)


@settings(max_examples=300, deadline=None)
@example(["date of", "birth 12/03/2015"])  # a date-of-birth word across two cells is in neither
@example(["943 476", "5919 Q3"])  # nor are an NHS number's digits
@example(["EN5 4", "AB"])
@given(st.lists(st.none() | st.lists(_PIECES | st.text(max_size=6), max_size=6).map("".join), max_size=8))
def test_all_the_cells_at_once_find_what_each_cell_alone_finds(texts: list[str | None]) -> None:
    assert find_personal_data_each(texts) == [find_personal_data(text) for text in texts]
