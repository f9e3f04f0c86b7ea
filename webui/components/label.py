"""Label: a class label, optionally with the confidences of the top classes."""

from __future__ import annotations

from typing import Any, ClassVar

from webui.components.base import Component
from webui.errors import Error
from webui.events import Changeable, Selectable


def _is_label_payload(value: dict[Any, Any]) -> bool:
    """{"label": ..., "confidences": [...]} rather than a dict of label -> confidence."""
    if not value.keys() <= {"label", "confidences"}:
        return False
    return isinstance(value.get("confidences"), list) or isinstance(value.get("label"), str)


class Label(Changeable, Selectable, Component):
    """A class label, optionally with confidences: results are a label or {label: confidence}."""

    block_type = "label"
    python_type = (
        "dict(label: str | int | float | None, confidences: list[dict(label: str | int | float "
        "| None, confidence: float | None)] | None)"
    )
    example: ClassVar[Any] = {
        "label": "Cat",
        "confidences": [{"label": "cat", "confidence": 0.9}, {"label": "dog", "confidence": 0.1}],
    }

    def __init__(self, value: Any = None, *, num_top_classes: int | None = None, **kwargs: Any):
        if num_top_classes is not None and num_top_classes < 1:
            raise ValueError(f"num_top_classes must be positive, got {num_top_classes}")
        self.num_top_classes = num_top_classes
        super().__init__(value, **kwargs)

    def preprocess(self, payload: Any) -> Any:
        if payload is None:
            return None
        if not isinstance(payload, dict):
            raise Error(
                f"{self.label or 'Label'} expects {{'label', 'confidences'}}, got {payload!r}"
            )
        confidences = payload.get("confidences")
        if confidences:
            return {c["label"]: c["confidence"] for c in confidences}
        return payload.get("label")

    def postprocess(self, value: Any) -> dict[str, Any]:
        if value is None or value == {}:
            return {}
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return {"label": str(value), "confidences": None}  # Gradio's LabelData, both keys
        if isinstance(value, dict):
            if _is_label_payload(value):
                return self.postprocess(self.preprocess(value))
            ranked = sorted(value.items(), key=lambda item: float(item[1]), reverse=True)
            ranked = ranked[: self.num_top_classes]
            return {
                "label": ranked[0][0],
                "confidences": [{"label": k, "confidence": float(v)} for k, v in ranked],
            }
        raise Error(
            f"{self.label or 'Label'} expects a label or a dict of label -> confidence, got "
            f"{type(value).__name__}"
        )

    def api_info(self) -> dict[str, Any]:
        label = {
            "anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "null"}]
        }
        confidence = {
            "properties": {
                "label": label,
                "confidence": {"anyOf": [{"type": "number"}, {"type": "null"}]},
            },
            "type": "object",
        }
        return {
            "properties": {
                "label": label,
                "confidences": {
                    "anyOf": [{"items": confidence, "type": "array"}, {"type": "null"}]
                },
            },
            "title": "LabelData",
            "type": "object",
        }

    def own_props(self) -> dict[str, Any]:
        return {} if self.num_top_classes is None else {"num_top_classes": self.num_top_classes}
