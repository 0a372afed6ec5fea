"""The HTTP layer around the Streamlit app: the ASGI app, its routes, middleware and lifespan."""
