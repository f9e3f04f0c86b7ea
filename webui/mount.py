"""`mount_gradio_app`: a Blocks served inside another Starlette (or FastAPI) app, as Gradio's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Mount

from webui.auth import AuthSettings

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from webui.auth import Accounts, AuthDependency
    from webui.blocks import Blocks


def mount_gradio_app(
    app: Starlette,
    blocks: Blocks,
    path: str,
    *,
    auth: Accounts | None = None,
    auth_message: str | None = None,
    auth_dependency: AuthDependency | None = None,
    allowed_paths: list[str] | None = None,
    blocked_paths: list[str] | None = None,
    max_file_size: int | str | None = None,
    show_error: bool | None = None,
) -> Starlette:
    """Serves `blocks` at `path` of `app` (which is returned) with launch()'s protections.

    `auth`, `auth_message` and `auth_dependency` put the mounted app behind its login exactly
    as `launch()` does (every route of it needs the session; the API of `app` is untouched);
    `allowed_paths`, `blocked_paths` and `max_file_size` set its file policy.

    Raises:
        ValueError: `path` does not start with "/", or the auth arguments are unusable.
        TypeError: an auth argument is not of a form Gradio accepts.
    """
    if not path.startswith("/"):
        raise ValueError(f"mount_gradio_app: path must start with '/', got {path!r}")
    settings = AuthSettings.from_launch(auth, auth_message, auth_dependency)
    blocks.files.configure(
        allowed_paths=allowed_paths, blocked_paths=blocked_paths, max_file_size=max_file_size
    )
    if show_error is not None:
        blocks.show_error = show_error
    if blocks.auth is not None and not (settings and settings.same_as(blocks.auth)):
        blocks.app.state.sessions.clear()  # other credentials: no one stays in on the old
    blocks.auth = settings
    mounted = Mount(path.rstrip("/"), app=blocks.app)
    app.router.routes.append(mounted)
    return app
