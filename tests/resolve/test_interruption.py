"""A stop asked for during resolution (SIGTERM): no further request is sent, unresolved
models are ERROR ``interrupted``, backoff waits end at once, and nothing interrupted is
cached. Over real sockets on 127.0.0.1; the stop is set by the server's own thread when the
first request arrives, so the order of events is fixed without any timing assertion."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable

import httpx
import pytest

from watchman.errors import BackendError
from watchman.home import Home
from watchman.remote.gateway import HttpGateway
from watchman.resolve import SearchRequest, Status

from .conftest import FAST, resolver_for, settings_for
from .servers import ReplayServer, Reply, Seen

SEARCH = "/api/v1/models"


def stop_on_first_request(stop: threading.Event, reply: Reply) -> Callable[[Seen], Reply]:
    def handler(seen: Seen) -> Reply:
        stop.set()
        return reply

    return handler


def test_a_stop_during_a_run_sends_no_further_request_and_marks_every_model_interrupted(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    stop = threading.Event()
    # A slow answer: every worker is mid-request or queued when the stop arrives.
    server.route(
        "GET",
        SEARCH,
        handler=stop_on_first_request(stop, Reply(200, {"items": []}, delay=0.3)),
    )
    settings = settings_for(civitai=server.url, order=("civitai",))
    # Names with several search terms: finishing one would take several requests.
    requests = [
        SearchRequest(f"Slow_Model-v{number}_fp16.safetensors", "loras") for number in range(8)
    ]
    with resolver_for(settings, home, client, stop_event=stop) as resolver:
        results = resolver.search_multiple_models(requests)
    # At most one request per worker was already on its way; none was sent after.
    assert server.count(SEARCH) <= settings.search.max_parallel_models
    assert {(result.status, result.reason) for result in results.values()} == {
        (Status.ERROR, "interrupted")
    }
    cached = json.loads(home.resolution_cache.read_text(encoding="utf-8"))
    assert "interrupted" not in json.dumps(cached)
    assert cached["entries"] == {}


def test_models_answered_from_the_cache_before_a_stop_keep_their_answer(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("GET", SEARCH, Reply(200, {"items": []}))
    settings = settings_for(civitai=server.url, order=("civitai",))
    known = SearchRequest("seen_before.safetensors", "loras")
    with resolver_for(settings, home, client) as resolver:
        assert resolver.search(known).status is Status.NOT_FOUND
    sent = server.count()
    stop = threading.Event()
    stop.set()
    with resolver_for(settings, home, client, stop_event=stop) as resolver:
        results = resolver.search_multiple_models([known, SearchRequest("new.safetensors", None)])
    assert server.count() == sent
    assert results[known.key].status is Status.NOT_FOUND
    new = results[SearchRequest("new.safetensors", None).key]
    assert (new.status, new.reason) == (Status.ERROR, "interrupted")


@pytest.mark.timeout(15)
def test_a_stop_ends_a_retry_after_wait_at_once_and_sends_no_retry(
    server: ReplayServer, client: httpx.Client
) -> None:
    stop = threading.Event()
    # Thirty seconds asked for, under the cap: without the stop the gateway would wait.
    server.route(
        "GET",
        "/api",
        handler=stop_on_first_request(stop, Reply(503, None, {"Retry-After": "30"})),
    )
    options = dataclasses.replace(FAST, retry_after_cap_seconds=60.0)
    gateway = HttpGateway(client, options, stop_event=stop)
    with pytest.raises(BackendError) as raised:
        gateway.get_json(f"{server.url}/api")
    assert raised.value.reason == "interrupted"
    assert server.count("/api") == 1
