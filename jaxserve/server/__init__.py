"""The OpenAI-compatible HTTP server behind `jaxserve run` (Starlette on uvicorn)."""
