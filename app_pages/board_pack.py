"""Board pack: the quarter's papers for the partnership board, as PDF (with charts) and as Excel data."""

import streamlit as st

from cyp import ui

ui.page_header("Board pack", "Papers for the partnership board: the same data and status rules as these pages.")
filters = ui.filter_bar(("quarter", "plan"), columns=2)
if filters.quarter is None:
    st.info("This plan has no quarters to show yet.")
else:
    st.markdown(
        f"**{filters.quarter}**: the PDF opens with what changed since last quarter, then the contents, the "
        "overview, the Family Friendly Index, a section per outcome with its charts, objectives and lines, commentary "
        "for every Red and Amber line, open board questions and indicators, the exceptions and the submission status "
        "(and, with sign-off on, what awaits sign-off). The Excel file has every line update and indicator value for "
        "the quarter, one row each, with what changed, the index domains, the board questions and what awaits sign-off."
    )
    st.caption(
        "Both files are prepared when you ask, from the data as it is now; a file that cannot be built says why here. "
        "The PDF is tagged for screen readers (PDF/UA-1): headings, tables, bookmarks and a text "
        "description of every chart."
    )
    ui.board_pack_downloads(filters.quarter, filters.plan)
    st.page_link(
        "app_pages/display.py",
        label="Open the board display for this quarter",
        icon=":material/present_to_all:",
        query_params=filters.to_query_params(),
    )
