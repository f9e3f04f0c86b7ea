"""Small apps of the project's own in the style of Gradio's demos, one table per feature family,
each with the exercise that drives one of its events in the page (see
tests/webui/test_corpus_style_browser.py)."""

from tests.webui.corpus import chat, components, events, interface, layouts, streaming
from tests.webui.corpus.page import FAMILIES, CorpusApp, Page

APPS: list[CorpusApp] = [
    *interface.table.apps,
    *events.table.apps,
    *components.table.apps,
    *layouts.table.apps,
    *chat.table.apps,
    *streaming.table.apps,
]

__all__ = ["APPS", "FAMILIES", "CorpusApp", "Page"]
