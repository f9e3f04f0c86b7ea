"""Typed components: each converts between its wire payload and the value `fn` sees."""

from webui.components.base import Component
from webui.components.choices import Dropdown, Radio
from webui.components.misc import JSON, Button, State
from webui.components.numeric import Checkbox, Number, Slider
from webui.components.text import Markdown, Textbox

__all__ = [
    "JSON",
    "Button",
    "Checkbox",
    "Component",
    "Dropdown",
    "Markdown",
    "Number",
    "Radio",
    "Slider",
    "State",
    "Textbox",
]
