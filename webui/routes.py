"""Gradio's HTTP routes (protocol sse_v3) over one Blocks app, on Starlette."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from webui.api_info import API_PREFIX, build_config, build_info
from webui.auth import Sessions
from webui.auth_routes import AuthGate, auth_routes
from webui.component_server import component_server_routes
from webui.deep_links import DeepLinks, deep_link_routes
from webui.events import Dependency
from webui.file_routes import RequestScopeMiddleware, serve_file, upload_files
from webui.page import page_routes
from webui.processing import Trigger, error_payload, postprocess, preprocess, results
from webui.queue import EventQueue, QueueFull
from webui.session_end import SessionEnds
from webui.stream_inputs import stream_input_routes
from webui.stream_outputs import stream_output_routes
from webui.triggers import trigger_of
from webui.upload_progress import UploadProgress, upload_progress
from webui.validation import run_validator

if TYPE_CHECKING:
    from webui.root import Root

HEARTBEAT_S = 15.0  # gradio_client's heartbeat reader gives up after 20 s of silence
# close_stream waits this long after a session goes idle. gradio_client keeps one reader per
# session and fails events it registered just before reading close_stream; a join arriving
# within the grace reuses the open stream instead, so busy clients never hit that window.
CLOSE_GRACE_S = 1.0
STOP = {"msg": "close_stream", "event_id": None}  # put in channels when the server stops
MAX_BODY_BYTES = 16 * 1024 * 1024
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class HTTPProblem(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _sse(message: Any) -> str:
    return f"data: {json.dumps(message)}\n\n"


class EventStream(Response):
    """A text/event-stream response for the queue's hot path: each chunk is one write, and
    the generator is stopped (cancelled) as soon as the client disconnects.

    Lighter than StreamingResponse, which runs a task group per stream; this needs one small
    task that waits for the disconnect."""

    media_type = "text/event-stream"

    def __init__(self, chunks: AsyncGenerator[str, None]):
        self.chunks = chunks
        self.status_code = 200
        self.background = None
        self.init_headers(SSE_HEADERS)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        task = asyncio.current_task()
        assert task is not None
        state = {"done": False, "gone": False}

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            if not state["done"]:
                state["gone"] = True
                task.cancel()

        watcher = asyncio.create_task(watch())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for chunk in self.chunks:
                await send(
                    {"type": "http.response.body", "body": chunk.encode(), "more_body": True}
                )
            state["done"] = True
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not state["gone"]:
                raise
            task.uncancel()  # the client left: a normal end of this response, not of the server
        except OSError:  # a server whose send fails once the client has gone
            pass
        finally:
            state["done"] = True
            watcher.cancel()
            await self.chunks.aclose()  # runs the generator's cleanup now, not at collection


async def _read_json(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPProblem(413, f"the request body is over {MAX_BODY_BYTES} bytes")
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise HTTPProblem(400, f"the request body is not valid JSON: {e}") from None
    if not isinstance(parsed, dict):
        raise HTTPProblem(400, "the request body must be a JSON object")
    return parsed


def _data(body: dict[str, Any]) -> list[Any]:
    data = body.get("data")
    if not isinstance(data, list):
        raise HTTPProblem(400, "the body needs a 'data' list with one value per input")
    return data


class Routes:
    """Handlers bound to one Blocks app and its queue."""

    def __init__(self, blocks: Root):
        self.blocks = blocks
        self.queue = EventQueue(blocks)
        self.deep_links = DeepLinks()  # snapshots of sessions, for gr.DeepLinkButton
        self.session_ends = SessionEnds(blocks, self.queue)  # unload, delete_callback
        self.stopping = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None

    def stop_streams(self) -> None:
        """End open SSE streams so the server can shut down; callable from any thread."""
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop)

    def _stop(self) -> None:
        self.stopping.set()
        self.session_ends.stop()
        for channel in self.queue.channels.values():
            channel.messages.put_nowait(STOP)  # wakes readers blocked on an empty channel

    def _dependency(
        self, fn_index: Any = None, api_name: str | None = None, session_hash: Any = None
    ) -> Dependency:
        dependencies = self.blocks.dependencies
        state = self.queue.states.get(session_hash) if isinstance(session_hash, str) else None
        if state is not None and fn_index in state.rendered:  # made by a gr.render function
            return state.rendered[fn_index]
        if api_name is not None:
            found = [d for d in dependencies if d.api_name == api_name.lstrip("/")]
            if not found:
                names = [f"/{d.api_name}" for d in dependencies]
                raise HTTPProblem(404, f"no endpoint /{api_name}; the endpoints are {names}")
            dependency = found[0]
        elif not isinstance(fn_index, int) or isinstance(fn_index, bool):
            raise HTTPProblem(400, "No function index provided.")
        elif not 0 <= fn_index < len(dependencies):
            raise HTTPProblem(404, f"fn_index {fn_index} is not in 0..{len(dependencies) - 1}")
        else:
            dependency = dependencies[fn_index]
        if dependency.fn is None:
            raise HTTPProblem(400, f"/{dependency.api_name} has no backend function")
        return dependency

    async def _validate(
        self, dependency: Dependency, data: list[Any], session_hash: str, trigger: Trigger
    ) -> Response | None:
        """The 422 answer Gradio gives when the event's validator refuses its inputs."""
        if dependency.validator is None:
            return None
        state = self.queue.session_state(session_hash)
        try:
            found = await run_validator(dependency, data, state, trigger, self.blocks.executor)
        except Exception as error:
            return JSONResponse({"detail": error_payload(error, True)["error"]}, 400)
        return None if found is None else JSONResponse({"detail": found}, 422)

    async def config(self, request: Request) -> Response:
        root = str(request.base_url).rstrip("/")
        config = build_config(self.blocks, root)  # with a deep link's snapshot, if one is named
        return JSONResponse(self.deep_links.apply(config, request.query_params.get("deep_link")))

    async def info(self, request: Request) -> Response:
        all_endpoints = request.query_params.get("all_endpoints", "").lower() == "true"
        return JSONResponse(build_info(self.blocks, all_endpoints=all_endpoints))

    async def queue_join(self, request: Request) -> Response:
        self.loop = asyncio.get_running_loop()
        body = await _read_json(request)
        session_hash = body.get("session_hash")
        if not isinstance(session_hash, str) or not session_hash:
            raise HTTPProblem(400, "the body needs a 'session_hash' string")
        dependency = self._dependency(body.get("fn_index"), session_hash=session_hash)
        trigger = await trigger_of(self.blocks, request, body, session_hash)
        refused = await self._validate(dependency, _data(body), session_hash, trigger)
        if refused is not None:
            return refused
        try:
            event = self.queue.join(dependency, _data(body), session_hash, trigger=trigger)
        except QueueFull as e:
            raise HTTPProblem(503, str(e)) from None
        return JSONResponse({"event_id": event.id})

    async def queue_data(self, request: Request) -> Response:
        session_hash = request.query_params.get("session_hash", "")
        return EventStream(self._session_stream(session_hash))

    async def _session_stream(self, session_hash: str) -> AsyncGenerator[str, None]:
        channel = self.queue.channels.get(session_hash)
        if channel is None:
            yield _sse(
                {
                    "msg": "unexpected_error",
                    "event_id": None,
                    "message": "404: Not Found",
                    "session_not_found": True,
                    "success": False,
                }
            )
            return
        idle = False  # the last event completed and nothing else is pending
        messages = channel.messages
        try:
            while not self.stopping.is_set():
                if messages.empty():
                    try:
                        async with asyncio.timeout(CLOSE_GRACE_S if idle else HEARTBEAT_S):
                            message = await messages.get()
                    except TimeoutError:
                        if idle and self.queue.close_channel_if_idle(session_hash, channel):
                            yield _sse({"msg": "close_stream", "event_id": None})
                            return
                        if not idle:
                            yield _sse({"msg": "heartbeat", "event_id": None})
                        idle = False
                        continue
                else:
                    message = messages.get_nowait()
                # Everything already queued goes out in one write: fewer, larger chunks.
                batch = [_sse(message)]
                while message is not STOP and not messages.empty():
                    message = messages.get_nowait()
                    batch.append(_sse(message))
                yield "".join(batch)
                if message is STOP:
                    return
                idle = message["msg"] == "process_completed" and not channel.pending
        finally:
            # A reader that went away leaves nothing behind unless work is still pending.
            self.queue.close_channel_if_idle(session_hash, channel)

    async def queue_status(self, request: Request) -> Response:
        size = len(self.queue.events)
        return JSONResponse(
            {
                "msg": "estimation",
                "event_id": None,
                "rank": None,
                "queue_size": size,
                "rank_eta": None,
            }
        )

    async def heartbeat(self, request: Request) -> Response:
        """The stream a page holds open while it lives; its end ends the session."""
        self.loop = asyncio.get_running_loop()
        session_hash = request.path_params["session_hash"]
        trigger = await trigger_of(self.blocks, request, {}, session_hash)  # for unload fns

        async def beats() -> AsyncIterator[str]:
            self.session_ends.opened(session_hash)
            try:
                while not self.stopping.is_set():
                    yield "data: ALIVE\n\n"
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.stopping.wait(), HEARTBEAT_S)
            finally:
                if not self.stopping.is_set():
                    self.session_ends.closed(session_hash, trigger)

        return StreamingResponse(beats(), media_type="text/event-stream", headers=SSE_HEADERS)

    async def cancel(self, request: Request) -> Response:
        body = await _read_json(request)
        event_id = body.get("event_id")
        if isinstance(event_id, str):
            self.queue.cancel(event_id, body.get("session_hash"))
        return JSONResponse({"success": True})

    async def reset(self, request: Request) -> Response:
        return JSONResponse({"success": True})

    async def call_start(self, request: Request) -> Response:
        dependency = self._dependency(api_name=request.path_params["api_name"])
        body = await _read_json(request)
        session_hash = body.get("session_hash")
        if not isinstance(session_hash, str) or not session_hash:
            session_hash = uuid.uuid4().hex
        trigger = await trigger_of(self.blocks, request, body, session_hash)
        refused = await self._validate(dependency, _data(body), session_hash, trigger)
        if refused is not None:
            return refused
        try:
            event = self.queue.join_call(dependency, _data(body), session_hash, trigger)
        except QueueFull as e:
            raise HTTPProblem(503, str(e)) from None
        return JSONResponse({"event_id": event.id})

    async def call_result(self, request: Request) -> Response:
        event_id = request.path_params["event_id"]
        sink = self.queue.call_sinks.get(event_id)
        if sink is None:
            raise HTTPProblem(404, f"no pending /call event {event_id}")

        async def stream() -> AsyncIterator[str]:
            try:
                while not self.stopping.is_set():
                    try:
                        message = await asyncio.wait_for(sink.get(), HEARTBEAT_S)
                    except TimeoutError:
                        yield "event: heartbeat\ndata: null\n\n"
                        continue
                    if message["msg"] == "process_generating":
                        data = json.dumps(message["output"]["data"])
                        yield f"event: generating\ndata: {data}\n\n"
                    elif message["msg"] == "process_completed":
                        output = message["output"]
                        if message["success"]:
                            yield f"event: complete\ndata: {json.dumps(output.get('data'))}\n\n"
                        else:
                            error = output if output.get("error") is not None else None
                            yield f"event: error\ndata: {json.dumps(error)}\n\n"
                        return
            finally:
                self.queue.call_sinks.pop(event_id, None)

        return StreamingResponse(stream(), media_type="text/event-stream", headers=SSE_HEADERS)

    async def run(self, request: Request) -> Response:
        """Run an event outside the queue and answer with its whole output at once."""
        dependency = self._dependency(api_name=request.path_params["api_name"])
        if dependency.queue and not self.blocks.queue_settings.api_open:
            raise HTTPProblem(404, f"/{dependency.api_name} is only reachable through the queue")
        body = await _read_json(request)
        session_hash = body.get("session_hash")
        if not isinstance(session_hash, str):
            session_hash = uuid.uuid4().hex
        state = self.queue.session_state(session_hash)
        trigger = await trigger_of(self.blocks, request, body, session_hash)
        payloads: list[Any] = [None] * len(dependency.outputs)
        try:
            refused = await self._validate(dependency, _data(body), session_hash, trigger)
            if refused is not None:
                return refused
            args = preprocess(dependency, _data(body), state, trigger)
            async for result in results(dependency, args, self.blocks.executor):
                payloads = postprocess(dependency, result, state)
        except Exception as error:
            return JSONResponse(error_payload(error, self.blocks.show_error), status_code=500)
        # The States this run changed fire `.change` in the page now, not with a later event.
        changed = sorted(state.changed_state_ids)
        state.changed_state_ids.clear()
        return JSONResponse(
            {
                "data": payloads,
                "is_generating": False,
                "render_config": None,
                "changed_state_ids": changed,
                "used_cache": None,
            }
        )


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPProblem)  # only registered for HTTPProblem
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)


def create_app(blocks: Root) -> Starlette:
    """A Starlette app serving `blocks`; its Routes object is on `app.state.webui`."""
    routes = Routes(blocks)
    p = API_PREFIX
    table = [  # every call joins and reads its stream: those two are matched first
        Route(f"{p}/queue/join", routes.queue_join, methods=["POST"]),
        Route(f"{p}/queue/data", routes.queue_data),
        Route("/config", routes.config),
        Route("/config/", routes.config),
        Route(f"{p}/info", routes.info),
        Route(f"{p}/info/", routes.info),
        Route(f"{p}/queue/status", routes.queue_status),
        Route(f"{p}/heartbeat/{{session_hash}}", routes.heartbeat),
        Route(f"{p}/cancel", routes.cancel, methods=["POST"]),
        Route(f"{p}/reset", routes.reset, methods=["POST"]),
        Route(f"{p}/call/{{api_name}}", routes.call_start, methods=["POST"]),
        Route(f"{p}/call/{{api_name}}/{{event_id}}", routes.call_result),
        Route(f"{p}/run/{{api_name}}", routes.run, methods=["POST"]),
        Route(f"{p}/api/{{api_name}}", routes.run, methods=["POST"]),
        Route(f"{p}/upload", upload_files, methods=["POST"]),
        Route(f"{p}/upload_progress", upload_progress),
        Route(f"{p}/file={{path:path}}", serve_file),
        Route(f"{p}/file/{{path:path}}", serve_file),  # deprecated alias
        Route("/file={path:path}", serve_file),  # Gradio 3/4 clients
    ]
    table += component_server_routes(routes)  # FileExplorer's ls, Dialogue's format
    table += deep_link_routes(routes)  # gr.DeepLinkButton's snapshot of a session
    table += stream_input_routes(routes)  # a .stream() event's chunks and its close
    table += stream_output_routes(routes)  # a streamed media output's whole file
    table += page_routes(blocks)  # the page at /, its static modules and /theme.css
    sessions = Sessions()
    table += auth_routes(blocks, sessions)  # /login, /logout, /gradio_api/login_check
    app = Starlette(routes=table, exception_handlers={HTTPProblem: _problem})
    app.state.webui = routes
    app.state.upload_progress = UploadProgress()
    app.state.sessions = sessions
    app.add_middleware(RequestScopeMiddleware)  # file URLs in outputs name the request's host
    # Added last, so it runs first: no route, present or future, is reached without a session.
    app.add_middleware(AuthGate, blocks=blocks, sessions=sessions)
    return app
