"""The URL prefix of Gradio's API routes: the server's routes and the file URLs in outputs."""

from __future__ import annotations

API_PREFIX = "/gradio_api"
