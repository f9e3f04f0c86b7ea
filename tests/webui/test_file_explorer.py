"""gr.FileExplorer: Gradio's payloads and listing, under webui's path policy (no way out of
root_dir, blocked paths and hidden entries never listed nor selectable)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

import webui as gr
from webui.files import FileAccessError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """root/ with a.txt, b.py, .env, docs/{c.txt,d.md}, blocked/e.txt, out -> ../secret."""
    root = tmp_path / "root"
    (root / "docs").mkdir(parents=True)
    (root / "blocked").mkdir()
    for name in ("a.txt", "b.py", ".env", "docs/c.txt", "docs/d.md", "blocked/e.txt"):
        (root / name).write_text(name)
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "s.txt").write_text("secret")
    (root / "out").symlink_to(tmp_path / "secret")
    return root


def explorer(root: Path, **kwargs: object) -> gr.FileExplorer:
    with gr.Blocks() as demo:
        made = gr.FileExplorer(root_dir=root, **kwargs)  # type: ignore[arg-type]
    demo.files.configure(blocked_paths=[str(root / "blocked")])
    return made


def names(entries: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(e["name"], e["type"], e["valid"]) for e in entries]


def test_constructor_checks_as_gradio(tree: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        gr.FileExplorer(root_dir=tree / "nope", render=False)
    with pytest.raises(ValueError, match="not a directory"):
        gr.FileExplorer(root_dir=tree / "a.txt", render=False)
    with pytest.raises(ValueError, match="file_count"):
        gr.FileExplorer(root_dir=tree, file_count="directory", render=False)
    made = gr.FileExplorer(root_dir=tree, value=["docs/c.txt"], render=False)
    assert made.props()["value"] == [["docs", "c.txt"]]
    assert "root_dir" not in made.props()  # the page never learns the server's path
    assert made.api_info()["items"] == {"items": {"type": "string"}, "type": "array"}


def test_ls_lists_by_glob_without_hidden_blocked_or_escaping_entries(tree: Path) -> None:
    made = explorer(tree, glob="**/*.txt")
    assert names(made.ls(None)) == [("docs", "folder", False), ("a.txt", "file", True)]
    assert names(made.ls(["docs"])) == [("c.txt", "file", True)]
    every = explorer(tree, ignore_glob="*.py")
    assert names(every.ls([])) == [
        ("docs", "folder", True),
        ("a.txt", "file", True),
    ]  # no .env, no blocked/, no out -> ../secret, no b.py
    assert every.ls(["missing"]) == []
    for escape in (["..", "secret"], ["/etc"], ["out"], [".env"], ["blocked"], ["docs/.."]):
        with pytest.raises(FileAccessError):
            every.ls(escape)


def test_preprocess_gives_absolute_paths_inside_root_only(tree: Path) -> None:
    many = explorer(tree)
    assert many.preprocess([["docs", "c.txt"], ["a.txt"]]) == [
        str(tree / "docs" / "c.txt"),
        str(tree / "a.txt"),
    ]
    assert many.preprocess([["gradio", "app.py"]]) == [str(tree / "gradio" / "app.py")]
    assert many.preprocess(None) is None
    single = explorer(tree, file_count="single")
    assert single.preprocess([["a.txt"]]) == str(tree / "a.txt") and single.preprocess([]) is None
    with pytest.raises(ValueError, match="only one file"):
        single.preprocess([["a.txt"], ["b.py"]])
    for bad in ([["..", "secret", "s.txt"]], [["out", "s.txt"]], [["BLOCKED", "e.txt"]]):
        with pytest.raises(FileAccessError) as refused:
            many.preprocess(bad)
        assert refused.value.status == 403 and "secret" not in refused.value.message
    with pytest.raises(FileAccessError):
        many.preprocess("a.txt")
    with pytest.raises(FileAccessError):
        many.preprocess([["a\x00.txt"]])


def test_postprocess_strips_root(tree: Path) -> None:
    made = explorer(tree)
    assert made.postprocess(str(tree / "docs" / "c.txt")) == [["docs", "c.txt"]]
    assert made.postprocess([tree / "a.txt"]) == [["a.txt"]]
    assert made.postprocess(None) is None


def test_client_round_trip_update_and_listing_through_the_route(
    tree: Path, serve: Callable[[gr.Blocks], str]
) -> None:
    seen: list[object] = []
    with gr.Blocks() as demo:
        files = gr.FileExplorer(root_dir=tree, glob="**/*.txt", label="files")
        where = gr.Textbox(label="root")
        out = gr.Textbox()
        files.change(
            lambda paths: seen.append(paths) or ",".join(paths), files, out, api_name="pick"
        )
        move = lambda root: gr.FileExplorer(root_dir=Path(root))  # noqa: E731 (sent as text)
        where.submit(move, where, files, api_name="move")
    url = serve(demo)
    client = Client(url, verbose=False)
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/pick"]
    assert info["parameters"][0]["component"] == "Fileexplorer"
    assert info["parameters"][0]["python_type"]["type"] == "list[list[str]]"
    assert client.predict([["docs", "c.txt"]], api_name="/pick") == str(tree / "docs" / "c.txt")
    with pytest.raises(Exception, match="denied"):
        client.predict([["..", "secret", "s.txt"]], api_name="/pick")
    assert seen == [[str(tree / "docs" / "c.txt")]]

    server = f"{url}gradio_api/component_server"
    ls = {"session_hash": "s1", "component_id": files.id, "fn_name": "ls", "data": ["docs"]}
    assert httpx.post(server, json=ls).json() == [{"name": "c.txt", "type": "file", "valid": True}]
    assert httpx.post(server, json={**ls, "data": [".."]}).status_code == 403
    assert httpx.post(server, json={**ls, "fn_name": "preprocess"}).status_code == 404
    assert httpx.post(server, json={**ls, "component_id": 999}).status_code == 404
    assert httpx.post(server, content=b"not json").status_code == 400

    # an update for session s1 moves its explorer to docs/; other sessions keep the root
    moved = httpx.post(
        f"{url}gradio_api/run/move", json={"data": [str(tree / "docs")], "session_hash": "s1"}
    )
    assert moved.json()["data"] == [{"__type__": "update", "root_dir": str(tree / "docs")}]
    listed = httpx.post(server, json={**ls, "data": []}).json()
    assert [e["name"] for e in listed] == ["c.txt"]
    other = httpx.post(server, json={**ls, "session_hash": "s2", "data": []}).json()
    assert [e["name"] for e in other] == ["blocked", "docs", "a.txt"]  # none blocked here
