"""The one escaping function: data (from a URL, a workbook, the framework or a user) shown as text, never markup."""

from __future__ import annotations

import html
import math
import re

# The punctuation that is markup anywhere in a line of Streamlit's markdown (CommonMark, GFM tables and
# strikethrough, LaTeX ``$``, raw HTML): a backslash makes each one literal (CommonMark section 2.4). With "[" and "]"
# escaped no link, image or ``:colour[...]`` directive can open, so "(", ")" and "!" need nothing.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_\[\]#<>~$|])")
# What is markup only at the start of a line (the text is folded to one line): a list item ("- ", "+ ", "1. ",
# "1) ").
_BLOCK_START = re.compile(r"^([-+]|\d{1,9}[.)])")
# Streamlit also rewrites text *after* parsing, where escapes no longer count: emoji and icon shortcodes
# (``:smile:``, ``:material/home:``), directives and GFM's bare links (``http://...``, ``www.``, ``name@host``). A word
# joiner (U+2060, invisible and never a break) after a colon or "@" that something follows, and inside "www.", stops
# those patterns matching.
WORD_JOINER = "\u2060"
_AFTER_PARSE_PATTERNS = re.compile(r"(?<=[:@])(?=\S)|(?<=www)(?=\.)", re.IGNORECASE)
_HTML_AFTER_PARSE_PATTERNS = re.compile(r"(?<=[:@])(?=[^\s\d])|(?<=www)(?=\.)", re.IGNORECASE)


def escape_markdown(text: object, *, inside_html: bool = False) -> str:
    """Text from a team, a workbook, the framework or a URL, made literal wherever Streamlit renders markdown.

    The one escaping function of the app: use it for every piece of data put into ``st.markdown``, ``st.caption``,
    alerts, titles and headers, and widget labels and help. It neutralises markdown (emphasis, links, images,
    headings, lists, tables), raw HTML, ``:colour[...]`` directives, LaTeX ``$``, emoji and icon shortcodes and bare
    links, and folds whitespace to single spaces so the text stays inside the line it is put in. With
    ``inside_html`` the text is for a raw HTML block (``unsafe_allow_html``, where markdown is not parsed): HTML
    entities instead of backslashes, and the word joiners. ``None`` and NaN give "".
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    folded = " ".join(str(text).split())
    if inside_html:
        # Raw HTML is not parsed as markdown; the joiners are a second guard against shortcodes, left out before a
        # digit so times ("10:30") stay plain text for screen readers and copies.
        return html.escape(_HTML_AFTER_PARSE_PATTERNS.sub(WORD_JOINER, folded))
    # Joiners first, so a backslash never separates "www" from its dot (the parser drops the backslash).
    escaped = _MARKDOWN_SPECIALS.sub(r"\\\1", _AFTER_PARSE_PATTERNS.sub(WORD_JOINER, folded))
    return _BLOCK_START.sub(lambda start: "".join(f"\\{c}" if not c.isdigit() else c for c in start.group(1)), escaped)


def unescape_markdown(source: str) -> str:
    """The text a reader sees in markdown made with :func:`escape_markdown`: escapes and word joiners removed.

    For tests and logs that compare what a page says with plain text.
    """
    return re.sub(r"\\(.)", r"\1", source).replace(WORD_JOINER, "")
