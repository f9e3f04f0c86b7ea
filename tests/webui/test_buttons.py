"""gr.UploadButton and gr.DownloadButton: FileData in and out through the path policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

import webui as gr
from webui.components.filedata import FILE_DATA_SCHEMA, LIST_FILES_SCHEMA
from webui.files import FileAccessError


def test_api_info_follows_file_count() -> None:
    assert gr.UploadButton(render=False).api_info() == FILE_DATA_SCHEMA
    many = gr.UploadButton(file_count="multiple", render=False)
    assert many.api_info() == LIST_FILES_SCHEMA and many.python_type == "list[filepath]"
    assert gr.DownloadButton(render=False).api_info() == FILE_DATA_SCHEMA
    assert gr.UploadButton(render=False).label == "Upload a File"
    assert gr.DownloadButton(render=False).label == "Download"


def test_upload_button_refuses_paths_outside_the_policy(tmp_path: Path) -> None:
    with gr.Blocks() as demo:
        button = gr.UploadButton()
    outside = {"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}
    with pytest.raises(FileAccessError):
        button.preprocess(outside)
    demo.close()


def test_download_button_value_must_be_a_file() -> None:
    with pytest.raises(ValueError, match="not a file"):
        gr.DownloadButton(value="no/such/file.txt", render=False)


def test_upload_then_download_round_trip(serve: Callable[[gr.Blocks], str], tmp_path: Path) -> None:
    with gr.Blocks() as demo:
        upload = gr.UploadButton(file_count="multiple", file_types=[".txt"])
        download = gr.DownloadButton()

        def join(paths: list[str]) -> str:
            target = tmp_path / "joined.txt"
            target.write_text("".join(Path(p).read_text() for p in paths))
            return str(target)

        upload.upload(join, upload, download, api_name="join")
    client = Client(serve(demo), verbose=False)
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("one,")
    b.write_text("two")
    info = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/join"]
    assert info["parameters"][0]["component"] == "Uploadbutton"
    assert info["returns"][0]["component"] == "Downloadbutton"
    result = client.predict([handle_file(a), handle_file(b)], api_name="/join")
    assert Path(result).read_text() == "one,two"
    with pytest.raises(Exception, match="Invalid file type"):
        png = tmp_path / "x.png"
        png.write_bytes(b"x")
        client.predict([handle_file(png)], api_name="/join")
