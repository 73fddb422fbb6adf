"""The HTTP API (FastAPI): schemas, routes, limits and error mapping."""
