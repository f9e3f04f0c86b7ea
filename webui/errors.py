"""Errors a user's function raises on purpose: always shown to the caller, unlike crashes."""

from __future__ import annotations


class Error(Exception):  # named as in Gradio, so `gr.Error` works unchanged
    """Raise in an event function to show `message` to the user (and gradio_client's AppError)."""

    def __init__(
        self,
        message: str = "Error raised.",
        *,
        duration: float | None = 10,
        visible: bool = True,
        title: str = "Error",
    ):
        super().__init__(message)
        self.message = message
        self.duration = duration
        self.visible = visible
        self.title = title
