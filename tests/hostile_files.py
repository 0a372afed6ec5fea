"""Hostile and wrong-format upload files, each built by code in memory, for any test that needs one.

Every builder returns the bytes of one file. They are small and fast: the zip bombs
are real (a part that really unpacks to many megabytes) but kept to tens of
megabytes, and the over-declared zip only claims its size in the zip directory.
"""

from __future__ import annotations

import io
import random
import struct
import warnings
import zipfile

from openpyxl import Workbook

OLE2_SIGNATURE = bytes.fromhex("D0CF11E0A1B11AE1")
FREE_SECTOR = 0xFFFFFFFF
END_OF_CHAIN = 0xFFFFFFFE
FAT_SECTOR = 0xFFFFFFFD
NO_STREAM = 0xFFFFFFFF
MINI_STREAM_CUTOFF = 4096


def valid_xlsx_bytes() -> bytes:
    """A small ordinary workbook written by openpyxl: a Return sheet with a header row and two lines."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Return"
    sheet.append(["Ref", "RAG status", "Progress update"])
    sheet.append(["1.1", "Green", "On track"])
    sheet.append(["1.2", "Amber", "Recruitment delayed"])
    workbook.create_sheet("Indicators").append(["Ref", "Indicator", "Value"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rebuild(
    source: bytes,
    replace: dict[str, bytes] | None = None,
    add: dict[str, bytes] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """A copy of the zip ``source`` with some parts replaced and others added."""
    replace = replace or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(out, "w", compression) as new:
        for info in old.infolist():
            new.writestr(info.filename, replace.get(info.filename, old.read(info)))
        for name, content in (add or {}).items():
            new.writestr(name, content)
    return out.getvalue()


def xlsm_bytes() -> bytes:
    """A macro-enabled workbook: the valid workbook plus ``xl/vbaProject.bin`` and the macro content type."""
    source = valid_xlsx_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        content_types = archive.read("[Content_Types].xml").decode("utf-8")
    content_types = content_types.replace(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    ).replace(
        "</Types>",
        '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>',
    )
    vba_project = _compound_file({"VBA": b'Attribute VB_Name = "Module1"\r\n'.ljust(MINI_STREAM_CUTOFF, b" ")})
    return _rebuild(
        source, replace={"[Content_Types].xml": content_types.encode("utf-8")}, add={"xl/vbaProject.bin": vba_project}
    )


def _compound_file(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (MS-CFB version 3, 512-byte sectors) holding ``streams`` in its root storage.

    Each stream is padded to at least the 4,096-byte mini-stream cutoff so it lives in ordinary sectors and no
    mini stream is needed. Layout: sector 0 is the FAT, sector 1 the directory, then each stream's sectors.
    """
    padded = {name: content.ljust(MINI_STREAM_CUTOFF, b"\x00") for name, content in streams.items()}
    if len(padded) > 3:
        raise ValueError("one directory sector holds the root and at most three streams")
    fat = [FAT_SECTOR, END_OF_CHAIN]
    starts = {}
    body = b""
    for name, content in padded.items():
        sectors = -(-len(content) // 512)
        starts[name] = len(fat)
        fat.extend(range(len(fat) + 1, len(fat) + sectors))
        fat.append(END_OF_CHAIN)
        body += content.ljust(sectors * 512, b"\x00")
    fat.extend([FREE_SECTOR] * (128 - len(fat)))

    def entry(name: str, object_type: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le") if name else b""
        return (
            encoded.ljust(64, b"\x00")
            + struct.pack("<HBB", len(encoded), object_type, 1)  # name length, type, colour (black)
            + struct.pack("<III", NO_STREAM, right, child)  # left sibling, right sibling, child
            + bytes(16 + 4 + 8 + 8)  # CLSID, state bits, creation and modification times
            + struct.pack("<IQ", start, size)
        )

    # Siblings are ordered by name length, then name; a right-leaning chain is a valid (if unbalanced) tree.
    ordered = sorted(padded, key=lambda n: (len(n), n.upper()))
    index = {name: position + 1 for position, name in enumerate(ordered)}
    directory = entry("Root Entry", 5, index[ordered[0]] if ordered else NO_STREAM, NO_STREAM, END_OF_CHAIN, 0)
    for position, name in enumerate(ordered):
        right = index[ordered[position + 1]] if position + 1 < len(ordered) else NO_STREAM
        directory += entry(name, 2, NO_STREAM, right, starts[name], len(padded[name]))
    directory = directory.ljust(512, b"\x00")  # unused entries are all zero (type 0, empty)

    header = (
        OLE2_SIGNATURE
        + bytes(16)  # CLSID
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)  # minor, major version, byte order, sector and mini shifts
        + bytes(6)
        + struct.pack("<IIIII", 0, 1, 1, 0, MINI_STREAM_CUTOFF)  # dir sectors, FAT sectors, first dir sector, ...
        + struct.pack("<IIII", END_OF_CHAIN, 0, END_OF_CHAIN, 0)  # mini FAT start and count, DIFAT start and count
        + struct.pack("<109I", 0, *([FREE_SECTOR] * 108))  # the one FAT sector is sector 0
    )
    return header + struct.pack("<128I", *fat) + directory + body


def xls_bytes() -> bytes:
    """An Excel 97–2003 file: a compound file whose Workbook stream starts with a BIFF8 BOF record."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0)
    return _compound_file({"Workbook": bof})


def encrypted_xlsx_bytes() -> bytes:
    """A password-protected xlsx as Excel saves it: a compound file with EncryptionInfo and EncryptedPackage."""
    encryption_info = struct.pack("<HHI", 4, 4, 0x40) + (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption"/>'
    )
    encrypted_package = struct.pack("<Q", 4096) + random.Random(7).randbytes(4096)
    return _compound_file({"EncryptionInfo": encryption_info, "EncryptedPackage": encrypted_package})


def csv_bytes() -> bytes:
    """A return saved as CSV."""
    return b'Ref,RAG status,Progress update\r\n1.1,Green,On track\r\n1.2,Amber,"Recruitment delayed, see note"\r\n'


def pdf_bytes() -> bytes:
    """The start of a PDF document."""
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def html_bytes() -> bytes:
    """A web page saved with a spreadsheet name, as Excel's 'Web Page' export or a portal download gives."""
    return b'<html xmlns:x="urn:schemas-microsoft-com:office:excel"><body><table><tr><td>Ref</td></tr></table></html>'


def docx_like_zip_bytes() -> bytes:
    """A Word document's package shape: content types and word/document.xml, no workbook."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><document/>')
    return out.getvalue()


def plain_zip_bytes() -> bytes:
    """An ordinary zip archive of a text file."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("notes.txt", "quarter 3 notes")
    return out.getvalue()


def zip_bomb_bytes(megabytes: int = 24) -> bytes:
    """A valid workbook plus a part of ``megabytes`` MB of zeros that packs about 1,000 to 1."""
    out = io.BytesIO()
    source = valid_xlsx_bytes()
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename, old.read(info))
        block = bytes(1024 * 1024)
        with new.open("xl/media/padding.xml", "w") as part:
            for _ in range(megabytes):
                part.write(block)
    return out.getvalue()


def overdeclared_zip_bytes() -> bytes:
    """A workbook whose zip directory claims one part unpacks to nearly 4 GB (the directory is edited after writing)."""
    data = bytearray(valid_xlsx_bytes())
    # The first central-directory record: signature PK\x01\x02; its uncompressed size is at offset 24.
    record = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, record + 24, 0xFFFF0000)
    return bytes(data)


def many_parts_xlsx_bytes(parts: int = 1001) -> bytes:
    """A valid workbook padded with ``parts`` tiny extra parts."""
    return _rebuild(
        valid_xlsx_bytes(), add={f"xl/extra/part{n}.xml": b"<x/>" for n in range(parts)}, compression=zipfile.ZIP_STORED
    )


def nested_zip_xlsx_bytes() -> bytes:
    """A valid workbook with another workbook embedded in it."""
    return _rebuild(valid_xlsx_bytes(), add={"xl/embeddings/inner.xlsx": valid_xlsx_bytes()})


def path_traversal_xlsx_bytes() -> bytes:
    """A valid workbook with a part named to escape any folder it were unpacked into."""
    return _rebuild(valid_xlsx_bytes(), add={"../../evil.sh": b"echo owned"})


def extra_part_xlsx_bytes(name: str, content: bytes = b"<x/>") -> bytes:
    """A valid workbook with one more part called ``name`` (which may repeat an existing part's name)."""
    out = io.BytesIO(valid_xlsx_bytes())
    with warnings.catch_warnings(), zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about a duplicate name, which is the point
        archive.writestr(name, content)
    return out.getvalue()


def _sheet1_xml(source: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(source)) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode("utf-8")


def huge_dimension_xlsx_bytes() -> bytes:
    """A workbook whose Return sheet declares the whole grid, A1:XFD1048576, as its used range."""
    source = valid_xlsx_bytes()
    sheet = _sheet1_xml(source)
    start = sheet.index("<dimension")
    end = sheet.index("/>", start) + 2
    sheet = sheet[:start] + '<dimension ref="A1:XFD1048576"/>' + sheet[end:]
    return _rebuild(source, replace={"xl/worksheets/sheet1.xml": sheet.encode("utf-8")})


def far_cell_xlsx_bytes() -> bytes:
    """A workbook with a modest declared range but one cell far down the sheet (row 1,000,000)."""
    source = valid_xlsx_bytes()
    sheet = _sheet1_xml(source).replace(
        "</sheetData>",
        '<row r="1000000"><c r="B1000000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
    )
    return _rebuild(source, replace={"xl/worksheets/sheet1.xml": sheet.encode("utf-8")})


def sheet_xml(rows: str, dimension: str = "A1:C3", after: str = "") -> str:
    """A worksheet part holding the valid workbook's header and two lines, then ``rows``, declaring ``dimension``."""
    cells = "".join(
        f'<row r="{number}">'
        + "".join(
            f'<c r="{letter}{number}" t="inlineStr"><is><t>{text}</t></is></c>'
            for letter, text in zip("ABC", row, strict=True)
        )
        + "</row>"
        for number, row in enumerate(
            [("Ref", "RAG status", "Progress update"), ("1.1", "Green", "On track"), ("1.2", "Amber", "Late")], start=1
        )
    )
    return (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<dimension ref="{dimension}"/><sheetData>{cells}{rows}</sheetData>{after}</worksheet>'
    )


def with_return_sheet(xml: str) -> bytes:
    """The valid workbook with its Return sheet's part replaced by ``xml``."""
    return _rebuild(valid_xlsx_bytes(), replace={"xl/worksheets/sheet1.xml": xml.encode("utf-8")})


def unaddressed_cells_after_last_row_xlsx_bytes(columns: int = 8) -> bytes:
    """The 9 KB attack: an empty row numbered 1,048,576, then a row and cells without ``r``, so they fall beyond it.

    The declared range is small and no cell carries a far address; a reader places the cells at row 1,048,577,
    and one that allocates the grid (calamine) would build a million rows.
    """
    rows = '<row r="1048576"/><row>' + "<c><v>1</v></c>" * columns + "</row>"
    return with_return_sheet(sheet_xml(rows, dimension="A1:C3"))


def understated_dimension_xlsx_bytes() -> bytes:
    """A sheet declaring a one-cell range while holding a cell at row 600,000 written without an address."""
    rows = '<row r="599999"/><row><c t="inlineStr"><is><t>x</t></is></c></row>'
    return with_return_sheet(sheet_xml(rows, dimension="A1"))


def too_many_cells_xlsx_bytes(cells: int = 120_000) -> bytes:
    """A sheet of ``cells`` empty cells, all within the first columns and rows: small, but a lot of work to read."""
    rows = "".join("<row>" + "<c/>" * 100 + "</row>" for _ in range(cells // 100))
    return with_return_sheet(sheet_xml(rows))


def merge_bomb_xlsx_bytes() -> bytes:
    """A sheet merging the whole grid: openpyxl would make a cell object for each of its 17 billion cells."""
    return with_return_sheet(sheet_xml("", after='<mergeCells count="1"><mergeCell ref="A5:XFD1048576"/></mergeCells>'))


def hyperlink_bomb_xlsx_bytes() -> bytes:
    """A sheet with one link over the whole grid: openpyxl would make a cell object for each cell it covers."""
    link = '<hyperlinks><hyperlink ref="A5:XFD1048576" location="Return!A1" display="x"/></hyperlinks>'
    return with_return_sheet(sheet_xml("", after=link))


def libreoffice_like_xlsx_bytes() -> bytes:
    """What LibreOffice writes after a row is deleted: the whole height declared and an empty styled last row."""
    rows = '<row r="1048576" s="1" customFormat="1" ht="12.8"><c r="A1048576" s="1"/><c r="H1048576" s="1"/></row>'
    return with_return_sheet(sheet_xml(rows, dimension="A1:H1048576"))


RETURN_ROWS = "".join(
    f'<row r="{number}">'
    + "".join(
        f'<c r="{letter}{number}" t="inlineStr"><is><t>{text}</t></is></c>'
        for letter, text in zip("ABC", row, strict=True)
    )
    + "</row>"
    for number, row in enumerate(
        [
            ("Team", "Family Services", ""),
            ("Quarter", "2025-26 Q3", ""),
            ("Ref", "RAG status", "Progress update"),
            ("T23-1.1", "Green", "Hubs open."),
            ("T23-1.2", "Amber", "Second hub delayed."),
        ],
        start=1,
    )
)


def fuzzed_sheet_xlsx_bytes(rows: str, dimension: str, whole_return: bool = False) -> bytes:
    """The valid workbook's Return sheet with ``rows`` added (after a whole Family Services return, if asked)."""
    if whole_return:
        xml = (
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<dimension ref="{dimension or "A1"}"/><sheetData>{RETURN_ROWS}{rows}</sheetData></worksheet>'
        )
    else:
        xml = sheet_xml(rows, dimension=dimension or "A1")
    if not dimension:
        xml = xml.replace('<dimension ref="A1"/>', "")
    return with_return_sheet(xml)


def _with_doctype(doctype: str, reference: str) -> bytes:
    source = valid_xlsx_bytes()
    sheet = _sheet1_xml(source)
    # openpyxl writes no XML declaration, so the DOCTYPE goes first; the entity is used in the first heading.
    sheet = doctype + sheet.replace("<t>Ref</t>", f"<t>{reference}</t>", 1)
    return _rebuild(source, replace={"xl/worksheets/sheet1.xml": sheet.encode("utf-8")})


def xxe_xlsx_bytes() -> bytes:
    """A workbook whose sheet declares an external entity reading a local file (XXE)."""
    return _with_doctype('<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;")


def billion_laughs_xlsx_bytes() -> bytes:
    """A workbook whose sheet declares nested entities that expand exponentially ("billion laughs")."""
    entities = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    return _with_doctype(f"<!DOCTYPE worksheet [{entities}]>", "&lol9;")


def utf16_doctype_xlsx_bytes() -> bytes:
    """A workbook whose sheet is re-encoded as UTF-16 with a DOCTYPE, so a byte search for ASCII would miss it."""
    source = valid_xlsx_bytes()
    sheet = _sheet1_xml(source)
    sheet = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE worksheet>' + sheet
    return _rebuild(source, replace={"xl/worksheets/sheet1.xml": sheet.encode("utf-16")})


def truncated_xlsx_bytes() -> bytes:
    """A valid workbook cut off two thirds of the way through, as an interrupted upload leaves it."""
    data = valid_xlsx_bytes()
    return data[: len(data) * 2 // 3]


def corrupted_part_xlsx_bytes() -> bytes:
    """A valid workbook with bytes inside a stored part flipped, so its checksum no longer matches."""
    data = bytearray(_rebuild(valid_xlsx_bytes(), compression=zipfile.ZIP_STORED))
    at = data.index(b"<sheetData")
    data[at : at + 10] = b"<sheetDatX"
    return bytes(data)


def random_bytes(seed: int, size: int = 2048) -> bytes:
    """``size`` random bytes, the same for the same seed."""
    return random.Random(seed).randbytes(size)


def with_backslash_part_names(source: bytes) -> bytes:
    """``source`` with every part named with backslashes ("xl\\workbook.xml"), as some tools write zips."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(source)) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            new.writestr(info.filename.replace("/", "\\"), old.read(info))
    return out.getvalue()
