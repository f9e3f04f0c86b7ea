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
from webui.components.templates import Files, List, Matrix, Microphone, Numpy, TextArea
from webui.components.text import Markdown, Textbox
from webui.components.timer import Timer

Text = Textbox  # Gradio's aliases
Json = JSON
Checkboxgroup = CheckboxGroup

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
    "Checkboxgroup",
    "ClearButton",
    "Component",
    "DataFrame",
    "Dataframe",
    "Dataset",
    "Dropdown",
    "File",
    "Files",
    "Image",
    "Json",
    "Label",
    "LinePlot",
    "List",
    "Markdown",
    "Matrix",
    "Microphone",
    "Number",
    "Numpy",
    "Plot",
    "Radio",
    "ScatterPlot",
    "Slider",
    "State",
    "Text",
    "TextArea",
    "Textbox",
    "Timer",
    "component_instance",
]
