"""``bench/pack.py`` measuring one pack in a fresh process, its tree watched from outside: every figure is there and
is a number, the PDF it timed is the real pack, and the WeasyPrint document it compares against carries the same
text, tables and alt text."""

from __future__ import annotations

from bench.pack import run_one, weasyprint_html
from cyp.board.data import board_data
from cyp.board.pdf import pack_document
from cyp.bootstrap import initialise_database
from cyp.storage.db import make_engine, read_session, write_session
from tests.readside_factory import add_return

QUARTER = "2022-23 Q4"


def test_bench_pack_measures_one_typst_pack_in_a_fresh_process(tmp_path):
    url = f"sqlite:///{tmp_path / 'cyp.db'}"
    engine = make_engine(url)
    initialise_database(engine)
    with write_session(engine) as session:
        add_return(session, "family-services", QUARTER, {"19-FB-1.2": ("Red", "Waiting <b>list</b> & more.")})
    figures = run_one(url, QUARTER, "2019-23", "typst", timeout=300)
    assert "error" not in figures, figures
    assert (figures["engine"], figures["plan"], figures["quarter"], figures["lines"]) == (
        "typst",
        "2019-23",
        QUARTER,
        78,
    )
    names = ("pages", "bytes", "seconds", "cpu_s", "baseline_rss_mb", "peak_rss_mb", "typesetter_peak_rss_mb")
    for name in (*names, "tree_peak_rss_mb"):
        assert isinstance(figures[name], int | float) and figures[name] > 0, name
    assert figures["pages"] >= 10 and figures["peak_rss_mb"] >= figures["baseline_rss_mb"]
    # The tree's peak counts the pack process and the Typst child while both are alive: more than either alone.
    assert figures["tree_peak_rss_mb"] > max(figures["peak_rss_mb"], figures["typesetter_peak_rss_mb"])
    assert figures["typesetter_peak_rss_mb"] < figures["peak_rss_mb"]  # its own, not the pages it was forked with

    with read_session(engine) as session:
        document = pack_document(board_data(session, QUARTER))
    page = weasyprint_html(document)
    assert "Waiting &lt;b&gt;list&lt;/b&gt; &amp; more." in page  # escaped: text, never markup
    assert page.count("<th>") == sum(len(b["header"]) for b in document["blocks"] if b["kind"] == "table")
    first_figure = next(b for b in document["blocks"] if b["kind"] == "figure")
    assert f'alt="{first_figure["alt"].replace("&", "&amp;")}"' in page
    engine.dispose()
