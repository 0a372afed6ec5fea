"""Young people's summary: what the plan promises and how it is going, in plain words, with no commentary and
no small numbers (1 to 5 are shown as "fewer than 6")."""

import streamlit as st

from cyp import ui
from cyp.read.charts import STATUS_ICONS

# Large, readable text on this page only.
st.html(
    "<style>[data-testid='stMain'] [data-testid='stMarkdownContainer'] p,"
    "[data-testid='stMain'] [data-testid='stMarkdownContainer'] li{font-size:1.3rem;line-height:1.6}</style>"
)
words = ui.young_people_words()
ui.page_header("How Barnet's plan for children and young people is going")
st.markdown(words["intro"])
filters = ui.filter_bar(("plan", "quarter"), columns=2)
_resolved, options = ui.resolved_filters(filters)
if filters.quarter is None:
    st.info("There is no news to share for this plan yet.")
    st.stop()
summary = ui.load_young_people_summary(filters.quarter, filters.plan)

st.header(f"{ui.escape_markdown(options.plan_title)}: what we promised")
for outcome in summary:
    with st.container(border=True):
        st.subheader(ui.escape_markdown(outcome.name))
        st.markdown("We said we would:\n" + "\n".join(f"- {ui.escape_markdown(text)}" for text in outcome.promises))
        st.markdown(f"**How it is going ({filters.quarter}):**")
        st.markdown(
            f"Overall: {ui.status_badge_html(outcome.status, '1.3rem')} &nbsp; {words['statuses'][outcome.status]}",
            unsafe_allow_html=True,
        )
        st.markdown(
            "\n".join(
                f"- {STATUS_ICONS[status]} {words['statuses'][status].capitalize()}: **{count}**"
                for status, count in outcome.counts
            )
        )

with st.expander("How we work out the overall answer"):
    st.markdown(ui.describe_rule())
    st.markdown(f'To protect privacy we never show a number from 1 to 5: you will see "{words["suppressed"]}" instead.')
