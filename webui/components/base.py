"""Gradio's `gradio.components.base` path: the Component contract lives in `webui.component`."""

from __future__ import annotations

from webui.component import Component, check_choices

__all__ = ["Component", "check_choices"]
