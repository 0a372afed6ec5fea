"""Young people's summary: what the plan promises and how it is going, in plain words, with no commentary, no
board questions and no small numbers of people (1 to 5 are shown as "fewer than 6"). Printable."""

import streamlit as st

from cyp import ui
from cyp.read.young_people import NOT_GOING_WELL, ON_TRACK
from cyp.status import NO_RETURN

# Large, readable text on this page only; printed, the page is just the summary (no menu, header or filters).
st.html(
    "<style>[data-testid='stMain'] [data-testid='stMarkdownContainer'] p,"
    "[data-testid='stMain'] [data-testid='stMarkdownContainer'] li{font-size:1.3rem;line-height:1.6}"
    "@media print{[data-testid='stSidebar'],[data-testid='stSidebarCollapsedControl'],header,"
    "[data-testid='stHeader'],[data-testid='stToolbar'],[data-testid='stDecoration'],[data-testid='stSelectbox'],"
    ".cyp-print-hint{display:none !important}"
    "[data-testid='stMain'],[data-testid='stMainBlockContainer']{margin:0 !important;padding:0 !important;"
    "max-width:100% !important}"
    "[data-testid='stVerticalBlockBorderWrapper']{break-inside:avoid}}</style>"
)
words = ui.young_people_words()
ui.page_header("How Barnet's plan for children and young people is going")
st.markdown(words["intro"])
st.markdown(
    f'<p class="cyp-print-hint">{ui.escape_markdown(words["print_hint"], inside_html=True)}</p>',
    unsafe_allow_html=True,
)
filters = ui.filter_bar(("plan", "quarter"), columns=2)
_resolved, options = ui.resolved_filters(filters)
if filters.quarter is None:
    st.info("There is no news to share for this plan yet.")
    st.stop()
summary = ui.load_young_people_summary(filters.quarter, filters.plan)


def bullets(items: tuple[str, ...]) -> str:
    """Promise texts (the plan's words) as a markdown list, escaped."""
    return "\n".join(f"- {ui.escape_markdown(text)}" for text in items)


st.header(f"{ui.escape_markdown(options.plan_title)}: how it is going in {filters.quarter}")
for outcome in summary:
    with st.container(border=True):
        st.subheader(ui.escape_markdown(outcome.name))
        st.markdown(
            f"{ui.status_badge_html(outcome.status, '1.3rem')} &nbsp; **{ui.escape_markdown(outcome.headline)}**",
            unsafe_allow_html=True,
        )
        for key, statuses in (("going_well", ON_TRACK), ("not_going_well", NOT_GOING_WELL), ("no_news", (NO_RETURN,))):
            if promises := outcome.promises_with(statuses):
                st.markdown(f"{ui.escape_markdown(words[key])}\n{bullets(promises)}")
        first, *per_status = outcome.work
        st.markdown(
            ui.escape_markdown(first) + "\n" + "\n".join(f"- {ui.escape_markdown(line)}" for line in per_status)
        )
        if outcome.numbers:
            st.markdown(
                f"**{ui.escape_markdown(words['numbers_heading'])}**\n"
                + "\n".join(
                    "- "
                    + ui.escape_markdown(
                        words["number"].format(name=number.name, value=number.value, quarter=number.quarter)
                    )
                    for number in outcome.numbers
                )
            )

st.subheader(ui.escape_markdown(words["rule_heading"]))
st.markdown(" ".join(ui.escape_markdown(sentence) for sentence in ui.young_people_rule()))
st.markdown(ui.escape_markdown(words["privacy"]))
