"""Spot commentary that holds personal data about a child, so it is never stored.

An NHS number, a unique pupil number or a date of birth is an *error*: the return
is not stored until it is removed, because one tick of "I have checked the queries"
must not be enough to put a child's identifiers on the board display. A full
postcode is a *query* (a service's address is a postcode too). Each pattern is
narrow on purpose, so that deadlines and phone numbers are never blocked: NHS
numbers and unique pupil numbers must carry a valid check digit or letter, however
their digits are spaced or separated; a date counts only next to a date-of-birth
word (``data/personal-data.yaml``); a postcode must be a full one with its inward
code. Text is normalised first (NFKC, invisible characters removed:
:func:`cyp.returns.reader.normalise_text`), so digits hidden between zero-width
spaces are still seen.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

from cyp.returns.reader import normalise_text
from cyp.storage.config import PROJECT_ROOT
from cyp.storage.datafiles import load_data_file

PERSONAL_DATA_FILE = PROJECT_ROOT / "data" / "personal-data.yaml"

NHS_NUMBER = "NHS number"
UPN = "unique pupil number"
DATE_OF_BIRTH = "date of birth"
POSTCODE = "postcode"

# How describe_hits names one hit and several hits of each kind.
_SINGULAR = {
    NHS_NUMBER: "an NHS number",
    UPN: "a unique pupil number",
    DATE_OF_BIRTH: "a date of birth",
    POSTCODE: "a full postcode",
}
_PLURAL = {
    NHS_NUMBER: "NHS numbers",
    UPN: "unique pupil numbers",
    DATE_OF_BIRTH: "dates of birth",
    POSTCODE: "full postcodes",
}


# Kinds that block a return (errors); the others (postcodes) are queries the uploader may acknowledge.
BLOCKING_KINDS = frozenset({NHS_NUMBER, UPN, DATE_OF_BIRTH})


@dataclass(frozen=True)
class PersonalDataHit:
    """One piece of text that looks like personal data, and what kind it looks like."""

    kind: str
    text: str

    @property
    def blocks(self) -> bool:
        """True for the kinds that must be removed before a return is stored (see :data:`BLOCKING_KINDS`)."""
        return self.kind in BLOCKING_KINDS

    @property
    def masked(self) -> str:
        """The hit with all but its first three letters and digits hidden, to say where it is without repeating it."""
        return mask(self.text)


# Between two digits of an NHS number or UPN: nothing, or up to two of space, hyphen, dot and slash, in any grouping
# ("943 476 5919", "943 4765919", "943-476 5919", "9 4 3 4 7 6 5 9 1 9").
_SEP = r"[ \-./]{0,2}"
# A run of digits so separated: an NHS number is a whole run of exactly ten (so never part of a longer number),
# not just after a currency sign or a decimal point ("£9434765919").
_DIGIT_RUN = re.compile(rf"\d(?:{_SEP}\d)*")
_NOT_BEFORE_NHS = frozenset("£$€.,")

# A check letter, 11 digits, then a digit (permanent UPN) or a letter (temporary UPN), separated as above.
_UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"  # A-Z without I, O and S; position = value
_UPN_RE = re.compile(
    rf"\b([{_UPN_ALPHABET}])((?:{_SEP}\d){{11}}{_SEP}[\d{_UPN_ALPHABET}])(?![\w])(?!{_SEP}\d)", re.IGNORECASE
)

# Full UK postcode: outward code (area letters that exist, district) then inward code (sector digit and two unit
# letters, which never use C, I, K, M, O or V). Upper case with or without the space; lower case only written
# compactly ("en54ab"), so "Q3 2nd" or "y6 2ab" in prose is not a postcode.
_POSTCODE_RE = re.compile(r"\b([A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?) ?(\d[ABD-HJLNP-UW-Z]{2})\b")
_COMPACT_POSTCODE_RE = re.compile(r"\b([A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?)(\d[ABD-HJLNP-UW-Z]{2})\b", re.IGNORECASE)
_NOT_DIGIT = re.compile(r"\D")
_NOT_ALPHANUMERIC = re.compile(r"[^0-9A-Za-z]")


def mask(text: str) -> str:
    """``text`` with every letter and digit after the first three replaced by "•" ("943 4•• ••••")."""
    shown = 0
    out = []
    for char in text:
        if char.isalnum():
            shown += 1
            out.append(char if shown <= 3 else "•")
        else:
            out.append(char)
    return "".join(out)


_DIGIT = re.compile(r"\d")

_MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
_MONTHS |= {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
_MONTHS["sept"] = 9
_MONTH_NAMES = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th)?"

# Each date pattern names its parts d, m (number or month name) and y.
_DATE_PATTERNS = (
    r"(?P<d>\d{1,2})[/.\-](?P<m>\d{1,2})[/.\-](?P<y>\d{4}|\d{2})(?![\d/.\-]\d)",
    r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?!\d)",
    rf"(?P<d>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?(?P<m>{_MONTH_NAMES})\.?,?\s+(?P<y>\d{{4}})(?!\d)",
    rf"(?P<m>{_MONTH_NAMES})\.?\s+(?P<d>\d{{1,2}}){_ORDINAL},?\s+(?P<y>\d{{4}})(?!\d)",
)
# Between a date-of-birth word and its date: a few words without digits or a sentence break ("was born on the").
_GAP = r"[^\d.;!?\n]{0,25}?"


@cache
def _date_of_birth_patterns() -> tuple[re.Pattern[str], ...]:
    words = load_data_file(PERSONAL_DATA_FILE)["date_of_birth_words"]

    def alternatives(key: str) -> str:
        # Longest first so "D.O.B." wins over "D.O.B"; \b only where the word starts or ends with a letter.
        escaped = []
        for word in sorted(words[key], key=len, reverse=True):
            start = r"\b" if word[0].isalnum() else ""
            end = r"\b" if word[-1].isalnum() else ""
            escaped.append(start + re.escape(word).replace(r"\ ", r"\s+") + end)
        return "|".join(escaped)

    before, after = alternatives("before_date"), alternatives("after_date")
    patterns = [re.compile(f"{before}|{after}", re.IGNORECASE)]
    for date_pattern in _DATE_PATTERNS:
        patterns.append(re.compile(rf"(?:{before}){_GAP}(?<![\d]){date_pattern}", re.IGNORECASE))
        patterns.append(re.compile(rf"(?<![\d]){date_pattern}\s*[(\[,\-–]?\s*(?:{after})", re.IGNORECASE))
    return tuple(patterns)


def _date_of_birth_word() -> re.Pattern[str]:
    """Any date-of-birth word: without one, none of the date patterns can match."""
    return _date_of_birth_patterns()[0]


@cache
def _date_of_birth_fragments() -> tuple[str, ...]:
    """The longest space-free piece of each date-of-birth word, in lower case ("birth" of "date of birth").

    Every match of a date pattern contains one of them literally, so text without any needs no regex at all. A
    piece that holds another ("birthday" holds "birth") is left out: the shorter one is found wherever it is.
    """
    words = load_data_file(PERSONAL_DATA_FILE)["date_of_birth_words"]
    pieces = {max(word.lower().split(), key=len) for key in words for word in words[key]}
    return tuple(sorted(p for p in pieces if not any(other != p and other in p for other in pieces)))


def _may_name_a_date_of_birth(text: str) -> bool:
    # Only ASCII text takes the shortcut: ignoring case, the regex also matches a few other letters ("bırth" with
    # a dotless i) that lower-casing does not turn into the fragment.
    if text.isascii():
        lowered = text.lower()
        if not any(fragment in lowered for fragment in _date_of_birth_fragments()):
            return False
    return _date_of_birth_word().search(text) is not None


# Ten digits chained as an NHS number's are (a UPN's eleven hold ten so chained), or an inward code (a digit and two
# unit letters, in either case, ending a word) as every full postcode has: most commentary has neither, and one scan
# of it says so. Each is then looked for on its own before its own patterns run.
_NHS_OR_UPN_OR_POSTCODE = re.compile(rf"\d(?:(?:{_SEP}\d){{9}}|[ABD-HJLNP-UW-Z]{{2}}\b)", re.IGNORECASE)
_TEN_CHAINED_DIGITS = re.compile(rf"\d(?:{_SEP}\d){{9}}")
_INWARD_CODE = re.compile(r"\d[ABD-HJLNP-UW-Z]{2}\b", re.IGNORECASE)


def _may_hold_nhs_number_or_upn(text: str) -> bool:
    return _TEN_CHAINED_DIGITS.search(text) is not None


def _may_hold_postcode(text: str) -> bool:
    return _INWARD_CODE.search(text) is not None


def _marks_table() -> bytes:
    """ASCII bytes to the marks of :func:`_may_hold_number_or_postcode`: digit "0", inward-code letter "A" (either
    case), separator "-", anything else "."."""
    table = bytearray(b"." * 256)
    for char in "0123456789":
        table[ord(char)] = ord("0")
    for char in "ABDEFGHJLNPQRSTUWXYZ":
        table[ord(char)] = table[ord(char.lower())] = ord("A")
    for char in " -./":
        table[ord(char)] = ord("-")
    return bytes(table)


_MARKS = _marks_table()
_TEN_DIGIT_MARKS = b"0" * 10
_INWARD_CODE_MARKS = b"0AA"


def _may_hold_number_or_postcode(text: str) -> bool:
    if text.isascii():
        # Without a regex over every character: ten chained digits are ten digit marks once separators are gone,
        # and an inward code is a digit mark and two letter marks (whatever follows them).
        marks = text.encode("ascii").translate(_MARKS)
        return _INWARD_CODE_MARKS in marks or _TEN_DIGIT_MARKS in marks.replace(b"-", b"")
    return _NHS_OR_UPN_OR_POSTCODE.search(text) is not None


def nhs_number_is_valid(digits: str) -> bool:
    """True when ten digits carry a valid NHS modulus-11 check digit (the tenth digit).

    NHS Data Dictionary, "NHS Number": weight the first nine digits 10 down to 2, sum, take the remainder
    mod 11 and subtract it from 11; 11 means a check digit of 0 and 10 means the number is invalid.
    """
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def upn_check_letter(last_twelve: str) -> str:
    """The check letter of a unique pupil number whose characters 2–13 are ``last_twelve``.

    DfE, "Unique Pupil Numbers (UPNs): a guide for schools and local authorities" (v1.2), check letter
    calculation: multiply character n (n = 2..13) by weight n, sum, take the remainder mod 23 and read it as
    A=0, B=1, ... skipping I, O and S. A letter in position 13 (a temporary UPN) counts as its value in the
    same alphabet.
    """
    total = 0
    for weight, char in enumerate(last_twelve.upper(), start=2):
        total += weight * (int(char) if char.isdigit() else _UPN_ALPHABET.index(char))
    return _UPN_ALPHABET[total % 23]


def _valid_date(day: str, month: str, year: str) -> bool:
    month_number = int(month) if month.isdigit() else _MONTHS.get(month.lower().rstrip("."), 0)
    full_year = int(year) + 2000 if len(year) == 2 else int(year)
    try:
        date(full_year, month_number, int(day))
    except ValueError:
        return False
    return True


def find_personal_data(text: str | None) -> list[PersonalDataHit]:
    """Every piece of ``text`` that looks like an NHS number, UPN, date of birth or full postcode, in text order.

    ``text`` is normalised first (:func:`cyp.returns.reader.normalise_text`); each hit is a piece of that text.
    """
    # Every kind needs a digit, and most commentary has none: one scan rules all of them out.
    if not text or _DIGIT.search(text) is None:
        return []
    text = normalise_text(text)
    found: list[tuple[int, PersonalDataHit]] = []
    numbers_or_postcodes = _may_hold_number_or_postcode(text)
    # An NHS number has 10 digits and a UPN 11 or 12, chained: most commentary has no such run.
    if numbers_or_postcodes and _may_hold_nhs_number_or_upn(text):
        for match in _DIGIT_RUN.finditer(text):
            run = match.group(0)
            if len(run) < 10 or (match.start() and text[match.start() - 1] in _NOT_BEFORE_NHS):
                continue
            digits = _NOT_DIGIT.sub("", run)
            if len(digits) == 10 and nhs_number_is_valid(digits):
                found.append((match.start(), PersonalDataHit(NHS_NUMBER, run)))
        for match in _UPN_RE.finditer(text):
            if upn_check_letter(_NOT_ALPHANUMERIC.sub("", match.group(2))) == match.group(1).upper():
                found.append((match.start(), PersonalDataHit(UPN, match.group(0))))
    # The same date can match several patterns ("DOB 12/03/2015 (DOB)"); the date's own span says it is one hit.
    date_spans: list[tuple[int, int]] = []
    date_patterns = _date_of_birth_patterns()[1:] if _may_name_a_date_of_birth(text) else ()
    for pattern in date_patterns:
        for match in pattern.finditer(text):
            span = match.span("d")
            overlaps = any(start < span[1] and span[0] < end for start, end in date_spans)
            if not overlaps and _valid_date(match["d"], match["m"], match["y"]):
                date_spans.append(span)
                start = min(match.start(part) for part in "dmy")
                end = max(match.end(part) for part in "dmy")
                found.append((start, PersonalDataHit(DATE_OF_BIRTH, text[start:end])))
    if numbers_or_postcodes and _may_hold_postcode(text):
        postcodes = {match.start(): match.group(0) for match in _POSTCODE_RE.finditer(text)}
        for match in _COMPACT_POSTCODE_RE.finditer(text):
            postcodes.setdefault(match.start(), match.group(0))
        found.extend((start, PersonalDataHit(POSTCODE, postcode)) for start, postcode in postcodes.items())
    if not found:
        return []
    found.sort(key=lambda item: item[0])
    return [hit for _, hit in found]


def find_personal_data_each(texts: Sequence[str | None]) -> list[list[PersonalDataHit]]:
    """:func:`find_personal_data` of each of ``texts``, in order: what a return's commentary cells hold.

    Most returns hold no personal data at all: the shortcuts' checks run once over all the texts together (each
    normalised, one per line), and only when one of them could match there is each text scanned on its own. What
    a check finds in one text it finds in them all together (a line break bounds a word as the text's end does).
    """
    together = "\n".join(normalise_text(text) for text in texts if text)
    if _DIGIT.search(together) is None:
        return [[] for _ in texts]
    if not _may_hold_number_or_postcode(together) and not _may_name_a_date_of_birth(together):
        return [[] for _ in texts]
    return [find_personal_data(text) for text in texts]


def describe_hits(hits: list[PersonalDataHit]) -> str:
    """Plain words for a query message: ``looks like it contains an NHS number (943 476 5919) and a full postcode …``.

    Empty string for no hits.
    """
    if not hits:
        return ""
    by_kind: dict[str, list[str]] = {}
    for hit in hits:
        texts = by_kind.setdefault(hit.kind, [])
        if hit.text not in texts:
            texts.append(hit.text)
    parts = []
    for kind, texts in by_kind.items():
        name = _SINGULAR[kind] if len(texts) == 1 else _PLURAL[kind]
        parts.append(f"{name} ({', '.join(texts)})")
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"looks like it contains {listed}"
