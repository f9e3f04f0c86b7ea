"""Deep links: a URL that opens the app with one session's components as they were.

Story, as Gradio's: every event notes in its session what the page last showed of each block it
read or wrote (`SessionState.shown`: the payload as value, and props an update changed). A
`gr.DeepLinkButton` click asks `GET /gradio_api/deep_link?session_hash=...` for a link: the
session's notes are frozen into a snapshot kept in the app's memory (the most recent
`MAX_LINKS`), named by a hash of its content, and the page copies its URL with
`?deep_link=<name>`. Opening that URL, the page asks `/config?deep_link=<name>`, which shows
each noted block with the snapshot's props (`deep_link_state` says "valid", or "invalid" for an
unknown name, or "none"). Only what the session's own events sent or produced is in a snapshot;
the session hash is the secret that guards it, as in Gradio.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from webui.urls import API_PREFIX

if TYPE_CHECKING:
    from webui.routes import Routes

MAX_LINKS = 1000
MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024


def note_shown(shown: dict[int, dict[str, Any]], block_id: int, payload: Any) -> None:
    """Remember what the page shows of a block after an event: its value, or the props an
    update payload (`{"__type__": "update", ...}`) changes."""
    props = shown.setdefault(block_id, {})
    if isinstance(payload, dict) and payload.get("__type__") == "update":
        props.update({k: v for k, v in payload.items() if k != "__type__"})
    else:
        props["value"] = payload


class DeepLinks:
    """One app's snapshots, by name, the most recent `MAX_LINKS` kept."""

    def __init__(self) -> None:
        self._snapshots: OrderedDict[str, dict[str, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, shown: dict[int, dict[str, Any]]) -> str:
        """Freeze `shown` into a snapshot and return its name ("" when nothing was shown or it
        cannot be encoded, as Gradio answers for an unknown session)."""
        try:
            text = json.dumps({str(k): v for k, v in shown.items()}, sort_keys=True, default=str)
        except (TypeError, ValueError):
            return ""
        if not shown or len(text) > MAX_SNAPSHOT_BYTES:
            return ""
        digest = hashlib.sha256(text.encode()).digest()
        name = base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
        with self._lock:
            self._snapshots[name] = json.loads(text)
            self._snapshots.move_to_end(name)
            while len(self._snapshots) > MAX_LINKS:
                self._snapshots.popitem(last=False)
        return name

    def apply(self, config: dict[str, Any], name: str | None) -> dict[str, Any]:
        """`config` with the snapshot's props on its components, and `deep_link_state`."""
        if not name:
            return {**config, "deep_link_state": "none"}
        with self._lock:
            snapshot = self._snapshots.get(name)
        if snapshot is None:
            return {**config, "deep_link_state": "invalid"}
        components = []
        for component in config["components"]:
            props = snapshot.get(str(component["id"]))
            if props:
                component = {**component, "props": {**component["props"], **copy.deepcopy(props)}}
            components.append(component)
        return {**config, "components": components, "deep_link_state": "valid"}


def deep_link_routes(routes: Routes) -> list[Route]:
    """`GET /gradio_api/deep_link?session_hash=...`: the name of a new snapshot of that
    session, as a JSON string ("" for a session that showed nothing), as Gradio answers."""

    async def create(request: Request) -> Response:
        session_hash = request.query_params.get("session_hash", "")
        state = routes.queue.states.get(session_hash) if session_hash else None
        return JSONResponse(routes.deep_links.create(state.shown) if state is not None else "")

    return [Route(f"{API_PREFIX}/deep_link", create)]
