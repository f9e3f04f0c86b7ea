"""Code: a code editor whose value is the code as a string, as Gradio's gr.Code."""

from __future__ import annotations

from typing import Any, ClassVar

from webui.components.base import Component
from webui.errors import Error
from webui.events import Changeable, Focusable

LANGUAGES: tuple[str | None, ...] = (
    *[
        "python",
        "c",
        "cpp",
        "markdown",
        "latex",
        "json",
        "html",
        "css",
        "javascript",
        "jinja2",
        "typescript",
        "yaml",
    ],
    *[
        "dockerfile",
        "shell",
        "r",
        "sql",
        "sql-msSQL",
        "sql-mySQL",
        "sql-mariaDB",
        "sql-sqlite",
        "sql-cassandra",
    ],
    *["sql-plSQL", "sql-hive", "sql-pgSQL", "sql-gql", "sql-gpSQL", "sql-sparkSQL", "sql-esper"],
    None,
)


class Code(Changeable, Focusable, Component):
    """Code in a `language` (one of `Code.languages`); returned code is stripped, as in Gradio."""

    block_type = "code"
    python_type = "str"
    example: ClassVar[Any] = "print('Hello World')"
    languages: ClassVar[list[str | None]] = list(LANGUAGES)

    def __init__(
        self,
        value: str | None = None,
        language: str | None = None,
        *,
        lines: int = 5,
        max_lines: int | None = None,
        wrap_lines: bool = False,
        show_line_numbers: bool = True,
        autocomplete: bool = False,
        buttons: list[str] | None = None,
        **kwargs: Any,
    ):
        if language not in LANGUAGES:
            raise ValueError(f"Code language {language!r} is not one of {list(LANGUAGES)}")
        self.language = language
        self.lines = lines
        self.max_lines = max(lines, max_lines) if max_lines is not None else None
        self.wrap_lines = wrap_lines
        self.show_line_numbers = show_line_numbers
        self.autocomplete = autocomplete
        self.buttons = buttons
        super().__init__(value, **kwargs)

    def preprocess(self, payload: Any) -> str | None:
        return None if payload is None else str(payload)

    def postprocess(self, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, tuple):
            raise Error("Code shows a str of code; read a file and return its text instead")
        return str(value).strip()

    def api_info(self) -> dict[str, Any]:
        return {"type": "string"}

    def own_props(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "lines": self.lines,
            "max_lines": self.max_lines,
            "wrap_lines": self.wrap_lines,
            "show_line_numbers": self.show_line_numbers,
            "autocomplete": self.autocomplete,
            "buttons": self.buttons or ["copy", "download"],
        }
