"""Typed components: each converts between its wire payload and the value `fn` sees."""

from webui.components.base import Component
from webui.components.chat import Chatbot
from webui.components.choices import Dropdown, Radio
from webui.components.data import HTML, CheckboxGroup, DataFrame, Dataframe, Label
from webui.components.media import Audio, File, Image
from webui.components.misc import JSON, Button, State
from webui.components.numeric import Checkbox, Number, Slider
from webui.components.plots import BarPlot, LinePlot, Plot, ScatterPlot
from webui.components.text import Markdown, Textbox
from webui.components.timer import Timer

__all__ = [
    "HTML",
    "JSON",
    "Audio",
    "BarPlot",
    "Button",
    "Chatbot",
    "Checkbox",
    "CheckboxGroup",
    "Component",
    "DataFrame",
    "Dataframe",
    "Dropdown",
    "File",
    "Image",
    "Label",
    "LinePlot",
    "Markdown",
    "Number",
    "Plot",
    "Radio",
    "ScatterPlot",
    "Slider",
    "State",
    "Textbox",
    "Timer",
]
