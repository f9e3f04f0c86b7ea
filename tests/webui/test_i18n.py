"""gr.I18n: translation keys as Gradio's marked strings, the table in /config, checked input."""

from __future__ import annotations

import copy
import json
import pickle

import pytest
from starlette.testclient import TestClient

import webui as gr
from webui.i18n import I18nData

MARKED = '__i18n__{"__type__": "translation_metadata", "key": "hi"}'


def test_a_key_is_gradios_marked_string_and_survives_copies_and_concatenation():
    i18n = gr.I18n(en={"hi": "Hello"}, fr={"hi": "Bonjour"})
    hi = i18n("hi")
    assert isinstance(hi, I18nData) and hi == MARKED and hi.key == "hi"
    assert json.dumps({"label": hi}) == json.dumps({"label": MARKED})
    assert "> " + hi == "> " + MARKED and hi + "!" == MARKED + "!"
    for twin in (copy.deepcopy(hi), pickle.loads(pickle.dumps(hi))):
        assert twin == hi and twin.key == "hi"
    assert hi.to_dict() == {"__type__": "translation_metadata", "key": "hi"}
    assert i18n.translations_dict == {"en": {"hi": "Hello"}, "fr": {"hi": "Bonjour"}}


def test_tables_and_keys_are_checked():
    with pytest.raises(TypeError, match=r"I18n\(en=\.\.\.\) must map keys to strings"):
        gr.I18n(en={"hi": 3})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="translation key"):
        gr.I18n()(3)  # type: ignore[arg-type]
    with gr.Blocks() as demo:
        gr.Textbox()
    with pytest.raises(TypeError, match=r"launch\(i18n=\.\.\.\) must be a gr\.I18n"):
        demo.launch(i18n={"en": {}}, prevent_thread_lock=True, quiet=True)  # type: ignore[arg-type]
    demo.close()


def test_the_table_reaches_the_config_and_marked_values_cross_the_wire(serve):
    from gradio_client import Client

    i18n = gr.I18n(en={"name": "Name", "ada": "Ada"}, de={"name": "Name (de)"})
    with gr.Blocks() as demo:
        box = gr.Textbox(label=i18n("name"), value=i18n("ada"))
        gr.Radio([(i18n("name"), "n")], value="n")
        gr.Button("Reset").click(lambda: i18n("ada"), None, box, api_name="reset")
    url = serve(demo)
    demo.launch(i18n=i18n, prevent_thread_lock=True, quiet=True)
    with TestClient(demo.app) as http:
        config = http.get("/config").json()
    assert config["i18n_translations"] == i18n.translations
    props = config["components"][0]["props"]
    assert props["label"].startswith("__i18n__") and '"key": "name"' in props["label"]
    assert '"key": "name"' in config["components"][1]["props"]["choices"][0][0]
    reset = Client(url, verbose=False).predict(api_name="/reset")
    assert reset == '__i18n__{"__type__": "translation_metadata", "key": "ada"}'
