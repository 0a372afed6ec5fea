"""Check an uploaded file before any parser touches it: size, real format, zip safety, XML safety, sheet size.

A return must be an Office Open XML workbook (.xlsx; .xlsm is accepted and its
macros are never run). The format is decided by the file's bytes, never its
name. The zip is inspected in memory from its declared sizes first, so a zip bomb
is refused without unpacking it; only then is each part streamed, never more
than its declared size, to look for XML entity declarations (billion laughs,
XXE) and worksheet ranges large enough to make a reader allocate a huge grid.
The limits live in ``data/upload-checks.yaml``. openpyxl parses through
defusedxml and python-calamine does not expand entities; this check is the
first of those defences, not a replacement for them.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from cyp.problems import Problem
from cyp.storage.config import PROJECT_ROOT, get_settings
from cyp.storage.datafiles import load_data_file

LIMITS_FILE = PROJECT_ROOT / "data" / "upload-checks.yaml"
MB = 1024 * 1024

SAVE_AS_XLSX = "open it in Excel, choose File > Save As > Excel Workbook (.xlsx) and upload that file"
OLE2_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06")

# Other formats people upload by mistake, recognised by their first bytes: what to call them.
OTHER_SIGNATURES = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG picture"),
    (b"\xff\xd8\xff", "a JPEG picture"),
    (b"GIF8", "a GIF picture"),
    (b"{\\rtf", "a Rich Text document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"PK\x07\x08", "a split zip archive"),
)
NESTED_ARCHIVE_SIGNATURES = (*ZIP_SIGNATURES, b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!")

# Parts no XML parser reads (VBA projects, embedded OLE objects); every other part is scanned for entities.
NOT_XML_SUFFIXES = (".bin",)
# "<!DOCTYPE" and "<!ENTITY" in lower case, as UTF-8 and as both UTF-16 byte orders (XML may be UTF-16).
ENTITY_MARKERS = tuple(
    marker.encode(encoding) for marker in ("<!doctype", "<!entity") for encoding in ("utf-8", "utf-16-le", "utf-16-be")
)
SCAN_CHUNK = 1024 * 1024
# Bytes carried from one chunk to the next so a marker or a cell tag split across chunks is still seen.
SCAN_OVERLAP = 1024

WORKSHEET_ROOT = re.compile(rb"<(?:[\w.-]+:)?worksheet[\s>]")
DIMENSION = re.compile(rb"<(?:[\w.-]+:)?dimension\s[^>]{0,200}?\bref=[\"']([^\"']{1,40})[\"']")
# A cell's address attribute, r="B12" (a row's r holds digits only, so never matches). It is found by its literal
# start "r=", which the regex engine can jump to, instead of trying every "<" of a large sheet; an attribute whose
# name merely ends in "r" would also count, which can only make the sheet look bigger, never smaller.
CELL_REF = re.compile(rb"r=[\"']\$?([A-Za-z]{1,3})\$?(\d{1,9})[\"']")
RANGE_CORNER = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,9})")

OFFICE_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


@dataclass(frozen=True)
class UploadLimits:
    """The limits of ``data/upload-checks.yaml``, in bytes, rows and columns."""

    max_unpacked_bytes: int
    max_compression_ratio: float
    ratio_applies_above_bytes: int
    max_parts: int
    max_rows: int
    max_columns: int
    dimension_scan_bytes: int


@cache
def upload_limits() -> UploadLimits:
    """Read ``data/upload-checks.yaml`` once."""
    raw = load_data_file(LIMITS_FILE)
    return UploadLimits(
        max_unpacked_bytes=int(raw["max_unpacked_mb"] * MB),
        max_compression_ratio=float(raw["max_compression_ratio"]),
        ratio_applies_above_bytes=int(raw["ratio_applies_above_mb"] * MB),
        max_parts=int(raw["max_parts"]),
        max_rows=int(raw["max_rows"]),
        max_columns=int(raw["max_columns"]),
        dimension_scan_bytes=int(raw["dimension_scan_bytes"]),
    )


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 lower-case hex digits."""
    return hashlib.sha256(data).hexdigest()


def check_upload(data: bytes, filename: str, max_bytes: int | None = None) -> list[Problem]:
    """Problems that stop ``data`` being parsed as a workbook; an empty list means it is safe to parse as xlsx.

    Never raises for any bytes and never writes to disk. ``filename`` only improves the wording (the format is
    decided by the bytes). ``max_bytes`` defaults to the ``CYP_MAX_UPLOAD_MB`` setting.
    """
    limit = get_settings().max_upload_bytes if max_bytes is None else max_bytes
    try:
        return _check(bytes(data), filename or "", limit, upload_limits())
    except Exception as exc:  # noqa: BLE001 - whatever goes wrong with an uploaded file is reported, never raised
        return [
            _problem(
                "check-failed",
                f"the file could not be checked ({type(exc).__name__}); {SAVE_AS_XLSX}",
            )
        ]


def _problem(code: str, message: str, sheet: str | None = None) -> Problem:
    return Problem(code, message, severity="error", sheet=sheet)


def _check(data: bytes, filename: str, max_bytes: int, limits: UploadLimits) -> list[Problem]:
    if not data:
        return [
            _problem(
                "empty-file", "the file is empty (0 bytes); check you chose your return workbook and upload it again"
            )
        ]
    if len(data) > max_bytes:
        return [
            _problem(
                "file-too-large",
                f"the file is {len(data) / MB:.1f} MB, over the {max_bytes / MB:g} MB limit for a return; remove "
                "pictures and sheets the return does not need, save it and upload it again",
            )
        ]
    if data.startswith(ZIP_SIGNATURES):
        return _check_zip(data, limits)
    if data.startswith(OLE2_SIGNATURE):
        return [_check_compound_file(data, filename)]
    return [_describe_other_format(data, filename)]


def _despite_name(filename: str) -> str:
    suffix = posixpath.splitext(filename.strip().lower())[1]
    return f" (a name ending '{suffix}' does not change what is inside)" if suffix in (".xlsx", ".xlsm") else ""


def _describe_other_format(data: bytes, filename: str) -> Problem:
    for signature, name in OTHER_SIGNATURES:
        if data.startswith(signature):
            return _problem(
                "not-a-workbook",
                f"this is {name}, not an Excel workbook{_despite_name(filename)}; upload the return workbook itself "
                "(download the template again if you need a fresh copy)",
            )
    text = _as_text(data)
    if text is None:
        return _problem(
            "not-a-workbook",
            f"this is not an Excel workbook{_despite_name(filename)}; check you chose your return, {SAVE_AS_XLSX}",
        )
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<!doctype html", "<html")) or "<html" in start[:1024]:
        return _problem(
            "not-a-workbook",
            f"this is a web page (HTML), not an Excel workbook{_despite_name(filename)}; {SAVE_AS_XLSX}",
        )
    if start.startswith("<?xml") or start.startswith("<"):
        kind = (
            "an Excel 2003 XML spreadsheet"
            if "urn:schemas-microsoft-com:office:spreadsheet" in start[:4096]
            else "an XML file"
        )
        return _problem("not-a-workbook", f"this is {kind}, not an Excel workbook (.xlsx); {SAVE_AS_XLSX}")
    return _problem(
        "csv-file",
        f"this looks like a CSV or text file, not an Excel workbook{_despite_name(filename)}; {SAVE_AS_XLSX}",
    )


def _as_text(data: bytes) -> str | None:
    """The start of ``data`` as text when it reads as text (UTF-8, UTF-16 with a byte-order mark, Windows-1252)."""
    sample = data[:8192]
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = sample.decode("utf-16", errors="replace")
    elif b"\x00" in sample:
        return None
    else:
        try:
            # A multi-byte character may be cut at the end of the sample; drop up to 3 bytes of it.
            text = sample.decode("utf-8") if len(sample) == len(data) else sample[:-3].decode("utf-8", "strict")
        except UnicodeDecodeError:
            text = sample.decode("cp1252", errors="replace")
    controls = sum(1 for char in text if (ord(char) < 32 and char not in "\t\r\n\f") or char == "\ufffd")
    return text if controls <= len(text) / 100 else None


def _check_compound_file(data: bytes, filename: str) -> Problem:
    try:
        names = compound_file_stream_names(data)
    except (ValueError, IndexError, struct.error):
        # A damaged compound file: the stream name is still there in UTF-16 if it is an encrypted workbook.
        names = {"EncryptionInfo"} if "EncryptionInfo".encode("utf-16-le") in data else set()
    if names & {"EncryptionInfo", "EncryptedPackage"}:
        return _problem(
            "encrypted-workbook",
            "the workbook is protected with a password to open it, so it cannot be read; open it in Excel, remove "
            "the password (File > Info > Protect Workbook > Encrypt with Password, clear the box), save it and "
            "upload it again",
        )
    if "WordDocument" in names or "PowerPoint Document" in names:
        kind = "an old Word document (.doc)" if "WordDocument" in names else "an old PowerPoint file (.ppt)"
        return _problem("not-a-workbook", f"this is {kind}, not an Excel workbook; upload the return workbook itself")
    return _problem(
        "old-excel-format",
        f"this file is in the old Excel 97–2003 format (.xls), which cannot be read here{_despite_name(filename)}; "
        f"{SAVE_AS_XLSX}",
    )


def compound_file_stream_names(data: bytes) -> set[str]:
    """Names of the storages and streams in an OLE2 compound file (MS-CFB), read from its directory sectors."""
    sector_shift = struct.unpack_from("<H", data, 30)[0]
    if sector_shift not in (9, 12):
        raise ValueError("unknown sector size")
    sector_size = 1 << sector_shift
    fat_sector_count, first_directory_sector = struct.unpack_from("<II", data, 44)
    first_difat_sector, difat_sector_count = struct.unpack_from("<II", data, 68)
    sector_count = len(data) // sector_size  # every chain is bounded by this, so a looping chain ends

    def sector(number: int) -> bytes:
        start = (number + 1) * sector_size
        if number >= sector_count or start + sector_size > len(data):
            raise ValueError("sector outside the file")
        return data[start : start + sector_size]

    fat_sectors = list(struct.unpack_from("<109I", data, 76))
    difat = first_difat_sector
    for _ in range(min(difat_sector_count, sector_count)):
        if difat >= 0xFFFFFFFA:
            break
        entries = struct.unpack(f"<{sector_size // 4}I", sector(difat))
        fat_sectors.extend(entries[:-1])
        difat = entries[-1]
    fat: list[int] = []
    for number in [s for s in fat_sectors if s < 0xFFFFFFFA][:fat_sector_count]:
        fat.extend(struct.unpack(f"<{sector_size // 4}I", sector(number)))
    names: set[str] = set()
    current = first_directory_sector
    for _ in range(sector_count):
        if current >= 0xFFFFFFFA:
            break
        block = sector(current)
        for offset in range(0, sector_size, 128):
            entry = block[offset : offset + 128]
            name_length, object_type = struct.unpack_from("<HB", entry, 64)
            if object_type in (1, 2, 5) and 2 <= name_length <= 64:
                names.add(entry[: name_length - 2].decode("utf-16-le", errors="replace"))
        current = fat[current] if current < len(fat) else 0xFFFFFFFE
    return names


def _check_zip(data: bytes, limits: UploadLimits) -> list[Problem]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return _check_archive(archive, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, struct.error):
        return [
            _problem(
                "damaged-file",
                "the file is damaged or incomplete (it may not have finished uploading or saving); open it in "
                "Excel, save it again as an Excel Workbook (.xlsx) and upload it again",
            )
        ]


def _check_archive(archive: zipfile.ZipFile, limits: UploadLimits) -> list[Problem]:
    infos = archive.infolist()
    if len(infos) > limits.max_parts:
        return [
            _problem(
                "too-many-parts",
                f"the file holds {len(infos):,} parts, more than the {limits.max_parts:,} a workbook could need, so "
                f"it is not a normal workbook; {SAVE_AS_XLSX}",
            )
        ]
    problems = _check_declared_sizes(infos, limits)
    problems += _check_part_names(infos)
    if any(info.flag_bits & 0x1 for info in infos):
        problems.append(
            _problem(
                "encrypted-workbook",
                "parts of the file are protected with a password, so it cannot be read; remove the password, "
                f"{SAVE_AS_XLSX}",
            )
        )
    if problems:
        return problems  # nothing is unpacked from a zip that fails these
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        return [_describe_other_zip(names)]
    problems += _scan_parts(archive, infos, limits)
    return problems


def _check_declared_sizes(infos: list[zipfile.ZipInfo], limits: UploadLimits) -> list[Problem]:
    advice = f"it is not a normal workbook (it may be a 'zip bomb'); {SAVE_AS_XLSX}"
    total = sum(info.file_size for info in infos)
    if total > limits.max_unpacked_bytes:
        return [
            _problem(
                "zip-bomb",
                f"the file would unpack to {total / MB:,.0f} MB, over the {limits.max_unpacked_bytes / MB:g} MB "
                f"limit; {advice}",
            )
        ]
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_applies_above_bytes and ratio > limits.max_compression_ratio:
            return [
                _problem(
                    "zip-bomb",
                    f"part '{_shown(info.filename)}' unpacks to {ratio:,.0f} times its packed size; {advice}",
                )
            ]
    return []


def _check_part_names(infos: list[zipfile.ZipInfo]) -> list[Problem]:
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        unsafe = name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name) or "\x00" in name
        duplicate = name in seen
        seen.add(name)
        if unsafe or duplicate:
            why = "appears twice" if duplicate else "points outside the workbook"
            return [
                _problem(
                    "unsafe-zip",
                    f"the file is not a normal workbook: its part '{_shown(name)}' {why}; {SAVE_AS_XLSX}",
                )
            ]
    return []


def _describe_other_zip(names: set[str]) -> Problem:
    if "word/document.xml" in names:
        kind = "a Word document (.docx)"
    elif "ppt/presentation.xml" in names:
        kind = "a PowerPoint presentation (.pptx)"
    elif "xl/workbook.bin" in names:
        kind = "an Excel Binary Workbook (.xlsb)"
    elif "mimetype" in names and "content.xml" in names:
        kind = "an OpenDocument file (such as .ods)"
    else:
        kind = "a zip archive"
    return _problem(
        "zip-not-a-workbook",
        f"this is {kind}, not an Excel workbook (.xlsx); if the return is inside it, unpack it and upload the .xlsx "
        f"file, otherwise {SAVE_AS_XLSX}",
    )


def _shown(name: str, limit: int = 80) -> str:
    printable = "".join(char if char.isprintable() else "?" for char in name)
    return printable if len(printable) <= limit else printable[: limit - 1] + "…"


def _scan_parts(archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: UploadLimits) -> list[Problem]:
    """Stream every part within its declared size: nested archives, entity declarations, worksheet sizes."""
    nested: list[str] = []
    entity_parts: list[str] = []
    problems: list[Problem] = []
    for info in infos:
        if info.is_dir():
            continue
        scan = _scan_part(archive, info, limits)
        if scan.nested_archive:
            nested.append(info.filename)
        if scan.has_entities:
            entity_parts.append(info.filename)
        if scan.too_big_range:
            # Sheet names are read from the workbook only to word this rare problem.
            name = _sheet_names_by_part(archive).get(info.filename)
            where = "this sheet" if name else f"a worksheet ({_shown(info.filename)})"
            problems.append(
                _problem(
                    "huge-dimensions",
                    f"{where} {scan.too_big_range}, far more than a return needs ({limits.max_rows:,} rows and "
                    f"{limits.max_columns} columns at most); select the empty rows below and the empty columns to "
                    "the right of your table, delete them, save the workbook and upload it again",
                    sheet=name,
                )
            )
    if entity_parts:
        problems.insert(
            0,
            _problem(
                "xml-entities",
                f"part '{_shown(entity_parts[0])}' of the file declares XML entities or a DOCTYPE, which Excel never "
                f"writes and which can be used to attack the reader; {SAVE_AS_XLSX}",
            ),
        )
    if nested:
        problems.insert(
            0,
            _problem(
                "nested-archive",
                f"the workbook has another packed file inside it ('{_shown(nested[0])}'); delete embedded files and "
                "objects from the workbook, save it and upload it again",
            ),
        )
    return problems


@dataclass
class _PartScan:
    nested_archive: bool = False
    has_entities: bool = False
    too_big_range: str = ""


def _scan_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: UploadLimits) -> _PartScan:
    result = _PartScan()
    scan_entities = not info.filename.lower().endswith(NOT_XML_SUFFIXES)
    is_worksheet = False
    max_row = max_column = 0
    tail = b""
    # ZipExtFile never returns more than the declared size, which _check_declared_sizes has already bounded.
    with archive.open(info) as stream:
        first = True
        while chunk := stream.read(SCAN_CHUNK):
            if first:
                first = False
                result.nested_archive = chunk.startswith(NESTED_ARCHIVE_SIGNATURES)
                is_worksheet = WORKSHEET_ROOT.search(chunk[:4096]) is not None
                if is_worksheet:
                    result.too_big_range = _declared_range_problem(chunk[: limits.dimension_scan_bytes], limits)
            window = tail + chunk
            if scan_entities and not result.has_entities:
                lowered = window.lower()
                result.has_entities = any(marker in lowered for marker in ENTITY_MARKERS)
            # Once a sheet is known to be too big there is no need to look at more of its cells.
            if is_worksheet and not (max_row > limits.max_rows or max_column > limits.max_columns):
                # A sheet repeats a few column letters and row numbers many times: each distinct one is read once.
                refs = CELL_REF.findall(window)
                # (max_row twice: max() of one argument would want an iterable when a chunk has no cells.)
                max_row = max(max_row, max_row, *map(int, set(map(itemgetter(1), refs))))
                columns = (_column_number(letters.decode("ascii")) for letters in set(map(itemgetter(0), refs)))
                max_column = max(max_column, max_column, *columns)
            tail = window[-SCAN_OVERLAP:]
    if is_worksheet and not result.too_big_range and (max_row > limits.max_rows or max_column > limits.max_columns):
        result.too_big_range = f"has a cell as far out as row {max_row:,}, column {max_column:,}"
    return result


def _declared_range_problem(head: bytes, limits: UploadLimits) -> str:
    match = DIMENSION.search(head)
    if match is None:
        return ""
    ref = match.group(1).decode("ascii", errors="replace")
    corners = RANGE_CORNER.findall(ref)
    if not corners:
        return ""
    rows = max(int(digits) for _, digits in corners) - min(int(digits) for _, digits in corners) + 1
    columns = max(_column_number(c) for c, _ in corners) - min(_column_number(c) for c, _ in corners) + 1
    if rows > limits.max_rows or columns > limits.max_columns:
        return f"declares a used range of {_shown(ref)} ({rows:,} rows by {columns:,} columns)"
    return ""


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _sheet_names_by_part(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part name → sheet name, from the workbook and its relationships; empty when they cannot be read."""
    try:
        workbook = _small_xml(archive, "xl/workbook.xml")
        relationships = _small_xml(archive, "xl/_rels/workbook.xml.rels")
    except Exception:  # noqa: BLE001 - names only improve messages; parsing them must never decide the check
        return {}
    targets = {rel.get("Id"): rel.get("Target", "") for rel in _elements(relationships.iter(), "Relationship")}
    names: dict[str, str] = {}
    for sheet in _elements(workbook.iter(), "sheet"):
        target = targets.get(sheet.get(OFFICE_RELATIONSHIP_ID))
        if target:
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            names[part] = sheet.get("name", "")
    return names


def _small_xml(archive: zipfile.ZipFile, name: str) -> Element:
    info = archive.getinfo(name)
    if info.file_size > MB:
        raise ValueError(f"{name} is unexpectedly large")
    return ElementTree.fromstring(archive.read(info))


def _elements(elements: Iterable[Element], local_name: str) -> Iterable[Element]:
    return (element for element in elements if str(element.tag).rsplit("}", 1)[-1] == local_name)
