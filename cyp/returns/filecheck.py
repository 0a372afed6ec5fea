"""Check an uploaded file before any parser touches it: size, real format, zip safety, XML safety, sheet size.

A return must be an Office Open XML workbook (.xlsx; .xlsm is accepted and its
macros are never run). The format is decided by the file's bytes, never its
name. The zip is inspected in memory from its declared sizes first, so a zip bomb
is refused without unpacking it; only then is each part streamed, never more
than its declared size, to look for XML entity declarations (billion laughs,
XXE) and for worksheets whose cells would make a reader allocate a huge grid.
A sheet is judged by the cells it holds, never by the used range it declares:
rows and cells are followed in order as the readers place them, addressed or not
(a cell without ``r`` comes after the one before it), so a small file cannot hide
a million rows, and LibreOffice's declared whole height after a deleted row is
no reason to refuse. The limits live in ``data/upload-checks.yaml``. openpyxl
parses through defusedxml and python-calamine does not expand entities; this
check is the first of those defences, not a replacement for them.
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
from functools import cache, lru_cache
from xml.etree.ElementTree import Element

import python_calamine
from defusedxml import ElementTree

from cyp.problems import Code, Problem
from cyp.storage.config import PROJECT_ROOT, get_settings
from cyp.storage.datafiles import load_data_file

LIMITS_FILE = PROJECT_ROOT / "data" / "upload-checks.yaml"
MB = 1024 * 1024

SAVE_AS_XLSX = (
    "open it in Excel and choose File > Save As > Excel Workbook (.xlsx), or in LibreOffice choose File > Save As > "
    "Excel 2007-365 (.xlsx), and upload that file"
)
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
# Every marker holds "!", which lower-casing leaves alone: a part without one (most parts) needs no lower-cased copy.
ENTITY_MARKER_SIGN = b"!"
SCAN_CHUNK = 1024 * 1024
# Bytes carried from one chunk to the next so a marker or a cell tag split across chunks is still seen.
SCAN_OVERLAP = 1024

WORKSHEET_ROOT = re.compile(rb"<(?:[\w.-]+:)?worksheet[\s>]")
# The tags the sheet-size scan follows in document order: rows, cells, a cell's value (v, inline string, formula),
# and the two elements openpyxl expands into one object per cell of their range (merges and hyperlinks). A sheet's
# declared <dimension> is deliberately not among them: what a file declares never decides, what it holds does.
# The end of sheetData matches with both groups empty: values after it (formulas in extensions) belong to no cell.
SHEET_TAG = re.compile(
    rb"<(?:[\w.-]+:)?(row|c|v|is|f|mergeCell|hyperlink)(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>"
    rb"|</(?:[\w.-]+:)?sheetData\s*>"
)
COMPLETE_TAG = re.compile(rb"<[^<>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^<>\"']*)*>")
# A cell's address as its r attribute holds it; an r that is not an address leaves the cell placed by order.
CELL_REF_ATTRIBUTE = re.compile(rb"(?:^|\s)r\s*=\s*[\"']\$?([A-Za-z]{1,3})\$?(\d{1,9})[\"']")
REF_ATTRIBUTE = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([^\"']{0,40})[\"']")
RANGE_ATTRIBUTE = re.compile(rb"(?:^|\s)ref\s*=\s*[\"']([^\"']{0,80})[\"']")
CELL_ADDRESS = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,9})")
# The usual sheet's cell element, as Excel, LibreOffice and the template write it: unprefixed, its address its first
# attribute, double-quoted, upper case, no "$". Used only to show quickly that a sheet is surely within the limits
# (see _sheet_surely_within): any other cell start, a prefixed cell, a merge or a link sends it to the exact scan.
PLAIN_CELL_START = re.compile(rb'<c r="([A-Z]{1,3})(\d{1,9})"')
OTHER_CELL_START = re.compile(rb'<c(?=[\s/>])(?! r="[A-Z]{1,3}\d{1,9}")')
PREFIXED_CELL_START = re.compile(rb":c[\s/>]")
# A part name starting with a Windows drive ("C:") points outside the workbook.
WINDOWS_DRIVE = re.compile(r"[A-Za-z]:")
# A tag longer than this is nothing a spreadsheet program writes; it is refused rather than carried on for ever.
LONGEST_TAG = 64 * 1024

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
    max_cells: int


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
        max_cells=int(raw["max_cells"]),
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
                Code.CHECK_FAILED,
                f"the file could not be checked ({type(exc).__name__}); {SAVE_AS_XLSX}",
            )
        ]


def _problem(code: str, message: str, sheet: str | None = None) -> Problem:
    return Problem(code, message, severity="error", sheet=sheet)


def _check(data: bytes, filename: str, max_bytes: int, limits: UploadLimits) -> list[Problem]:
    if not data:
        return [
            _problem(
                Code.EMPTY_FILE, "the file is empty (0 bytes); check you chose your return workbook and upload it again"
            )
        ]
    if len(data) > max_bytes:
        return [
            _problem(
                Code.FILE_TOO_LARGE,
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
                Code.NOT_A_WORKBOOK,
                f"this is {name}, not an Excel workbook{_despite_name(filename)}; upload the return workbook itself "
                "(download the template again if you need a fresh copy)",
            )
    text = _as_text(data)
    if text is None:
        return _problem(
            Code.NOT_A_WORKBOOK,
            f"this is not an Excel workbook{_despite_name(filename)}; check you chose your return, {SAVE_AS_XLSX}",
        )
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<!doctype html", "<html")) or "<html" in start[:1024]:
        return _problem(
            Code.NOT_A_WORKBOOK,
            f"this is a web page (HTML), not an Excel workbook{_despite_name(filename)}; {SAVE_AS_XLSX}",
        )
    if start.startswith("<?xml") or start.startswith("<"):
        kind = (
            "an Excel 2003 XML spreadsheet"
            if "urn:schemas-microsoft-com:office:spreadsheet" in start[:4096]
            else "an XML file"
        )
        return _problem(Code.NOT_A_WORKBOOK, f"this is {kind}, not an Excel workbook (.xlsx); {SAVE_AS_XLSX}")
    return _problem(
        Code.CSV_FILE,
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
            Code.ENCRYPTED_WORKBOOK,
            "the workbook is protected with a password to open it, so it cannot be read; open it in Excel, remove "
            "the password (File > Info > Protect Workbook > Encrypt with Password, clear the box), save it and "
            "upload it again",
        )
    if "WordDocument" in names or "PowerPoint Document" in names:
        kind = "an old Word document (.doc)" if "WordDocument" in names else "an old PowerPoint file (.ppt)"
        return _problem(
            Code.NOT_A_WORKBOOK, f"this is {kind}, not an Excel workbook; upload the return workbook itself"
        )
    return _problem(
        Code.OLD_EXCEL_FORMAT,
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
            return _check_archive(archive, data, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, struct.error):
        return [
            _problem(
                Code.DAMAGED_FILE,
                "the file is damaged or incomplete (it may not have finished uploading or saving); open it in "
                "Excel, save it again as an Excel Workbook (.xlsx) and upload it again",
            )
        ]


def _check_archive(archive: zipfile.ZipFile, data: bytes, limits: UploadLimits) -> list[Problem]:
    infos = archive.infolist()
    if len(infos) > limits.max_parts:
        return [
            _problem(
                Code.TOO_MANY_PARTS,
                f"the file holds {len(infos):,} parts, more than the {limits.max_parts:,} a workbook could need, so "
                f"it is not a normal workbook; {SAVE_AS_XLSX}",
            )
        ]
    problems = _check_declared_sizes(infos, limits)
    problems += _check_part_names(infos)
    if any(info.flag_bits & 0x1 for info in infos):
        problems.append(
            _problem(
                Code.ENCRYPTED_WORKBOOK,
                "parts of the file are protected with a password, so it cannot be read; remove the password, "
                f"{SAVE_AS_XLSX}",
            )
        )
    if problems:
        return problems  # nothing is unpacked from a zip that fails these
    names = {info.filename for info in infos}
    usual = "[Content_Types].xml" in names and "xl/workbook.xml" in names
    if not usual and _other_kind(names) is not None:
        return [_describe_other_zip(names)]
    problems += _scan_parts(archive, infos, limits)
    if problems or usual:
        return problems
    # Parts named unusually (such as with backslashes, as some tools write them): a workbook when the reader opens
    # it, and only after every part has passed the scans above.
    if _reader_opens(data):
        return []
    return [_describe_other_zip(names)]


def _reader_opens(data: bytes) -> bool:
    try:
        return bool(python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names)
    except Exception:  # noqa: BLE001 - any failure means "not a workbook the reader can open"
        return False


def _check_declared_sizes(infos: list[zipfile.ZipInfo], limits: UploadLimits) -> list[Problem]:
    advice = f"it is not a normal workbook (it may be a 'zip bomb'); {SAVE_AS_XLSX}"
    total = sum(info.file_size for info in infos)
    if total > limits.max_unpacked_bytes:
        return [
            _problem(
                Code.ZIP_BOMB,
                f"the file would unpack to {total / MB:,.0f} MB, over the {limits.max_unpacked_bytes / MB:g} MB "
                f"limit; {advice}",
            )
        ]
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > limits.ratio_applies_above_bytes and ratio > limits.max_compression_ratio:
            return [
                _problem(
                    Code.ZIP_BOMB,
                    f"part '{_shown(info.filename)}' unpacks to {ratio:,.0f} times its packed size; {advice}",
                )
            ]
    return []


def _check_part_names(infos: list[zipfile.ZipInfo]) -> list[Problem]:
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        unsafe = name.startswith(("/", "\\")) or ".." in parts or WINDOWS_DRIVE.match(name) or "\x00" in name
        duplicate = name in seen
        seen.add(name)
        if unsafe or duplicate:
            why = "appears twice" if duplicate else "points outside the workbook"
            return [
                _problem(
                    Code.UNSAFE_ZIP,
                    f"the file is not a normal workbook: its part '{_shown(name)}' {why}; {SAVE_AS_XLSX}",
                )
            ]
    return []


def _other_kind(names: set[str]) -> str | None:
    """What a zip that is not a workbook is, when it is something else people upload by mistake."""
    if "word/document.xml" in names:
        kind = "a Word document (.docx)"
    elif "ppt/presentation.xml" in names:
        kind = "a PowerPoint presentation (.pptx)"
    elif "xl/workbook.bin" in names:
        kind = "an Excel Binary Workbook (.xlsb)"
    elif "mimetype" in names and "content.xml" in names:
        kind = "an OpenDocument file (such as .ods)"
    else:
        kind = None
    return kind


def _describe_other_zip(names: set[str]) -> Problem:
    kind = _other_kind(names) or "a zip archive"
    return _problem(
        Code.ZIP_NOT_A_WORKBOOK,
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
                    Code.HUGE_DIMENSIONS,
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
                Code.XML_ENTITIES,
                f"part '{_shown(entity_parts[0])}' of the file declares XML entities or a DOCTYPE, which Excel never "
                f"writes and which can be used to attack the reader; {SAVE_AS_XLSX}",
            ),
        )
    if nested:
        problems.insert(
            0,
            _problem(
                Code.NESTED_ARCHIVE,
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
    sheet: _SheetScan | None = None
    tail = b""
    carry = b""
    # ZipExtFile never returns more than the declared size, which _check_declared_sizes has already bounded.
    with archive.open(info) as stream:
        chunk = stream.read(SCAN_CHUNK)
        result.nested_archive = chunk.startswith(NESTED_ARCHIVE_SIGNATURES)
        # One chunk read ahead: a sheet read whole in its first chunk may be judged at once.
        following = stream.read(SCAN_CHUNK) if chunk else b""
        # The literal first: most parts are not worksheets, and the pattern tries every "<".
        if chunk.find(b"worksheet", 0, 4096) >= 0 and WORKSHEET_ROOT.search(chunk, 0, 4096) is not None:
            whole = not following
            # Only a sheet the exact scan would surely pass skips it; any doubt runs the exact scan.
            sheet = None if whole and _sheet_surely_within(chunk, limits) else _SheetScan(limits)
        while chunk:
            window = tail + chunk
            if scan_entities and not result.has_entities and ENTITY_MARKER_SIGN in window:
                lowered = window.lower()
                result.has_entities = any(marker in lowered for marker in ENTITY_MARKERS)
            tail = window[-SCAN_OVERLAP:]
            # Once a sheet is known to be too big there is no need to look at more of its cells.
            if sheet is not None and not sheet.problem:
                carry = sheet.feed(carry + chunk)
            chunk, following = following, (stream.read(SCAN_CHUNK) if following else b"")
    if sheet is not None and not sheet.problem:
        sheet.finish(carry)
    if sheet is not None:
        result.too_big_range = sheet.problem
    return result


def _sheet_surely_within(data: bytes, limits: UploadLimits) -> bool:
    """True only when :class:`_SheetScan` would surely find nothing wrong with the whole worksheet ``data``.

    A quick bound instead of following every tag, for the usual sheet: no merges or links, every cell element
    unprefixed and addressed by its first attribute (``<c r="B12"``, :data:`PLAIN_CELL_START`). Then no cell can
    hold a value beyond the farthest address any cell element starts with, the scan's cell tags are among those
    element starts, and its rows and cells are fewer than the part's "<" characters. Anything else (an unaddressed
    or oddly written cell, a merge, a far address, a long unfinished last tag) answers False, and the exact scan
    decides.
    """
    # A part no longer than the limit cannot hold more "<" than it.
    if len(data) > limits.max_cells and data.count(b"<") > limits.max_cells:
        return False
    last = data.rfind(b"<")
    if last >= 0 and len(data) - last > LONGEST_TAG and not COMPLETE_TAG.match(data, last):
        return False
    # Byte searches, each a quick pass: a merge, a link, a prefixed cell ("<x:c" holds ":c") or a cell start that is
    # not plain (unaddressed, or its address not first) answers False.
    if b"mergeCell" in data or b"hyperlink" in data:
        return False
    if PREFIXED_CELL_START.search(data) is not None or OTHER_CELL_START.search(data) is not None:
        return False
    starts = PLAIN_CELL_START.findall(data)
    if not starts:
        return True
    letters, digits = zip(*starts, strict=True)
    # Row numbers with fewer digits than the limit are below it; only longer ones need reading as numbers.
    if max(map(len, digits)) >= len(str(limits.max_rows)) and max(map(int, digits)) > limits.max_rows:
        return False
    return max(map(_column_of, set(letters))) <= limits.max_columns


class _SheetScan:
    """Where a worksheet's cells really are, following its rows and cells in order as the readers do.

    A row or cell without an ``r`` attribute comes right after the one before it (so a row without ``r`` after
    ``<row r="1048576">`` is row 1,048,577), which is how calamine and openpyxl place it. Only cells holding
    something (a value, an inline string or a formula) count towards the extent: readers skip empty cells, which
    is why an empty styled row at 1,048,576 (LibreOffice, after a row was deleted) costs nothing and is accepted.
    Every row and cell element counts towards the number of cells, which bounds the work of every reader.
    """

    def __init__(self, limits: UploadLimits) -> None:
        self.limits = limits
        self.row = 0  # the current row element's number
        self.column = 0  # the last cell's column in the current row
        self.last_cell_row = 0
        self.open_cell: tuple[int, int] | None = None  # a cell element whose content is still being read
        self.max_row = self.max_column = 0
        self.elements = 0
        self.problem = ""

    def feed(self, data: bytes) -> bytes:
        """Follow the complete tags in ``data``; returns the unfinished end to prepend to the next chunk."""
        cut = data.rfind(b"<")
        if cut < 0:
            return b""
        self._follow(data[:cut])
        rest = data[cut:]
        # "<" never appears inside a tag, so the last one starts the last tag; once that tag is complete, what
        # follows it is text, which holds nothing the scan follows.
        if COMPLETE_TAG.match(rest):
            self._follow(rest)
            return b""
        if len(rest) > LONGEST_TAG:
            self.problem = f"holds an element over {LONGEST_TAG // 1024} KB long, which no spreadsheet writes"
        return rest

    def finish(self, data: bytes) -> None:
        """Follow what is left at the end of the part and decide."""
        self._follow(data)
        if not self.problem and (self.max_row > self.limits.max_rows or self.max_column > self.limits.max_columns):
            self.problem = f"has a cell as far out as row {self.max_row:,}, column {self.max_column:,}"

    def _follow(self, data: bytes) -> None:
        limits = self.limits
        # Closing tags are not followed: a value counts for the cell opened last, and a row or cell tag ends that.
        for name, attributes in SHEET_TAG.findall(data):
            if name == b"c":
                self._cell(attributes)
            elif name == b"row":
                reference = REF_ATTRIBUTE.search(attributes)
                implied = max(self.row, self.last_cell_row) + 1
                self.row = int(reference.group(1)) if reference and reference.group(1).isdigit() else implied
                self.column = 0
                self.open_cell = None
                self._count()
            elif name in (b"v", b"is", b"f"):
                if self.open_cell is None:
                    continue
                row, column = self.open_cell
                self.open_cell = None  # one value is enough to place the cell
                if row > self.max_row:
                    self.max_row = row
                if column > self.max_column:
                    self.max_column = column
                if self.max_row > limits.max_rows or self.max_column > limits.max_columns:
                    self.problem = f"has a cell as far out as row {self.max_row:,}, column {self.max_column:,}"
            elif name:
                self._range(name.decode("ascii"), attributes)
            else:
                self.open_cell = None
            if self.problem:
                return

    def _count(self) -> None:
        self.elements += 1
        if self.elements > self.limits.max_cells:
            self.problem = f"holds more than {self.limits.max_cells:,} rows and cells"

    def _cell(self, attributes: bytes) -> None:
        self.elements += 1
        if self.elements > self.limits.max_cells:
            self.problem = f"holds more than {self.limits.max_cells:,} rows and cells"
        address = CELL_REF_ATTRIBUTE.search(attributes)
        if address:
            row, column = int(address.group(2)), _column_of(address.group(1))
        else:
            row, column = max(self.row, 1), self.column + 1
        self.column, self.last_cell_row = column, row
        self.open_cell = None if attributes.rstrip().endswith(b"/") else (row, column)

    def _range(self, element: str, attributes: bytes) -> None:
        # openpyxl makes an object for every cell a merge or a hyperlink covers, so their ranges are bounded too.
        reference = RANGE_ATTRIBUTE.search(attributes)
        corners = CELL_ADDRESS.findall(reference.group(1).decode("ascii", "replace")) if reference else []
        rows = max((int(digits) for _, digits in corners), default=0)
        columns = max((_column_number(letters) for letters, _ in corners), default=0)
        if rows > self.limits.max_rows or columns > self.limits.max_columns:
            kind = "merged cells" if element == "mergeCell" else "a link"
            self.problem = f"has {kind} reaching as far as row {rows:,}, column {columns:,}"


@lru_cache(maxsize=1024)  # a sheet repeats a few column letters many times
def _column_of(letters: bytes) -> int:
    return _column_number(letters.decode("ascii"))


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
