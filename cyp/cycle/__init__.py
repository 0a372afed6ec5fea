"""What happens around the upload: pre-filling templates, reminders and digests by email, sign-off, board questions."""
