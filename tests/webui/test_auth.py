"""launch(auth=...): the gate on every route, login and logout, gradio_client, the login page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AuthenticationError
from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

import webui as gr
from webui.auth import AuthSettings, Sessions
from webui.auth_routes import OPEN_PATHS, route_path

ACCOUNT = ("ada", "lovelace")
Launch = Callable[..., str]

# Every path served without a session; adding one is a decision this list records.
EXPECTED_OPEN = {
    "/login",
    "/login/",
    "/logout",
    "/logout/",
    "/gradio_api/login_check",
    "/gradio_api/login_check/",
    "/theme.css",
    "/gradio_api/theme.css",
    "/static",  # webui's own modules and CSS (a Mount)
}


def echo_app() -> gr.Blocks:
    def stream(text: str):
        for end in range(1, len(text) + 1):
            yield text[:end]

    with gr.Blocks(title="Secret app") as demo:
        gr.Markdown("the secret plans")
        box = gr.Textbox(elem_id="box")
        out = gr.Textbox(elem_id="out")
        box.submit(lambda text: text[::-1], box, out, api_name="reverse")
        gr.Button("Stream").click(stream, box, out, api_name="stream")
        gr.Button("Go", elem_id="go").click(lambda text: f"Hello {text}!", box, out)
    return demo


@pytest.fixture
def launch() -> Iterator[Launch]:
    """Launch an app without blocking, with launch() options; returns its URL."""
    launched: list[gr.Blocks] = []

    def start(demo: gr.Blocks, **options: object) -> str:
        demo.launch(prevent_thread_lock=True, quiet=True, **options)
        launched.append(demo)
        assert demo.local_url is not None
        return demo.local_url

    yield start
    for demo in launched:
        demo.close()


def login(url: str, username: str = ACCOUNT[0], password: str = ACCOUNT[1]) -> httpx.Response:
    return httpx.post(f"{url}login", data={"username": username, "password": password})


def session_cookies(url: str) -> dict[str, str]:
    reply = login(url)
    assert reply.status_code == 200 and reply.json() == {"success": True}
    return dict(reply.cookies)


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "x", path)


def test_every_route_of_the_table_needs_a_session(launch: Launch) -> None:
    demo = echo_app()
    url = launch(demo, auth=ACCOUNT)
    base = url.rstrip("/")
    open_paths, checked = set(), 0
    for route in demo.app.routes:
        if isinstance(route, Mount):
            open_paths.add(route.path)
            reply = httpx.get(f"{base}{route.path}/app.js")
            assert reply.status_code == 200, route.path
            continue
        assert isinstance(route, Route)
        if route.path in OPEN_PATHS:
            open_paths.add(route.path)
            continue
        for method in sorted(route.methods or {"GET"}):
            reply = httpx.request(method, f"{base}{concrete(route.path)}", json={})
            checked += 1
            if route.path == "/":  # the page answers with the login page, nothing of the app
                assert reply.status_code == 200, method
                assert "Secret app" not in reply.text and "secret plans" not in reply.text
                continue
            assert reply.status_code == 401, (method, route.path)
            if method != "HEAD":
                assert reply.json()["auth_required"] is True
                assert reply.json()["detail"]["error"] == "Not authenticated"
    assert open_paths == EXPECTED_OPEN
    assert checked > 20
    # A route added later is behind the gate too; only the allow-list is open.
    demo.app.add_route("/added-later", lambda request: PlainTextResponse("inside"))
    assert httpx.get(f"{url}added-later").status_code == 401
    cookies = session_cookies(url)
    assert httpx.get(f"{url}added-later", cookies=cookies).text == "inside"
    page = httpx.get(url, cookies=cookies)
    assert "<title>Secret app</title>" in page.text
    assert "the secret plans" in httpx.get(f"{url}config", cookies=cookies).text


def test_login_page_before_the_session_and_the_message(launch: Launch) -> None:
    url = launch(echo_app(), auth=ACCOUNT, auth_message="Ask Ada for a password")
    page = httpx.get(url)
    assert page.status_code == 200 and "<title>Log in</title>" in page.text
    assert 'id="webui-custom-modules">{}<' in page.text
    assert httpx.get(f"{url}static/login.js").status_code == 200
    refusal = httpx.get(f"{url}config")
    assert refusal.status_code == 401
    assert refusal.json()["detail"]["auth_message"] == "Ask Ada for a password"
    check = httpx.get(f"{url}gradio_api/login_check")
    assert check.status_code == 401 and check.json()["auth_required"] is True
    check = httpx.get(f"{url}gradio_api/login_check", cookies=session_cookies(url))
    assert check.status_code == 200 and check.json() is None


def test_every_page_of_a_multipage_app_shows_the_login(launch: Launch) -> None:
    demo = echo_app()
    with demo.route("Second"):
        gr.Markdown("the second page")
    url = launch(demo, auth=ACCOUNT)
    page = httpx.get(f"{url}second")
    assert page.status_code == 200 and "<title>Log in</title>" in page.text
    assert httpx.get(f"{url}third").status_code == 401  # no page there: no login form either
    shown = httpx.get(f"{url}second", cookies=session_cookies(url))
    assert shown.status_code == 200 and "<title>Secret app</title>" in shown.text


def test_wrong_credentials_set_no_cookie(launch: Launch) -> None:
    url = launch(echo_app(), auth=[("root", "toor"), ACCOUNT])
    for username, password in [("ada", "wrong"), ("nobody", "lovelace"), ("ada", ""), ("", "")]:
        reply = login(url, username, password)
        assert reply.status_code == 400, (username, password)
        assert reply.json() == {"detail": "Incorrect credentials."}
        assert "set-cookie" not in reply.headers
    assert login(url, "root", "toor").status_code == 200
    assert login(url, "  ada ", "lovelace").status_code == 200  # the name is stripped, as Gradio


def test_login_form_errors_and_multipart(launch: Launch) -> None:
    url = launch(echo_app(), auth=ACCOUNT)
    missing = httpx.post(f"{url}login", data={"username": "ada"})
    assert missing.status_code == 422 and "password" in missing.json()["detail"]
    as_json = httpx.post(f"{url}login", json={"username": "ada", "password": "lovelace"})
    assert as_json.status_code == 415
    huge = httpx.post(f"{url}login", data={"username": "ada", "password": "x" * 100_000})
    assert huge.status_code == 413
    fields = {"username": (None, "ada"), "password": (None, "lovelace")}
    multipart = httpx.post(f"{url}login", files=fields)  # what Gradio's own page sends
    assert multipart.status_code == 200 and "set-cookie" in multipart.headers


def test_session_cookie_attributes_and_a_fresh_token_per_login(launch: Launch) -> None:
    demo = echo_app()
    url = launch(demo, auth=ACCOUNT)
    reply = login(url)
    header = reply.headers["set-cookie"]
    name, token = header.split(";")[0].split("=", 1)
    attributes = {part.strip().lower() for part in header.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=lax"} <= attributes
    assert "secure" not in attributes  # plain http; over https it is Secure (test_tls.py)
    assert len(token) >= 40 and name == demo.app.state.sessions.cookie_name
    again = httpx.post(
        f"{url}login", data={"username": "ada", "password": "lovelace"}, cookies={name: token}
    )
    assert again.cookies[name] != token
    assert httpx.get(f"{url}config", cookies={name: token}).status_code == 401  # ended
    assert httpx.get(f"{url}config", cookies=dict(again.cookies)).status_code == 200
    assert httpx.get(f"{url}config", cookies={name: "forged"}).status_code == 401


def test_callable_auth_sync_and_async(launch: Launch) -> None:
    tried: list[tuple[str, str]] = []

    def check(username: str, password: str) -> bool:
        tried.append((username, password))
        return password == username.upper()

    url = launch(echo_app(), auth=check)
    assert login(url, "bob", "bob").status_code == 400
    assert login(url, "bob", "BOB").status_code == 200
    assert tried == [("bob", "bob"), ("bob", "BOB")]

    async def check_async(username: str, password: str) -> bool:
        await asyncio.sleep(0)
        return (username, password) == ACCOUNT

    url = launch(echo_app(), auth=check_async)
    assert login(url, "ada", "nope").status_code == 400
    assert login(url).status_code == 200


def test_a_callable_returning_a_non_bool_is_an_error() -> None:
    settings = AuthSettings.from_launch(lambda username, password: "yes")
    assert settings is not None
    with pytest.raises(TypeError, match="must return True"):
        asyncio.run(settings.verify("ada", "x"))
    refuse = AuthSettings.from_launch(lambda username, password: None)
    assert refuse is not None and asyncio.run(refuse.verify("ada", "x")) is False


def test_gradio_client_logs_in_predicts_and_streams(launch: Launch) -> None:
    url = launch(echo_app(), auth=ACCOUNT)
    client = Client(url, auth=ACCOUNT, verbose=False)
    try:
        assert client.predict("abc", api_name="/reverse") == "cba"
        job = client.submit("hey", api_name="/stream")
        assert job.result() == "hey"
        assert job.outputs() == ["h", "he", "hey"]
    finally:
        client.close()
    with pytest.raises(ValueError, match="Could not login"):
        Client(url, auth=("ada", "wrong"), verbose=False)
    with pytest.raises(AuthenticationError, match="credentials were not provided"):
        Client(url, verbose=False)


def test_logout_ends_the_users_sessions(launch: Launch) -> None:
    url = launch(echo_app(), auth=[ACCOUNT, ("root", "toor")])
    laptop, phone, other = (
        session_cookies(url),
        session_cookies(url),
        dict(login(url, "root", "toor").cookies),
    )
    out = httpx.get(f"{url}logout", cookies=laptop)
    assert out.status_code == 302 and out.headers["location"] == "/"
    assert "max-age=0" in out.headers["set-cookie"].lower()
    for cookies in (laptop, phone):  # all of ada's sessions, as Gradio's logout
        assert httpx.get(f"{url}config", cookies=cookies).status_code == 401
    assert httpx.get(f"{url}config", cookies=other).status_code == 200
    first, second = session_cookies(url), session_cookies(url)
    httpx.get(f"{url}logout?all_session=false", cookies=first)
    assert httpx.get(f"{url}config", cookies=first).status_code == 401
    assert httpx.get(f"{url}config", cookies=second).status_code == 200


def test_auth_dependency_names_the_user(launch: Launch) -> None:
    seen: list[str | None] = []

    def user_of(request: HTTPConnection) -> str | None:
        seen.append(request.headers.get("x-user"))
        return request.headers.get("x-user")

    url = launch(echo_app(), auth_dependency=user_of)
    assert httpx.get(f"{url}config").status_code == 401
    assert httpx.get(url).status_code == 401  # no login form: the login happens elsewhere
    assert httpx.get(f"{url}config", headers={"X-User": "ada"}).status_code == 200
    assert login(url).status_code == 302  # no passwords to check, as Gradio
    client = Client(url, headers={"X-User": "ada"}, verbose=False)
    try:
        assert client.predict("abc", api_name="/reverse") == "cba"
    finally:
        client.close()
    assert "ada" in seen


def test_without_auth_the_app_is_open_and_login_redirects(launch: Launch) -> None:
    url = launch(echo_app())
    assert httpx.get(f"{url}config").status_code == 200
    assert httpx.get(f"{url}gradio_api/login_check").json() is None
    reply = login(url)
    assert reply.status_code == 302 and "set-cookie" not in reply.headers


def test_relaunch_with_other_credentials_ends_the_sessions(launch: Launch) -> None:
    demo = echo_app()
    url = launch(demo, auth=ACCOUNT)
    cookies = session_cookies(url)
    launch(demo, auth=ACCOUNT, auth_message="same accounts")  # sessions stay
    assert httpx.get(f"{url}config", cookies=cookies).status_code == 200
    launch(demo, auth=("ada", "new password"))
    assert httpx.get(f"{url}config", cookies=cookies).status_code == 401


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"auth": "ada:lovelace"}, TypeError, r"auth=\.\.\.\) takes"),
        ({"auth": ("ada",)}, TypeError, "entry 0"),
        ({"auth": [("ada", 1)]}, TypeError, "two strings"),
        ({"auth": []}, ValueError, "no accounts"),
        ({"auth": [ACCOUNT, ("ada", "again")]}, ValueError, "twice"),
        ({"auth": ("ada ", "x")}, ValueError, "spaces"),
        ({"auth": ACCOUNT, "auth_message": 3}, TypeError, "auth_message"),
        ({"auth_dependency": "x-user"}, TypeError, "auth_dependency"),
        ({"auth": ACCOUNT, "auth_dependency": lambda r: "ada"}, ValueError, "not both"),
        ({"ssl_keyfile": "key.pem"}, ValueError, "ssl_certfile"),
        ({"ssl_keyfile_password": "pw"}, ValueError, "ssl_keyfile"),
        ({"ssl_certfile": "/nonexistent/cert.pem"}, ValueError, "no file"),
        ({"ssl_verify": "no"}, TypeError, "ssl_verify"),
    ],
)
def test_bad_security_arguments_are_refused_before_serving(
    options: dict[str, object], error: type[Exception], match: str
) -> None:
    demo = echo_app()
    with pytest.raises(error, match=match):
        demo.launch(prevent_thread_lock=True, quiet=True, **options)
    assert demo.local_url is None and demo.auth is None


def test_mounted_under_a_prefix_the_gate_still_applies() -> None:
    demo = echo_app()
    demo.auth = AuthSettings.from_launch(ACCOUNT)
    parent = Starlette(routes=[Mount("/ui", app=demo.app)])
    with TestClient(parent) as http:
        assert http.get("/ui/config").status_code == 401
        assert http.get("/ui/static/app.js").status_code == 200
        form = {"username": ACCOUNT[0], "password": ACCOUNT[1]}
        assert http.post("/ui/login", data=form).is_success
        assert http.get("/ui/config").status_code == 200  # the client kept the cookie


def test_mount_gradio_app_puts_the_mounted_app_behind_its_login() -> None:
    async def health(request):
        return PlainTextResponse("ok")

    parent = Starlette(routes=[Route("/health", health)])
    assert gr.mount_gradio_app(parent, echo_app(), "/ui", auth=[ACCOUNT]) is parent
    with TestClient(parent) as http:
        assert http.get("/health").text == "ok"  # the host app's own routes stay open
        assert http.get("/ui/config").status_code == 401
        wrong = {"username": ACCOUNT[0], "password": "nope"}
        assert http.post("/ui/login", data=wrong).status_code == 400
        assert http.get("/ui/config").status_code == 401
        form = {"username": ACCOUNT[0], "password": ACCOUNT[1]}
        assert http.post("/ui/login", data=form).is_success
        assert http.get("/ui/config").status_code == 200
    with pytest.raises(ValueError, match="must start with '/'"):
        gr.mount_gradio_app(Starlette(), echo_app(), "ui")
    with pytest.raises(TypeError, match="auth"):
        gr.mount_gradio_app(Starlette(), echo_app(), "/ui", auth=42)


def test_route_path_is_below_the_mount_point() -> None:
    assert route_path({"path": "/ui/config", "root_path": "/ui"}) == "/config"
    assert route_path({"path": "/ui", "root_path": "/ui"}) == ""
    assert route_path({"path": "/uix/config", "root_path": "/ui"}) == "/uix/config"
    assert route_path({"path": "/config", "root_path": ""}) == "/config"


def test_sessions_are_bounded_least_recently_used_first() -> None:
    sessions = Sessions(limit=2)
    first, second = sessions.start("a"), sessions.start("b")
    assert sessions.user(first) == "a"  # used: now the most recent
    third = sessions.start("c")
    assert len(sessions) == 2 and sessions.user(second) is None
    assert sessions.user(first) == "a" and sessions.user(third) == "c"
    sessions.end_user("a")
    assert sessions.user(first) is None and sessions.user(None) is None
    with pytest.raises(ValueError, match="positive"):
        Sessions(limit=0)


def test_unknown_users_cost_the_same_comparison() -> None:
    settings = AuthSettings.from_launch(ACCOUNT)
    assert settings is not None and settings.accounts is not None
    assert asyncio.run(settings.verify("ada", "lovelace")) is True
    assert asyncio.run(settings.verify("nobody", "lovelace")) is False
    assert "lovelace" not in repr(settings)  # passwords are kept only as digests


@pytest.fixture
def browser() -> Iterator[object]:
    from tests.browser import headless_chromium  # skips this test where Chromium is absent

    with headless_chromium("1000,800") as driver:
        yield driver


def test_browser_logs_in_then_uses_the_app(browser, launch: Launch) -> None:
    from selenium.webdriver.common.by import By

    from tests.browser import until

    url = launch(echo_app(), auth=ACCOUNT, auth_message="Staff only")
    browser.get(url)
    form = until(lambda: browser.find_elements(By.CSS_SELECTOR, "form.webui-login"))[0]
    assert "Staff only" in form.text
    error = browser.find_element(By.CSS_SELECTOR, ".webui-login-error")
    assert not error.is_displayed()
    browser.find_element(By.NAME, "username").send_keys("ada")
    browser.find_element(By.NAME, "password").send_keys("wrong")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    until(lambda: error.is_displayed() and "Incorrect credentials" in error.text)
    assert browser.find_element(By.NAME, "password").get_attribute("value") == ""
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly, and none yet
    browser.find_element(By.NAME, "username").clear()
    browser.find_element(By.NAME, "username").send_keys("ada")
    browser.find_element(By.NAME, "password").send_keys("lovelace")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    until(lambda: browser.execute_script("return window.webui !== undefined"))
    assert browser.title == "Secret app"
    assert browser.execute_script("return document.cookie") == ""  # HttpOnly: not for scripts
    browser.find_element(By.CSS_SELECTOR, "#box input, #box textarea").send_keys("Ada")
    browser.find_element(By.CSS_SELECTOR, "#go button").click()
    value = "return document.querySelector('#out input, #out textarea').value"
    until(lambda: browser.execute_script(value) == "Hello Ada!")
    browser.get(f"{url}logout")  # back to the login page
    until(lambda: browser.find_elements(By.CSS_SELECTOR, "form.webui-login"))
