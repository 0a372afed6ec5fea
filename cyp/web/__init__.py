"""The HTTP layer around the app: the data API (``api``) and, from the web work, the ASGI app and sessions."""
