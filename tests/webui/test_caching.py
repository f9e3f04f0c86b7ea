"""gr.cache and gr.Cache: results by content, every kind of function, limits, sessions, apps."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest
from gradio_client import Client

import webui as gr
from webui.caching import content_hash, current_session, end_session


def test_a_sync_function_runs_once_per_distinct_content():
    calls: list[int] = []

    @gr.cache
    def total(values):
        calls.append(1)
        return float(np.sum(values))

    assert total(np.arange(4)) == 6.0
    assert total(values=np.arange(4)) == 6.0  # another array, same content, by keyword
    assert total(np.arange(5)) == 10.0
    assert len(calls) == 2
    assert len(total.cache) == 2


def test_generators_replay_every_value_and_async_functions_are_cached():
    runs: list[str] = []

    @gr.cache
    def spell(word):
        runs.append(word)
        yield from word

    @gr.cache
    async def shout(word):
        runs.append(word.upper())
        return word.upper()

    @gr.cache()
    async def count(n):
        runs.append(str(n))
        for i in range(n):
            yield i

    async def collect(n):
        return [i async for i in count(n)]

    assert list(spell("abc")) == list(spell("abc")) == ["a", "b", "c"]
    assert asyncio.run(shout("hi")) == asyncio.run(shout("hi")) == "HI"
    assert asyncio.run(collect(3)) == asyncio.run(collect(3)) == [0, 1, 2]
    assert runs == ["abc", "HI", "3"]


def test_key_picks_what_is_hashed_and_max_size_evicts_the_least_recently_used():
    calls: list[str] = []

    @gr.cache(key=lambda kwargs: kwargs["prompt"], max_size=2)
    def generate(prompt, seed):
        calls.append(prompt)
        return f"{prompt}-{seed}"

    assert generate("a", 1) == generate("a", 2) == "a-1"  # the seed is not part of the key
    generate("b", 1)
    generate("a", 1)  # a is now the most recently used
    generate("c", 1)  # evicts b
    generate("a", 1)
    generate("b", 1)
    assert calls == ["a", "b", "c", "b"]


def test_max_memory_evicts_by_bytes_held():
    @gr.cache(max_memory="2kb")
    def block(n):
        return np.zeros(n, dtype=np.uint8)

    for n in (1000, 1001, 1002):
        block(n)
    assert len(block.cache) == 2  # 3002 bytes were over 2048: the oldest went


def test_per_session_entries_are_isolated_and_dropped_when_the_session_ends():
    calls: list[str] = []

    @gr.cache(per_session=True)
    def answer(question):
        calls.append(current_session.get() or "")
        return len(question)

    def ask(session: str) -> int:
        token = current_session.set(session)
        try:
            return answer("why")
        finally:
            current_session.reset(token)

    ask("s1"), ask("s1"), ask("s2")
    assert calls == ["s1", "s2"]
    end_session("s1")
    ask("s1"), ask("s2")
    assert calls == ["s1", "s2", "s1"]


def test_runtime_calls_share_one_cache_per_function():
    def helper(x):
        return x * 2

    assert gr.cache(helper) is gr.cache(helper)
    assert gr.cache(helper)(3) == 6 and len(gr.cache(helper).cache) == 1


def test_manual_cache_stores_keyword_data_by_key_content():
    store = gr.Cache(max_size=2)
    assert store.get("tokyo") is None
    store.set("tokyo", forecast="sunny", degrees=78)
    store.set(("new", "york"), forecast="cloudy")
    assert store.get("tokyo") == {"forecast": "sunny", "degrees": 78}
    assert store.get(["new", "york"]) is None  # a list is not the tuple
    assert store.keys() == [("new", "york"), "tokyo"]  # least recently used first
    store.set("london", forecast="rain")
    assert len(store) == 2 and store.get(("new", "york")) is None  # the least recently used
    store.clear()
    assert len(store) == 0


def test_bad_arguments_and_unhashable_values_are_refused_by_name():
    with pytest.raises(ValueError, match="max_size"):
        gr.Cache(max_size=-1)
    with pytest.raises(ValueError, match="max_memory"):
        gr.cache(max_memory="lots")
    with pytest.raises(TypeError, match=r"gr.cache\(fn\)\(\*args\)"):
        gr.cache(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cannot hash a"):
        content_hash({"buffer": bytearray(b"x")})  # unhashable, and no attributes to hash


def test_cached_event_functions_answer_from_the_cache_in_an_app(
    serve: Callable[[gr.Blocks], str],
):
    runs: list[str] = []

    @gr.cache
    def upper(text):
        runs.append(text)
        return text.upper()

    def lookup(city, store=gr.Cache()):  # noqa: B008 (Gradio's idiom: the store is the default)
        hit = store.get(city.strip().lower())
        if hit is not None:
            return f"{hit['value']} (cached)"
        store.set(city.strip().lower(), value=city.strip())
        return city.strip()

    with gr.Blocks() as demo:
        box, out = gr.Textbox(), gr.Textbox()
        gr.Button("Up").click(upper, box, out, api_name="upper")
        gr.Button("Look").click(lookup, box, out, api_name="lookup")
    client = Client(serve(demo), verbose=False)
    assert client.predict("ab", api_name="/upper") == "AB"
    assert client.predict("ab", api_name="/upper") == "AB"
    assert runs == ["ab"]
    assert client.predict(" Oslo ", api_name="/lookup") == "Oslo"
    assert client.predict("oslo", api_name="/lookup") == "Oslo (cached)"
    assert [
        p["parameter_name"]
        for p in client.view_api(return_format="dict")["named_endpoints"]["/lookup"]["parameters"]
    ] == ["city"]
