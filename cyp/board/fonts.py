"""Which characters the pack's fonts can draw, read straight from each font's ``cmap`` table.

PDF/UA refuses text shown with a missing glyph, so :mod:`cyp.board.pdf` replaces what no font can draw. Parsing
the 40 installed DejaVu and Liberation files with fontTools cost about 17 MB of the pack's memory (a dict of glyph
names per font) for what is only a set of code points; the two subtable formats fonts use for Unicode (4 and 12)
are read here with :mod:`struct` instead, giving exactly the code points fontTools' ``getBestCmap`` gives.
"""

from __future__ import annotations

import struct
from pathlib import Path

# (platform, encoding) pairs of Unicode subtables, as fontTools' getBestCmap looks for them.
UNICODE_SUBTABLES = ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0))


def cmap_points(path: Path) -> set[int]:
    """The code points the font at ``path`` maps to a glyph (empty for a file with no Unicode ``cmap``)."""
    try:
        return set(_cmap(path.read_bytes()))
    except struct.error:  # a truncated or damaged font draws nothing we can count on
        return set()


def advance_widths(path: Path) -> dict[int, float]:
    """{code point: advance width in em} of every character the font at ``path`` draws (``hmtx``, as fontTools)."""
    data = path.read_bytes()
    tables = _tables(data)
    (per_em,) = struct.unpack_from(">H", data, tables[b"head"] + 18)
    (metrics,) = struct.unpack_from(">H", data, tables[b"hhea"] + 34)
    widths = struct.unpack_from(f">{metrics * 2}H", data, tables[b"hmtx"])[::2]
    # Glyphs past the last full metric share its advance width (the OpenType hmtx rule).
    return {code: widths[min(glyph, metrics - 1)] / per_em for code, glyph in _cmap(data).items()}


def _tables(data: bytes) -> dict[bytes, int]:
    (count,) = struct.unpack_from(">H", data, 4)
    return {tag: offset for tag, _checksum, offset, _length in struct.iter_unpack(">4sIII", data[12 : 12 + 16 * count])}


def _cmap(data: bytes) -> dict[int, int]:
    """{code point: glyph id} from the best Unicode subtable (format 12, else 4)."""
    cmap = _tables(data).get(b"cmap")
    if cmap is None:
        return {}
    (count,) = struct.unpack_from(">H", data, cmap + 2)
    formats: dict[int, int] = {}  # subtable format: where it starts, the first Unicode one of each format
    for platform, encoding, offset in struct.iter_unpack(">HHI", data[cmap + 4 : cmap + 4 + 8 * count]):
        if (platform, encoding) in UNICODE_SUBTABLES:
            (number,) = struct.unpack_from(">H", data, cmap + offset)
            formats.setdefault(number, cmap + offset)
    if 12 in formats:  # segmented coverage: the whole of Unicode, as ranges
        start = formats[12]
        (groups,) = struct.unpack_from(">I", data, start + 12)
        glyphs: dict[int, int] = {}
        for first, last, glyph in struct.iter_unpack(">III", data[start + 16 : start + 16 + 12 * groups]):
            glyphs.update(zip(range(first, last + 1), range(glyph, glyph + last - first + 1), strict=True))
        return glyphs
    if 4 in formats:
        return _format_4(data, formats[4])
    return {}


def _format_4(data: bytes, start: int) -> dict[int, int]:
    """Segment mapping to delta values (the Basic Multilingual Plane): codes whose glyph is not 0 (.notdef)."""
    (doubled,) = struct.unpack_from(">H", data, start + 6)
    segments = doubled // 2
    ends = struct.unpack_from(f">{segments}H", data, start + 14)
    starts = struct.unpack_from(f">{segments}H", data, start + 16 + doubled)
    deltas = struct.unpack_from(f">{segments}h", data, start + 16 + 2 * doubled)
    offsets_at = start + 16 + 3 * doubled
    offsets = struct.unpack_from(f">{segments}H", data, offsets_at)
    glyphs: dict[int, int] = {}
    for index, (first, last) in enumerate(zip(starts, ends, strict=True)):
        for code in range(first, min(last, 0xFFFE) + 1):
            if offsets[index] == 0:
                glyph = (code + deltas[index]) & 0xFFFF
            else:
                (glyph,) = struct.unpack_from(">H", data, offsets_at + 2 * index + offsets[index] + 2 * (code - first))
                glyph = (glyph + deltas[index]) & 0xFFFF if glyph else 0
            if glyph:
                glyphs[code] = glyph
    return glyphs


def drawable_points(folders: tuple[Path, ...]) -> frozenset[int]:
    """Every code point some ``.ttf`` font in ``folders`` can draw."""
    points: set[int] = set()
    for folder in folders:
        for path in sorted(folder.glob("*.ttf")):
            points |= cmap_points(path)
    return frozenset(points)
