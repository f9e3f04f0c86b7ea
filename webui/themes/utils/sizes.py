"""Size scales: seven steps (xxs to xxl) of CSS lengths for radii, spacing or text; Gradio's named
scales (`sizes.radius_md`, `sizes.text_lg`, ...), which a theme also takes by step name ("md")."""

from __future__ import annotations

from dataclasses import dataclass

STEPS = ("xxs", "xs", "sm", "md", "lg", "xl", "xxl")


@dataclass(frozen=True)
class Size:
    """One scale, smallest step first, as CSS lengths."""

    xxs: str
    xs: str
    sm: str
    md: str
    lg: str
    xl: str
    xxl: str
    name: str | None = None

    def __post_init__(self) -> None:
        for step in STEPS:
            value = getattr(self, step)
            if not isinstance(value, str) or not value:
                raise TypeError(f"Size step {step} must be a CSS length string, got {value!r}")

    def expand(self) -> list[str]:
        """The steps in order, xxs to xxl."""
        return [getattr(self, step) for step in STEPS]


def _scale(name: str, steps: str) -> Size:
    return Size(**dict(zip(STEPS, steps.split(), strict=True)), name=name)


radius_none = _scale("radius_none", "0px 0px 0px 0px 0px 0px 0px")
radius_sm = _scale("radius_sm", "1px 1px 2px 4px 6px 8px 12px")
radius_md = _scale("radius_md", "1px 2px 4px 6px 8px 12px 22px")
radius_lg = _scale("radius_lg", "2px 4px 6px 8px 12px 16px 24px")
radius_xxl = _scale("radius_xxl", "6px 8px 10px 20px 24px 28px 32px")
spacing_sm = _scale("spacing_sm", "1px 1px 2px 4px 6px 9px 12px")
spacing_md = _scale("spacing_md", "1px 2px 4px 6px 8px 10px 16px")
spacing_lg = _scale("spacing_lg", "2px 4px 6px 8px 10px 14px 28px")
text_sm = _scale("text_sm", "8px 9px 11px 13px 16px 20px 24px")
text_md = _scale("text_md", "9px 10px 12px 14px 16px 22px 26px")
text_lg = _scale("text_lg", "10px 12px 14px 16px 20px 24px 28px")

NAMED: dict[str, Size] = {
    s.name: s
    for s in (
        radius_none,
        radius_sm,
        radius_md,
        radius_lg,
        radius_xxl,
        spacing_sm,
        spacing_md,
        spacing_lg,
        text_sm,
        text_md,
        text_lg,
    )
    if s.name
}
