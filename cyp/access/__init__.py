"""Access: who may do what (permissions), sign-in, accounts and the audit trail."""
