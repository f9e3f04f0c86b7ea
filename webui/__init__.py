"""webui: a Gradio-compatible UI library on Starlette; `import webui as gr` runs Gradio apps."""

from webui.blocks import Blocks
from webui.components import (
    JSON,
    Button,
    Checkbox,
    Component,
    Dropdown,
    Markdown,
    Number,
    Radio,
    Slider,
    State,
    Textbox,
)
from webui.errors import Error
from webui.interface import Interface
from webui.layouts import Accordion, Column, Group, Row, Tab, TabItem, Tabs

__all__ = [
    "JSON",
    "Accordion",
    "Blocks",
    "Button",
    "Checkbox",
    "Column",
    "Component",
    "Dropdown",
    "Error",
    "Group",
    "Interface",
    "Markdown",
    "Number",
    "Radio",
    "Row",
    "Slider",
    "State",
    "Tab",
    "TabItem",
    "Tabs",
    "Textbox",
]
