"""`chat(llm)`: the playground for an `LLM` built in this process, e.g. in a notebook.

The page is the one `jaxserve run` serves at `/` (`jaxserve.ui.playground`), over the same
`OpenAIServing` and `AsyncEngine`, without the HTTP API. The engine is not thread-safe, so the
app's lifetime and the engine thread's are one: `launch()` claims the LLM's engine and starts
the thread, `close()` stops the server, then the thread (aborting what is still running), and
hands the engine back. In between, `llm.generate()` raises `EngineBusyError` instead of
stepping the engine from a second thread; after `close()` it works again, and `launch()`
serves the page again.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import webui as gr

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from jaxserve.llm import LLM

logger = logging.getLogger(__name__)

HOLDER = "jaxserve.ui.chat() (close() the app it returned to generate here)"
STOP_TIMEOUT_S = 60.0  # for the step in flight; a step is well under a second on small models
HEIGHT = 820  # pixels of the notebook's iframe: the chat, its controls and the sampling column


class ChatApp(gr.Blocks):
    """The playground of an in-process `LLM`, as a webui app that runs the LLM's engine.

    Args:
        llm: the model to chat with; it needs its tokenizer.
        dashboard: add the Dashboard tab (live engine metrics, memory plan, platform).
        model_name: the name the page shows, default the model folder's name.
        max_waiting_requests: above this many queued sequences new requests are refused.
    """

    def __init__(
        self,
        llm: LLM,
        *,
        dashboard: bool = True,
        model_name: str | None = None,
        max_waiting_requests: int = 1024,
    ):
        from jaxserve.server.async_engine import AsyncEngine
        from jaxserve.server.metrics import ServerMetrics
        from jaxserve.server.serving import OpenAIServing
        from jaxserve.ui.dashboard import Dashboard, system_markdown
        from jaxserve.ui.playground import playground

        if llm.tokenizer is None:
            raise ValueError("the playground needs the model's tokenizer; build the LLM with one")
        name = model_name or Path(llm.model).name
        metrics = ServerMetrics(name)
        self.llm = llm
        self.async_engine = AsyncEngine(
            llm.engine, metrics, max_waiting_requests=max_waiting_requests
        )
        self._holds_engine = False
        serving = OpenAIServing(
            self.async_engine,
            llm.tokenizer,
            model_name=name,
            vocab_size=llm.config.vocab_size,
            max_model_len=llm.engine.max_model_len,
            priority_scheduling=llm.engine.scheduler.policy == "priority",
            prompt_processor=llm.prompt_processor,  # a vision-language model's page takes images
        )
        board = Dashboard(metrics, system_markdown(llm)) if dashboard else None
        super().__init__(title=f"jaxserve · {name}")
        self.height = HEIGHT  # displaying the app (a cell ending in it) shows the whole page
        max_model_len = llm.engine.max_model_len
        playground(
            serving, max_model_len=max_model_len, dashboard=board, blocks=self, api_path=None
        )

    def launch(self, *args: Any, **kwargs: Any) -> tuple[Starlette, str, None]:
        """Claims the LLM's engine, starts its thread, then serves as `gr.Blocks.launch`
        (in a notebook, `height` defaults to the whole page's, 820 pixels).

        Raises:
            EngineBusyError: the engine is in use (generate() on another thread, or another
                chat app that is still open).
        """
        kwargs.setdefault("height", HEIGHT)
        if not self._holds_engine:
            self.llm.claim_engine(HOLDER)
            self._holds_engine = True
            try:
                self.async_engine.start()
            except BaseException:
                self._release()
                raise
        try:
            return super().launch(*args, **kwargs)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stops the server, then the engine thread, and hands the engine back to the LLM."""
        super().close()
        if not self._holds_engine:
            return
        self.async_engine.stop(timeout=STOP_TIMEOUT_S)
        if self.async_engine.running:  # a step that hangs: the engine is not safe to share
            logger.error(
                "the engine thread did not stop within %.0f s; the LLM stays claimed by the "
                "chat app",
                STOP_TIMEOUT_S,
            )
            return
        self._release()

    def _release(self) -> None:
        self.llm.release_engine(HOLDER)
        self._holds_engine = False


def chat(
    llm: LLM,
    *,
    dashboard: bool = True,
    model_name: str | None = None,
    **launch_kwargs: Any,
) -> ChatApp:
    """Opens the chat playground for `llm`: inline in a notebook, else at the printed URL.

    As `gr.Blocks.launch`, it blocks in a script until Ctrl-C (`prevent_thread_lock=True`
    returns at once) and never blocks in a notebook. Until `close()` is called on the app it
    returns, `llm.generate()` raises `EngineBusyError`: the app's engine thread steps the
    engine, which is not thread-safe.

    Args:
        llm: the model to chat with; it needs its tokenizer.
        dashboard: add the Dashboard tab (live engine metrics, memory plan, platform).
        model_name: the name the page shows, default the model folder's name.
        **launch_kwargs: for `gr.Blocks.launch` (`server_port`, `height`, `inline`, ...).

    Returns:
        The running app; `close()` stops it and gives the engine back to `llm`.
    """
    app = ChatApp(llm, dashboard=dashboard, model_name=model_name)
    app.launch(**launch_kwargs)
    return app
