"""Typed components: each converts between its wire payload and the value `fn` sees."""

from webui.components.annotated_image import AnnotatedImage
from webui.components.base import Component
from webui.components.browser_state import BrowserState
from webui.components.buttons import DownloadButton, UploadButton
from webui.components.chat import Chatbot
from webui.components.chat_message import ChatMessage, MessageDict
from webui.components.choices import Dropdown, Radio
from webui.components.code import Code
from webui.components.color_picker import ColorPicker
from webui.components.data import CheckboxGroup, DataFrame, Dataframe
from webui.components.dataset import Dataset
from webui.components.date_time import DateTime
from webui.components.deep_link_button import DeepLinkButton
from webui.components.dialogue import Dialogue
from webui.components.duplicate_button import DuplicateButton
from webui.components.file import File
from webui.components.file_explorer import FileExplorer
from webui.components.gallery import Gallery
from webui.components.highlighted_text import HighlightedText
from webui.components.html import HTML
from webui.components.image_editor import (
    ImageEditor,
    ImageMask,
    Paint,
    Sketchpad,
    WebcamOptions,
)
from webui.components.image_slider import ImageSlider
from webui.components.label import Label
from webui.components.media import Audio, Image
from webui.components.misc import JSON, Button, ClearButton, State
from webui.components.model3d import Model3D
from webui.components.multimodal import MultimodalTextbox
from webui.components.navbar import Navbar
from webui.components.numeric import Checkbox, Number, Slider
from webui.components.param_viewer import ParamViewer
from webui.components.plots import BarPlot, LinePlot, Plot, ScatterPlot
from webui.components.shortcuts import SHORTCUTS, component_instance
from webui.components.templates import Files, List, Matrix, Microphone, Numpy, TextArea
from webui.components.text import Markdown, Textbox
from webui.components.video import PlayableVideo, Video
from webui.components.watermark import WatermarkOptions
from webui.components.waveform import WaveformOptions
from webui.timer import Timer

Text = Textbox  # Gradio's aliases
Json = JSON
Checkboxgroup = CheckboxGroup
Highlight = HighlightedText

__all__ = [
    "HTML",
    "JSON",
    "SHORTCUTS",
    "AnnotatedImage",
    "Audio",
    "BarPlot",
    "BrowserState",
    "Button",
    "ChatMessage",
    "Chatbot",
    "Checkbox",
    "CheckboxGroup",
    "Checkboxgroup",
    "ClearButton",
    "Code",
    "ColorPicker",
    "Component",
    "DataFrame",
    "Dataframe",
    "Dataset",
    "DateTime",
    "DeepLinkButton",
    "Dialogue",
    "DownloadButton",
    "Dropdown",
    "DuplicateButton",
    "File",
    "FileExplorer",
    "Files",
    "Gallery",
    "Highlight",
    "HighlightedText",
    "Image",
    "ImageEditor",
    "ImageMask",
    "ImageSlider",
    "Json",
    "Label",
    "LinePlot",
    "List",
    "Markdown",
    "Matrix",
    "MessageDict",
    "Microphone",
    "Model3D",
    "MultimodalTextbox",
    "Navbar",
    "Number",
    "Numpy",
    "Paint",
    "ParamViewer",
    "PlayableVideo",
    "Plot",
    "Radio",
    "ScatterPlot",
    "Sketchpad",
    "Slider",
    "State",
    "Text",
    "TextArea",
    "Textbox",
    "Timer",
    "UploadButton",
    "Video",
    "WatermarkOptions",
    "WaveformOptions",
    "WebcamOptions",
    "component_instance",
]
