"""HighlightedText: text in spans labelled by a category or a confidence, as Gradio's
gr.HighlightedText; the wire value is HighlightedTextData, a list of {token, class_or_confidence}.
"""

from __future__ import annotations

from typing import Any, ClassVar

from webui.components.base import Component
from webui.errors import Error
from webui.events import Changeable, Selectable

Span = tuple[str, "str | float | None"]
HIGHLIGHTED_TEXT_SCHEMA: dict[str, Any] = {
    "$defs": {
        "HighlightedToken": {
            "properties": {
                "token": {"title": "Token", "type": "string"},
                "class_or_confidence": {
                    "anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}],
                    "default": None,
                    "title": "Class Or Confidence",
                },
            },
            "required": ["token"],
            "title": "HighlightedToken",
            "type": "object",
        }
    },
    "items": {"$ref": "#/$defs/HighlightedToken"},
    "title": "HighlightedTextData",
    "type": "array",
}


def spans_from_entities(value: dict[str, Any]) -> list[Span]:
    """(text, category) spans from {"text", "entities": [{"entity"|"entity_group", "start",
    "end"}]}, the shape of a transformers NER pipeline's output."""
    try:
        text, entities = value["text"], value["entities"]
    except KeyError:
        raise Error("HighlightedText takes a dict with keys 'text' and 'entities'") from None
    if not entities:
        return [(text, None)]
    spans: list[Span] = []
    index = 0
    for entity in sorted(entities, key=lambda e: e["start"]):
        spans.append((text[index : entity["start"]], None))
        category = entity.get("entity") or entity.get("entity_group")
        spans.append((text[entity["start"] : entity["end"]], category))
        index = entity["end"]
    spans.append((text[index:], None))
    return spans


class HighlightedText(Changeable, Selectable, Component):
    block_type = "highlightedtext"
    python_type = "list[dict(token: str, class_or_confidence: str | float | None)]"
    example: ClassVar[Any] = [
        {"token": "The", "class_or_confidence": None},
        {"token": "quick", "class_or_confidence": "adj"},
    ]

    def __init__(
        self,
        value: list[Span] | dict[str, Any] | None = None,
        *,
        color_map: dict[str, str] | None = None,
        show_legend: bool = False,
        show_inline_category: bool = True,
        combine_adjacent: bool = False,
        adjacent_separator: str = "",
        show_whitespaces: bool = True,
        rtl: bool = False,
        **kwargs: Any,
    ):
        self.color_map = color_map
        self.show_legend = show_legend
        self.show_inline_category = show_inline_category
        self.combine_adjacent = combine_adjacent
        self.adjacent_separator = adjacent_separator
        self.show_whitespaces = show_whitespaces
        self.rtl = rtl
        super().__init__(value, **kwargs)

    def preprocess(self, payload: Any) -> list[dict[str, Any]] | None:
        """The tokens as Gradio passes them: a list of {token, class_or_confidence} dicts."""
        if payload is None:
            return None
        if not isinstance(payload, list) or not all(
            isinstance(t, dict) and isinstance(t.get("token"), str) for t in payload
        ):
            raise Error("HighlightedText takes a list of {'token': str, 'class_or_confidence'}")
        return [
            {"token": t["token"], "class_or_confidence": t.get("class_or_confidence")}
            for t in payload
        ]

    def postprocess(self, value: Any) -> list[dict[str, Any]] | None:
        if value is None:
            return None
        spans = spans_from_entities(value) if isinstance(value, dict) else list(value)
        if self.combine_adjacent:
            spans = self._combined(spans)
        return [
            {"token": self._normalized(str(text)), "class_or_confidence": category}
            for text, category in spans
        ]

    def _combined(self, spans: list[Span]) -> list[Span]:
        """Adjacent spans of one category joined by `adjacent_separator`; empty ones dropped."""
        out: list[Span] = []
        for text, category in spans:
            if not text:
                continue
            if out and out[-1][1] == category:
                out[-1] = (out[-1][0] + self.adjacent_separator + text, category)
            else:
                out.append((text, category))
        return out

    def _normalized(self, text: str) -> str:
        return text if self.show_whitespaces else text.strip()

    def api_info(self) -> dict[str, Any]:
        return HIGHLIGHTED_TEXT_SCHEMA

    def own_props(self) -> dict[str, Any]:
        return {
            "color_map": self.color_map,
            "show_legend": self.show_legend,
            "show_inline_category": self.show_inline_category,
            "combine_adjacent": self.combine_adjacent,
            "adjacent_separator": self.adjacent_separator,
            "show_whitespaces": self.show_whitespaces,
            "rtl": self.rtl,
        }
