"""Your account: who you are signed in as, and whether CYP Plan Monitor sends you reminder and digest emails."""

import streamlit as st

from cyp import ui

# Session state: what the last click changed, said once on the run after it (the button's label changes too).
CHANGED_KEY = "account_emails_changed"

ui.page_header("Your account", "Who you are signed in as, and the emails CYP Plan Monitor sends you.")
account = ui.load_my_account()
if account is None:
    st.error(
        "Your account is no longer there (it may have been removed). Ask the performance team (an administrator).",
        icon=":material/error:",
    )
    st.stop()

st.header("Who you are")
details = [
    ("Username", account["username"]),
    ("Name", account["name"] or "not set"),
    ("Role", account["role"]),
    ("Teams", ", ".join(account["teams"]) or "none"),
    ("Email", account["email"] or "none"),
]
st.markdown("\n".join(f"- {label}: {ui.escape_markdown(value)}" for label, value in details))
st.caption("To change any of these, ask the performance team (an administrator).")

st.header("Email reminders and digests")
st.markdown(
    "CYP Plan Monitor emails a team's leads before and after their return's deadline, with the pre-filled template, "
    "and the performance team and directors a weekly digest. Stopping them also stops the email telling a lead "
    "that an approver sent a return back. You can restart them here at any time."
)
changed = st.session_state.pop(CHANGED_KEY, None)
if changed:
    st.success(changed, icon=":material/check_circle:")
if account["emails_stopped"]:
    st.markdown("**Now:** you do not get reminder or digest emails; you stopped them.")
    label, on, done = "Restart reminder and digest emails", True, "You will get reminder and digest emails again."
else:
    st.markdown("**Now:** you get reminder and digest emails.")
    label, on, done = "Stop reminder and digest emails", False, "You will no longer get reminder or digest emails."
if not account["email"]:
    st.info(
        "Your account has no email address, so no email reaches you either way. "
        "To get them, ask the performance team (an administrator) to add your address.",
        icon=":material/info:",
    )
if st.button(label, key="account_emails") and ui.set_my_email_reminders(on):
    st.session_state[CHANGED_KEY] = done
    st.rerun()
