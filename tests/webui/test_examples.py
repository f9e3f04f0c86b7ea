"""gr.Examples: the Dataset in the config, the load_example endpoint, caching, directories."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gradio_client import Client

import webui as gr
from webui.files import FileAccessError


def _config(url: str, path: str = "config") -> dict[str, Any]:
    with urllib.request.urlopen(url + path) as reply:
        return json.loads(reply.read())


def test_examples_in_config_and_api_info(serve: Callable[[gr.Blocks], str]) -> None:
    def join(word: str, n: float) -> str:
        return word * int(n)

    demo = gr.Interface(join, ["text", "number"], "text", examples=[["ab", 2], ["c", 3]])
    url = serve(demo)
    config = _config(url)
    (dataset,) = [c for c in config["components"] if c["type"] == "dataset"]
    props = dataset["props"]
    assert props["samples"] == [["ab", 2], ["c", 3]] and props["headers"] == ["word", "n"]
    assert props["components"] == [{"name": "textbox"}, {"name": "number"}]
    assert props["label"] == "Examples"
    assert dataset["api_info"] == {"type": "integer", "description": "index of selected example"}
    (load,) = [d for d in config["dependencies"] if d["api_name"] == "load_example"]
    assert (load["api_visibility"], load["queue"], load["show_progress"]) == (
        "undocumented", False, "hidden",
    )  # fmt: skip
    assert load["targets"] == [[dataset["id"], "click"]] and load["inputs"] == [dataset["id"]]
    assert list(_config(url, "gradio_api/info")["named_endpoints"]) == ["/join"]
    every = _config(url, "gradio_api/info?all_endpoints=true")["named_endpoints"]
    (parameter,) = every["/load_example"]["parameters"]
    assert parameter["component"] == "Dataset" and parameter["python_type"]["type"] == "int"
    client = Client(url, verbose=False)
    assert client.predict(1, api_name="/load_example") == ("c", 3)  # fills the inputs only


def test_cached_examples_run_at_launch_and_serve_cached_outputs(
    serve: Callable[[gr.Blocks], str],
) -> None:
    calls: list[str] = []

    def shout(text: str) -> str:
        calls.append(text)
        return text.upper() + "!"

    demo = gr.Interface(shout, "text", "text", examples=["hi", "yo"], cache_examples=True)
    assert calls == []  # nothing runs while the app is only declared
    client = Client(serve(demo), verbose=False)
    assert calls == ["hi", "yo"]  # cached when the app was built, at launch
    assert client.predict(1, api_name="/load_example") == "YO!"
    assert client.predict(0, api_name="/load_example_input") == "hi"
    assert calls == ["hi", "yo"]  # served from the cache
    preloads = [d for d in demo.dependencies if d.targets == [(demo.id, "load")]]
    assert len(preloads) == 2  # example 0 fills inputs and outputs on page load, as in Gradio


def test_lazy_examples_cache_on_first_use(serve: Callable[[gr.Blocks], str]) -> None:
    calls: list[str] = []

    def shout(text: str) -> str:
        calls.append(text)
        return text.upper()

    demo = gr.Interface(
        shout, "text", "text", examples=[["a"], ["b"]], cache_examples=True, cache_mode="lazy"
    )
    client = Client(serve(demo), verbose=False)
    assert calls == []
    assert client.predict(1, api_name="/load_example") == "B"
    assert client.predict(1, api_name="/load_example") == "B"
    assert calls == ["b"]
    assert not [d for d in demo.dependencies if d.targets == [(demo.id, "load")]]  # no preload


def test_run_on_click_follows_load_example() -> None:
    with gr.Blocks() as demo:
        box, out = gr.Textbox(), gr.Textbox()
        examples = gr.Examples([["x"]], box, out, fn=str.upper, run_on_click=True)
    run = demo.dependencies[1]
    assert run.trigger_after == examples.load_input_event.id and run.fn is str.upper
    assert run.api_visibility == "undocumented"
    with pytest.raises(ValueError, match="run_on_click needs `fn`"), gr.Blocks():
        gr.Examples([["x"]], gr.Textbox(), run_on_click=True)
    with pytest.raises(ValueError, match="caching examples needs `fn` and `outputs`"), gr.Blocks():
        gr.Examples([["x"]], gr.Textbox(), cache_examples=True)
    with pytest.raises(RuntimeError, match=r"inside a `with gr\.Blocks"):
        gr.Examples([["x"]], gr.Textbox())


def _png(path: Path, color: tuple[int, int, int]) -> Path:
    from PIL import Image

    Image.new("RGB", (4, 4), color).save(path)
    return path


def test_image_examples_from_a_directory_are_served_from_the_cache(
    tmp_path: Path, serve: Callable[[gr.Blocks], str]
) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    _png(folder / "red.png", (255, 0, 0))
    _png(folder / "blue.png", (0, 0, 255))

    def size(image: Any) -> str:
        return "x".join(map(str, image.shape))

    demo = gr.Interface(size, gr.Image(), "text", examples=str(folder), cache_examples=True)
    url = serve(demo)
    (dataset,) = [c for c in _config(url)["components"] if c["type"] == "dataset"]
    samples = [row[0] for row in dataset["props"]["samples"]]
    assert [s["orig_name"] for s in samples] == ["blue.png", "red.png"]
    for sample in samples:
        assert Path(sample["path"]).is_relative_to(demo.files.cache_dir)  # copied, then served
        with urllib.request.urlopen(sample["url"]) as reply:
            assert reply.read().startswith(b"\x89PNG")
    client = Client(url, verbose=False)
    assert client.predict(0, api_name="/load_example") == "4x4x3"


def test_example_files_outside_the_policy_are_refused(tmp_path: Path) -> None:
    hidden = tmp_path / ".secret"
    hidden.mkdir()
    with pytest.raises(FileAccessError, match="hidden or outside"):
        gr.Interface(
            lambda f: f, "file", "text", examples=[[str(_png(hidden / "a.png", (0, 0, 0)))]]
        )
    with pytest.raises(FileNotFoundError, match="no examples directory"):
        gr.Interface(lambda t: t, "text", "text", examples=str(tmp_path / "missing"))


def test_log_csv_links_several_inputs(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text("a,b,extra\nx,1,ignored\ny,2,ignored\n")
    demo = gr.Interface(lambda a, b: a, ["text", "text"], "text", examples=str(tmp_path))
    assert demo.examples_handler is not None
    assert demo.examples_handler.examples == [["x", "1"], ["y", "2"]]


def test_a_sample_its_input_cannot_take_is_shown_as_text_until_clicked(
    serve: Callable[[gr.Blocks], str],
) -> None:
    demo = gr.Interface(lambda n: n, gr.Slider(0, 3), "text", examples=[[["a", "b"]], [2]])
    (dataset,) = [b for b in demo.blocks.values() if isinstance(b, gr.Dataset)]
    assert dataset.shown_samples() == [[["a", "b"]], [2]]  # the app starts, as under Gradio
    client = Client(serve(demo), verbose=False)
    assert client.predict(1, api_name="/load_example") == 2
    with pytest.raises(Exception, match="expects a number"):
        client.predict(0, api_name="/load_example")
