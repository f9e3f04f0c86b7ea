"""Typed components: each converts between its wire payload and the value `fn` sees."""

from webui.components.base import Component
from webui.components.chat import Chatbot
from webui.components.choices import Dropdown, Radio
from webui.components.data import HTML, CheckboxGroup, DataFrame, Dataframe, Label
from webui.components.dataset import Dataset
from webui.components.media import Audio, File, Image
from webui.components.misc import JSON, Button, ClearButton, State
from webui.components.numeric import Checkbox, Number, Slider
from webui.components.plots import BarPlot, LinePlot, Plot, ScatterPlot
from webui.components.shortcuts import SHORTCUTS, component_instance
from webui.components.text import Markdown, Textbox
from webui.components.timer import Timer

__all__ = [
    "HTML",
    "JSON",
    "SHORTCUTS",
    "Audio",
    "BarPlot",
    "Button",
    "Chatbot",
    "Checkbox",
    "CheckboxGroup",
    "ClearButton",
    "Component",
    "DataFrame",
    "Dataframe",
    "Dataset",
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
    "component_instance",
]
