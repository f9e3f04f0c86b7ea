"""webui: a Gradio-compatible UI library on Starlette; `import webui as gr` runs Gradio apps."""

from webui import themes  # gr.themes.Soft(), as in Gradio
from webui.blocks import Blocks
from webui.chat_interface import ChatInterface
from webui.components import (
    HTML,
    JSON,
    Audio,
    BarPlot,
    Button,
    Chatbot,
    Checkbox,
    CheckboxGroup,
    ClearButton,
    Component,
    DataFrame,
    Dataframe,
    Dataset,
    Dropdown,
    File,
    Image,
    Label,
    LinePlot,
    Markdown,
    Number,
    Plot,
    Radio,
    ScatterPlot,
    Slider,
    State,
    Textbox,
    Timer,
)
from webui.errors import Error
from webui.examples import Examples
from webui.flagging import CSVLogger, FlaggingCallback
from webui.interface import Interface
from webui.layouts import Accordion, Column, Group, Row, Tab, TabItem, Tabs
from webui.progress import Info, Progress, Success, Warning
from webui.tabbed import TabbedInterface
from webui.updates import skip, update

__all__ = [
    "HTML",
    "JSON",
    "Accordion",
    "Audio",
    "BarPlot",
    "Blocks",
    "Button",
    "CSVLogger",
    "ChatInterface",
    "Chatbot",
    "Checkbox",
    "CheckboxGroup",
    "ClearButton",
    "Column",
    "Component",
    "DataFrame",
    "Dataframe",
    "Dataset",
    "Dropdown",
    "Error",
    "Examples",
    "File",
    "FlaggingCallback",
    "Group",
    "Image",
    "Info",
    "Interface",
    "Label",
    "LinePlot",
    "Markdown",
    "Number",
    "Plot",
    "Progress",
    "Radio",
    "Row",
    "ScatterPlot",
    "Slider",
    "State",
    "Success",
    "Tab",
    "TabItem",
    "TabbedInterface",
    "Tabs",
    "Textbox",
    "Timer",
    "Warning",
    "skip",
    "themes",
    "update",
]
