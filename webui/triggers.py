"""From an HTTP request that starts an event to its `Trigger`: the block that fired it, the
page's `event_data`, and a `gr.Request` snapshot (headers, client, query, user)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from webui.event_data import Client, Request
from webui.processing import Trigger

if TYPE_CHECKING:
    from starlette.requests import Request as HTTPRequest

    from webui.root import Root


async def username_of(blocks: Root, request: HTTPRequest) -> str | None:
    """The logged-in user of `request`, when the app has a login."""
    if blocks.auth is None:
        return None
    sessions = getattr(request.app.state, "sessions", None)
    if sessions is None:
        return None
    return await blocks.auth.user_of(request, sessions)


async def trigger_of(
    blocks: Root, request: HTTPRequest, body: dict[str, Any], session_hash: str
) -> Trigger:
    """The Trigger of an event joined by `request` with JSON `body`."""
    client = request.client
    snapshot = Request(
        headers=request.headers,  # Starlette's, as Gradio's gr.Request gives: any-case lookup
        client=Client(host=client.host if client else None, port=client.port if client else None),
        query_params=request.query_params,
        cookies=dict(request.cookies),
        path_params=dict(request.path_params),
        url=str(request.url),
        session_hash=session_hash,
        username=await username_of(blocks, request),
    )
    target = body.get("trigger_id")
    return Trigger(
        target_id=target if isinstance(target, int) and not isinstance(target, bool) else None,
        event_data=body.get("event_data"),
        request=snapshot,
    )
