"""Component server functions: the page asks a component's server side for data it needs.

Gradio's route: `POST /gradio_api/component_server` with the JSON body `{session_hash,
component_id, fn_name, data}` calls `fn_name(data)` on that component, the session's updated
copy if an event changed its props (a FileExplorer given another `root_dir` lists that one),
and answers the function's result as JSON. Only methods marked with `@server_function`
(FileExplorer's `ls`, Dialogue's `format` and `unformat`) can be called; any other name is 404.
Synchronous functions run on the app's executor, as event functions do.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from webui.component import is_server_function
from webui.errors import Error
from webui.files import FileAccessError

if TYPE_CHECKING:
    from webui.routes import Routes

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 1024 * 1024


def _problem(status: int, detail: str) -> Response:
    return JSONResponse({"detail": detail}, status_code=status)


async def _body(request: Request) -> dict[str, Any] | Response:
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        return _problem(413, f"the request body is over {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _problem(400, "the request body is not valid JSON")
    if not isinstance(body, dict):
        return _problem(400, "the request body must be a JSON object")
    component_id, fn_name = body.get("component_id"), body.get("fn_name")
    if isinstance(component_id, bool) or not isinstance(component_id, int):
        return _problem(400, "the body needs a 'component_id' int")
    if not isinstance(fn_name, str):
        return _problem(400, "the body needs a 'fn_name' string")
    return body


def component_server_routes(routes: Routes) -> list[Route]:
    """`/gradio_api/component_server` (with and without the trailing slash) for one app."""
    from webui.api_info import API_PREFIX

    async def call(request: Request) -> Response:
        body = await _body(request)
        if isinstance(body, Response):
            return body
        session_hash = body.get("session_hash")
        state = routes.queue.states.get(session_hash) if isinstance(session_hash, str) else None
        component_id = body["component_id"]
        updated = state.components.get(component_id) if state is not None else None
        block = updated or routes.blocks.blocks.get(component_id)
        fn = getattr(block, body["fn_name"], None) if block is not None else None
        if fn is None or not is_server_function(fn):
            return _problem(404, "Function not found.")
        try:
            if inspect.iscoroutinefunction(fn):
                result = await fn(body.get("data"))
            else:
                loop = asyncio.get_running_loop()
                run = contextvars.copy_context().run
                result = await loop.run_in_executor(
                    routes.blocks.executor, run, fn, body.get("data")
                )
        except FileAccessError as error:
            return _problem(error.status, error.message)
        except (Error, ValueError, TypeError) as error:
            return _problem(400, str(error))
        except Exception:
            logger.exception("component server function %s failed", body["fn_name"])
            return _problem(500, "the component's server function failed")
        return JSONResponse(result)

    path = f"{API_PREFIX}/component_server"
    return [Route(path, call, methods=["POST"]), Route(path + "/", call, methods=["POST"])]
