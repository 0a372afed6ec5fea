"""The HTTP layer around the Streamlit app: the ASGI app (``app``), its routes, middleware and lifespan, and the
read-only data API (``api``)."""
