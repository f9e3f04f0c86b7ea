"""Errors jaxserve raises at users: each names what is wrong and, where it can, how to fix it."""


class JaxserveError(Exception):
    """Base class of the errors jaxserve raises on bad input or configuration."""


class ModelConfigError(JaxserveError, ValueError):
    """A model `config.json` or engine option that jaxserve cannot serve."""


class CheckpointError(JaxserveError, OSError):
    """A model directory or weight file that is missing, corrupt or does not fit the config."""


class EngineBusyError(JaxserveError, RuntimeError):
    """The LLM's engine is held by something else that steps it (a chat server, another
    thread's generate()); the engine is not thread-safe, so a second driver must wait."""
