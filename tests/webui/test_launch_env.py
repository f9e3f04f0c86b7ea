"""resolve_launch(): launch() arguments over Gradio's environment variables over the defaults."""

from __future__ import annotations

import re

import pytest

from webui.launch_env import LaunchSettings, resolve_launch


def test_defaults_are_gradios() -> None:
    settings = resolve_launch(environ={})
    assert settings == LaunchSettings(server_name="127.0.0.1", ports=tuple(range(7860, 7960)))


def test_variables_fill_what_the_arguments_leave_out() -> None:
    environ = {
        "GRADIO_SERVER_NAME": "0.0.0.0",
        "GRADIO_SERVER_PORT": "9000",
        "GRADIO_NUM_PORTS": "3",
        "GRADIO_ROOT_PATH": "/app/",
        "GRADIO_ALLOWED_PATHS": "/data, /models",
        "GRADIO_BLOCKED_PATHS": "/data/private",
        "GRADIO_DEBUG": "1",
        "GRADIO_ANALYTICS_ENABLED": "True",  # accepted: webui sends nothing anyway
    }
    settings = resolve_launch(environ=environ)
    assert settings.server_name == "0.0.0.0"
    assert settings.ports == (9000, 9001, 9002)
    assert settings.root_path == "/app"
    assert settings.allowed_paths == ["/data", "/models"]
    assert settings.blocked_paths == ["/data/private"]
    assert settings.debug


def test_arguments_win_over_variables() -> None:
    environ = {
        "GRADIO_SERVER_NAME": "0.0.0.0",
        "GRADIO_SERVER_PORT": "9000",
        "GRADIO_ROOT_PATH": "/env",
        "GRADIO_ALLOWED_PATHS": "/env-allowed",
        "GRADIO_SHARE": "true",
    }
    settings = resolve_launch(
        server_name="localhost",
        server_port=8123,
        root_path="",
        allowed_paths=["/mine"],
        share=False,
        environ=environ,
    )
    assert settings.server_name == "localhost"
    assert settings.ports == (8123,)  # an explicit port is the only one tried, as in Gradio
    assert settings.root_path == ""
    assert settings.allowed_paths == ["/mine"]


def test_empty_path_lists_fall_back_to_the_variables_as_in_gradio() -> None:
    settings = resolve_launch(allowed_paths=[], environ={"GRADIO_ALLOWED_PATHS": "/a"})
    assert settings.allowed_paths == ["/a"]


def test_ipv6_brackets_are_stripped_from_the_address() -> None:
    assert resolve_launch(environ={"GRADIO_SERVER_NAME": "[::1]"}).server_name == "::1"


def test_the_port_range_stops_at_the_last_port() -> None:
    settings = resolve_launch(environ={"GRADIO_SERVER_PORT": "65534"})
    assert settings.ports == (65534, 65535)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"GRADIO_SERVER_PORT": "http"}, "GRADIO_SERVER_PORT must be an integer, got 'http'"),
        ({"GRADIO_SERVER_PORT": "-5"}, "GRADIO_SERVER_PORT must not be negative"),
        ({"GRADIO_SERVER_PORT": "70000"}, "GRADIO_SERVER_PORT must be a port"),
        ({"GRADIO_NUM_PORTS": "many"}, "GRADIO_NUM_PORTS must be an integer"),
        ({"GRADIO_ROOT_PATH": "https://example.com/app"}, "must be a URL path such as '/demo'"),
    ],
)
def test_bad_variables_name_themselves(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        resolve_launch(environ=environ)


def test_a_share_link_is_noted_as_refused_and_false_is_fine() -> None:
    assert resolve_launch(share=True, environ={}).share_refused
    assert resolve_launch(environ={"GRADIO_SHARE": "True"}).share_refused
    settings = resolve_launch(share=False, environ={"GRADIO_SHARE": "true"})
    assert not settings.share_refused and settings.ports[0] == 7860


def test_server_port_must_be_an_int() -> None:
    with pytest.raises(TypeError, match="server_port must be an int or None, got '7860'"):
        resolve_launch(server_port="7860", environ={})  # type: ignore[arg-type]
