"""The front without Ray: fake replicas on loopback ports, some dead, some cut mid-stream."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from jaxserve.replicas.app import create_front_app, serve_replicas
from jaxserve.server.config import ServerConfig
from jaxserve.server.errors import Unavailable


def fake_replica(name: str, *, cut_streams: bool = False, engine_dead: bool = False) -> Starlette:
    """Answers completions with its name; streams two events, then breaks if `cut_streams`;
    with `engine_dead`, its /health says what a server whose engine thread died says."""

    async def complete(request: Request) -> Response:
        body = await request.json()
        if not body.get("stream"):
            auth = request.headers.get("authorization")
            return JSONResponse({"replica": name, "auth": auth}, headers={"x-replica": name})

        async def events() -> AsyncIterator[bytes]:
            for i in range(2):
                yield f"data: {json.dumps({'replica': name, 'i': i})}\n\n".encode()
                await asyncio.sleep(0.01)
            if cut_streams:
                raise RuntimeError("the replica died mid-stream")
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    async def health(request: Request) -> Response:
        if engine_dead:
            return Unavailable("the engine died", code="engine_dead").response()
        return JSONResponse({"status": "ok"})

    async def metrics(request: Request) -> Response:
        text = (
            "# HELP jaxserve:prefix_cache_hits_total Prompt tokens found in the prefix cache.\n"
            "# TYPE jaxserve:prefix_cache_hits_total counter\n"
            f'jaxserve:prefix_cache_hits_total{{model_name="tiny"}} {len(name)}\n'
        )
        return PlainTextResponse(text)

    return Starlette(
        routes=[
            Route("/v1/completions", complete, methods=["POST"]),
            Route("/health", health),
            Route("/metrics", metrics),
        ]
    )


@dataclasses.dataclass
class Served:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def serve(app: Starlette) -> Served:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "a test server did not start"
        time.sleep(0.01)
    return Served(
        f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", server, thread
    )


def dead_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


class FakePool:
    """Replicas at `urls`; a recovered replica comes back at `comeback[i]` when there is one."""

    def __init__(self, urls: list[str], comeback: dict[int, str] | None = None):
        self.urls = urls
        self.comeback = comeback or {}
        self.recovered: list[int] = []
        self.restarted: list[int] = []

    def restart(self, index: int) -> None:
        self.restarted.append(index)

    async def recover(self, index: int) -> str:
        self.recovered.append(index)
        self.urls[index] = self.comeback.get(index, self.urls[index])
        return self.urls[index]


@pytest.fixture
def servers() -> Iterator[list[Served]]:
    running: list[Served] = []
    yield running
    for served in reversed(running):  # the front first: its replicas outlive it
        served.stop()


def front_of(pool: FakePool, servers: list[Served], routing: str = "prefix") -> str:
    config = ServerConfig(model="/models/tiny", port=0, replicas=len(pool.urls), routing=routing)
    app = create_front_app(pool, config, health_interval=0.05)
    served = serve(app)
    servers.append(served)
    return served.url


def test_requests_to_a_dead_replica_go_to_a_live_one(servers):
    servers.append(serve(fake_replica("alive")))
    pool = FakePool([dead_url(), servers[0].url])
    url = front_of(pool, servers, routing="round_robin")
    headers = {"Authorization": "Bearer sk-1", "X-Request-Id": "r-7"}
    with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
        for _ in range(4):
            response = client.post("/v1/completions", json={"prompt": "hi"})
            assert response.json() == {"replica": "alive", "auth": "Bearer sk-1"}
            assert response.headers["x-replica"] == "alive"  # the replica's headers relayed
        health = client.get("/health").json()
    assert health["status"] == "ok"
    assert [r["state"] for r in health["replicas"]] == ["restarting", "up"]
    assert 0 in pool.recovered


def test_a_replica_is_routed_to_again_once_it_is_back(servers):
    servers += [serve(fake_replica("one")), serve(fake_replica("comeback"))]
    pool = FakePool([servers[0].url, dead_url()], comeback={1: servers[1].url})
    url = front_of(pool, servers, routing="round_robin")
    with httpx.Client(base_url=url, timeout=30) as client:
        deadline = time.monotonic() + 30
        while 1 not in pool.recovered or not replica_up(client, 1):
            assert time.monotonic() < deadline, "the replica was not taken back"
            time.sleep(0.02)
        names = {client.post("/v1/completions", json={"prompt": "x"}).json()["replica"]}
        names.add(client.post("/v1/completions", json={"prompt": "x"}).json()["replica"])
    assert names == {"one", "comeback"}


def test_a_replica_whose_engine_died_is_restarted(servers):
    servers += [serve(fake_replica("dead", engine_dead=True)), serve(fake_replica("fresh"))]
    pool = FakePool([servers[0].url], comeback={0: servers[1].url})
    url = front_of(pool, servers)
    with httpx.Client(base_url=url, timeout=30) as client:
        deadline = time.monotonic() + 30
        while 0 not in pool.recovered or not replica_up(client, 0):
            assert time.monotonic() < deadline, "the replica was not restarted"
            time.sleep(0.02)
        assert client.post("/v1/completions", json={"prompt": "x"}).json()["replica"] == "fresh"
    assert pool.restarted == [0]


def replica_up(client: httpx.Client, index: int) -> bool:
    return client.get("/health").json()["replicas"][index]["state"] == "up"


def test_a_stream_cut_midway_ends_with_an_error_event(servers):
    servers.append(serve(fake_replica("cutter", cut_streams=True)))
    url = front_of(FakePool([servers[0].url]), servers)
    with (
        httpx.Client(base_url=url, timeout=30) as client,
        client.stream("POST", "/v1/completions", json={"prompt": "p", "stream": True}) as reply,
    ):
        assert reply.headers["content-type"].startswith("text/event-stream")
        data = [line.removeprefix("data: ") for line in reply.iter_lines() if line]
    assert [json.loads(d)["i"] for d in data[:2]] == [0, 1]  # what was streamed stays
    assert json.loads(data[2])["error"]["code"] == "replica_failed"
    assert data[3:] == ["[DONE]"]
    wait_idle(url)


def test_a_whole_stream_is_relayed_event_by_event(servers):
    servers.append(serve(fake_replica("streamer")))
    url = front_of(FakePool([servers[0].url]), servers)
    with (
        httpx.Client(base_url=url, timeout=30) as client,
        client.stream("POST", "/v1/completions", json={"prompt": "p", "stream": True}) as reply,
    ):
        data = [line.removeprefix("data: ") for line in reply.iter_lines() if line]
    assert data == ['{"replica": "streamer", "i": 0}', '{"replica": "streamer", "i": 1}', "[DONE]"]
    wait_idle(url)


def test_a_client_that_leaves_mid_stream_frees_its_slot(servers):
    servers.append(serve(fake_replica("streamer")))
    url = front_of(FakePool([servers[0].url]), servers)
    with (
        httpx.Client(base_url=url, timeout=30) as client,
        client.stream("POST", "/v1/completions", json={"prompt": "p", "stream": True}),
    ):
        pass  # leaves without reading a byte
    wait_idle(url)


def wait_idle(url: str) -> None:
    """Until the front counts no request in flight on any replica."""
    deadline = time.monotonic() + 30
    while any(r["in_flight"] for r in httpx.get(f"{url}/health").json()["replicas"]):
        assert time.monotonic() < deadline, "a request's slot was never freed"
        time.sleep(0.02)


def test_with_every_replica_down_a_request_is_unavailable(servers):
    config = ServerConfig(model="/models/tiny", port=0, replicas=1)
    app = create_front_app(FakePool([dead_url()]), config, retry_timeout=0.3)
    servers.append(serve(app))
    with httpx.Client(base_url=servers[-1].url, timeout=30) as client:
        response = client.post("/v1/completions", json={"prompt": "p"})
        assert response.status_code == 503
        assert response.json()["error"]["type"] == "server_error"
        assert client.get("/health").status_code == 503


def test_metrics_are_merged_by_replica(servers):
    servers += [serve(fake_replica("a")), serve(fake_replica("bb"))]
    url = front_of(FakePool([servers[0].url, servers[1].url]), servers)
    text = httpx.get(f"{url}/metrics", timeout=30).text
    assert 'jaxserve:prefix_cache_hits_total{replica="0",model_name="tiny"} 1' in text
    assert 'jaxserve:prefix_cache_hits_total{replica="1",model_name="tiny"} 2' in text
    assert text.count("# TYPE jaxserve:prefix_cache_hits_total counter") == 1
    assert "jaxserve:replicas_up 2" in text


class FakeRay:
    def __init__(self, initialized: bool):
        self.initialized = initialized
        self.calls: list[str] = []

    def is_initialized(self) -> bool:
        return self.initialized

    def init(self, **kwargs) -> None:
        self.calls.append("init")

    def shutdown(self) -> None:
        self.calls.append("shutdown")


@pytest.mark.parametrize("initialized", [False, True])
def test_serve_replicas_starts_and_stops_what_it_owns(monkeypatch, initialized):
    """`jaxserve run`'s path, with Ray, the actors and uvicorn stood in for: the front is
    served on the config's address, then the actors are killed, and a Ray cluster this call
    started is shut down (one it joined is left running)."""
    from jaxserve.replicas import actors
    from jaxserve.server import app as server_app

    ray = FakeRay(initialized)
    events: list[str] = []

    class Pool:
        def __init__(self, config, llm_options=None):
            self.urls = ["http://127.0.0.1:1", "http://127.0.0.1:2"]
            events.append(f"pool of {config.replicas}")

        def shutdown(self) -> None:
            events.append("pool shutdown")

    class Server:
        started = True

        def __init__(self, app, config):
            assert app.state.front.router.num_replicas == 2
            events.append(f"front on {config.host}:{config.port}")

        def run(self) -> None:
            events.append("run")

    monkeypatch.setattr(actors, "require_ray", lambda: ray)
    monkeypatch.setattr(actors, "ReplicaSet", Pool)
    monkeypatch.setattr(server_app, "uvicorn_server", Server)
    config = ServerConfig(model="/models/tiny", port=8123, replicas=2)
    assert serve_replicas(config) == 0
    assert events == ["pool of 2", "front on 127.0.0.1:8123", "run", "pool shutdown"]
    assert ray.calls == ([] if initialized else ["init", "shutdown"])
