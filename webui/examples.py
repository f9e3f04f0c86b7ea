"""gr.Examples: sample inputs shown as a Dataset under the inputs; a click fills the inputs.

Events, as Gradio declares them: without caching, a click runs `load_example` (api_visibility
"undocumented": callable, absent from `/gradio_api/info` unless `?all_endpoints=true`) which
sends the sample's payloads to the inputs, then `fn` when `run_on_click`. With caching, a click
runs `load_example_input` (inputs) then `load_example` (the cached outputs). Eager caching runs
`fn` over every example when the app is built (at launch, or the first `demo.app`); lazy caching
runs it on an example's first click. Cached outputs live in memory with the app's files, so a
relaunch after `close()` caches again.
"""

from __future__ import annotations

import asyncio
import csv
import inspect
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from webui.component import Component
from webui.components.dataset import Dataset
from webui.components.misc import State
from webui.events import Dependency
from webui.processing import SessionState, postprocess, preprocess
from webui.root import Root
from webui.tree import open_layout

logger = logging.getLogger(__name__)
LOG_FILE = "log.csv"


def normalize_examples(examples: Any, n_inputs: int) -> tuple[list[list[Any]], Path | None]:
    """A list of rows (one value per input) and, for a directory, the directory."""
    if examples is None:
        raise ValueError("examples cannot be None")
    if isinstance(examples, str | os.PathLike):
        folder = Path(examples)
        if not folder.is_dir():
            raise FileNotFoundError(f"no examples directory {os.fspath(examples)!r}")
        log = folder / LOG_FILE
        if log.exists():
            with open(log, newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f))[1:]  # the header names the columns
            return [[_in(folder, v) for v in row[:n_inputs]] for row in rows], folder
        if n_inputs != 1:
            raise FileNotFoundError(
                f"examples directory {os.fspath(examples)!r} needs a {LOG_FILE} naming a file per "
                "input when there are several inputs"
            )
        names = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        return [[str(folder / name)] for name in names], folder
    if not isinstance(examples, list | tuple):
        raise TypeError(
            "examples must be a list of rows (one value per input), a list of values for a "
            f"single input, or a directory path; got {type(examples).__name__}"
        )
    if all(isinstance(row, list | tuple) for row in examples):
        return [list(row) for row in examples], None
    if n_inputs == 1:
        return [[value] for value in examples], None
    raise ValueError(
        f"with {n_inputs} inputs, examples must be a list of rows, one value per input"
    )


def _in(folder: Path, value: str) -> str:
    """A log.csv entry naming a file beside it becomes that file's path."""
    candidate = folder / value
    return str(candidate) if value and candidate.is_file() else value


def _as_list(components: Any) -> list[Component]:
    if components is None:
        return []
    return [components] if isinstance(components, Component) else list(components)


class Examples:
    """Clickable examples for `inputs`; optionally `fn`'s outputs for them, cached."""

    def __init__(
        self,
        examples: list[Any] | list[list[Any]] | str,
        inputs: Component | Sequence[Component],
        outputs: Component | Sequence[Component] | None = None,
        fn: Callable[..., Any] | None = None,
        cache_examples: bool | Literal["lazy"] | None = None,
        cache_mode: Literal["eager", "lazy"] | None = None,
        examples_per_page: int = 10,
        label: str | None = "Examples",
        elem_id: str | None = None,
        run_on_click: bool = False,
        preprocess: bool = True,
        postprocess: bool = True,
        api_visibility: Literal["public", "private", "undocumented"] = "undocumented",
        api_name: str = "load_example",
        api_description: str | None = None,
        batch: bool = False,
        *,
        example_labels: list[str] | None = None,
        visible: bool = True,
        preload: int | Literal[False] = 0,
    ):
        if batch:
            raise ValueError("Examples(batch=True) is not supported: webui does not batch calls")
        if cache_examples not in (None, True, False, "lazy"):
            raise ValueError(f"cache_examples must be True, False or 'lazy': {cache_examples!r}")
        if cache_mode not in (None, "eager", "lazy"):
            raise ValueError(f"cache_mode must be 'eager', 'lazy' or None: {cache_mode!r}")
        self.inputs = _as_list(inputs)
        self.outputs = _as_list(outputs)
        self.cache_examples: bool | str = bool(cache_examples)
        if self.cache_examples and "lazy" in (cache_examples, cache_mode):
            self.cache_examples = "lazy"
        if self.cache_examples and (fn is None or not self.outputs):
            raise ValueError("caching examples needs `fn` and `outputs`")
        if run_on_click and fn is None:
            raise ValueError("run_on_click needs `fn`")
        self.examples, _ = normalize_examples(examples, len(self.inputs))
        if example_labels is not None and len(example_labels) != len(self.examples):
            raise ValueError(
                f"example_labels has {len(example_labels)} labels for {len(self.examples)} examples"
            )
        has = [any(i < len(row) and row[i] is not None for row in self.examples)
               for i in range(len(self.inputs))]  # fmt: skip
        self.inputs_with_examples = [c for c, keep in zip(self.inputs, has, strict=True) if keep]
        self.non_none_examples = [
            [v for v, keep in zip(row, has, strict=False) if keep] for row in self.examples
        ]
        self.input_has_examples = has
        self.fn, self.run_on_click = fn, run_on_click
        self.preprocess, self.postprocess = preprocess, postprocess
        self._cache: dict[int, list[Any]] = {}
        self._lock = threading.Lock()
        parent = open_layout()
        if parent is None:
            raise RuntimeError("gr.Examples must be created inside a `with gr.Blocks():` block")
        assert parent.root is not None  # an open layout always belongs to an app
        self.root: Root = parent.root
        self.dataset = Dataset(
            components=self.inputs_with_examples,
            samples=self.non_none_examples,
            type="tuple",
            label=label,
            samples_per_page=examples_per_page,
            elem_id=elem_id,
            visible=visible,
            sample_labels=example_labels,
        )
        self.dataset.shown_samples()  # example files meet the path policy now, not at page load
        self._wire(api_name, api_visibility, api_description, preload)

    def _wire(
        self, api_name: str, visibility: Any, description: str | None, preload: int | bool
    ) -> None:
        hidden: dict[str, Any] = {"show_progress": "hidden", "postprocess": False, "queue": False}
        if self.cache_examples:
            self.load_input_event = self.dataset.click(
                self.load_example_input, [self.dataset], self.inputs_with_examples,
                api_visibility="undocumented", **hidden,
            )  # fmt: skip
            self.cache_event: Dependency | None = self.load_input_event.then(
                self.load_example_output, [self.dataset], self.outputs, postprocess=False,
                api_name=api_name, api_visibility=visibility, api_description=description,
            )  # fmt: skip
            self.root.startup_hooks.append(self._start_caching)
            given = any("value" in c.constructor_args for c in self.inputs_with_examples)
            if preload is not False and self.cache_examples != "lazy" and not given:
                chosen = State((preload, self.non_none_examples[preload]))
                self.root.load(self.load_example_input, [chosen], self.inputs_with_examples,
                               api_visibility="undocumented", **hidden)  # fmt: skip
                self.root.load(self.load_example_output, [chosen], self.outputs, postprocess=False,
                               show_progress="hidden", api_visibility="undocumented")  # fmt: skip
            return
        self.cache_event = None
        self.load_input_event = self.dataset.click(
            self.load_example_input, [self.dataset], self.inputs_with_examples,
            api_name=api_name, api_visibility=visibility, api_description=description, **hidden,
        )  # fmt: skip
        if self.run_on_click:
            self.load_input_event.then(
                self.fn, self.inputs, self.outputs, api_visibility="undocumented"
            )

    def processed(self, index: int) -> list[Any]:
        """The payloads example `index` puts in the inputs that have examples."""
        row = self.non_none_examples[index]
        return [c.postprocess(v) for c, v in zip(self.inputs_with_examples, row, strict=True)]

    def load_example_input(self, example_tuple: tuple[int, list[Any]]) -> Any:
        payloads = self.processed(example_tuple[0])
        return payloads[0] if len(payloads) == 1 else payloads

    def load_example_output(self, example_tuple: tuple[int, list[Any]]) -> Any:
        outputs = self.cached(example_tuple[0])
        return outputs[0] if len(outputs) == 1 else outputs

    def _start_caching(self) -> None:
        with self._lock:
            self._cache.clear()  # a new app has new file dirs: cache again
        if self.cache_examples is True:
            logger.info("caching %d examples", len(self.examples))
            for index in range(len(self.examples)):
                self.cached(index)

    def cached(self, index: int) -> list[Any]:
        """The output payloads of example `index`, computed on first use."""
        with self._lock:
            if index not in self._cache:
                self._cache[index] = self._run(index)
            return self._cache[index]

    def _run(self, index: int) -> list[Any]:
        payloads = iter(self.processed(index))
        data = [next(payloads) if keep else None for keep in self.input_has_examples]
        dependency = Dependency(
            id=-1, root=self.dataset.root or self.root, fn=self.fn, inputs=self.inputs,
            outputs=self.outputs, targets=[], api_name="cache_examples", preprocess=self.preprocess,
            postprocess=self.postprocess,
        )  # fmt: skip
        state = SessionState()
        result = _call(self.fn, preprocess(dependency, data, state))
        return postprocess(dependency, result, state)


def _call(fn: Any, args: list[Any]) -> Any:
    """fn's result, the last one for a generator; async code runs on a loop of its own, in a
    thread of its own, so caching works whether or not the caller is inside an event loop."""
    if inspect.isasyncgenfunction(fn):

        async def last() -> Any:
            last_value = None
            async for value in fn(*args):
                last_value = value
            return last_value

        return _on_own_loop(last)
    if inspect.iscoroutinefunction(fn):
        return _on_own_loop(lambda: fn(*args))
    result = fn(*args)
    if inspect.isgenerator(result):
        last_value = None
        for value in result:
            last_value = value
        return last_value
    return result


def _on_own_loop(make: Callable[[], Any]) -> Any:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="webui-examples") as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
