"""Gradio's `gradio.components.chatbot` names: the Chatbot and the types of its messages.

Apps import message types from here (`from gradio.components.chatbot import Message,
MessageDict`); the Chatbot lives in `webui.components.chat`, the types in
`webui.components.chat_message`.
"""

from webui.components.chat import Chatbot
from webui.components.chat_message import (
    ChatMessage,
    ComponentMessageDict,
    FileDataDict,
    FileMessageDict,
    Message,
    MessageDict,
    MetadataDict,
    NormalizedMessageDict,
    OptionDict,
    TextMessageDict,
)

__all__ = [
    "ChatMessage",
    "Chatbot",
    "ComponentMessageDict",
    "FileDataDict",
    "FileMessageDict",
    "Message",
    "MessageDict",
    "MetadataDict",
    "NormalizedMessageDict",
    "OptionDict",
    "TextMessageDict",
]
