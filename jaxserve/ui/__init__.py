"""jaxserve's web pages, built on webui's public API (`import webui as gr` only).

`chat(llm)` opens the playground for an `LLM` made in this process (inline in a notebook);
`jaxserve run` serves the same page at `/` beside the API.
"""

from jaxserve.ui.chat import ChatApp, chat

__all__ = ["ChatApp", "chat"]
