"""The resolver end to end over local servers: order, stop at FOUND, keep UNCERTAIN, a dead
backend costs one failure per run, the cache makes a second run free, offline mode."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

import httpx
import pytest

from watchman.home import Home
from watchman.remote.origins import host_key
from watchman.resolve import KnownSources, SearchRequest, SearchResult, Status

from .conftest import FAST, resolver_for, settings_for
from .servers import LATE, ReplayServer, Reply, recording, refused_url
from .test_civitai import serve_civitai_search

CHAT = "/v1/chat/completions"
SEARCH = "/api/v1/models"
FOUND_ON_CIVITAI = SearchRequest("DreamShaper_8_pruned.safetensors", "checkpoints")


class CountingClient:
    """An httpx client that counts the requests it tries, per host, even refused ones."""

    def __init__(self) -> None:
        self.attempts: dict[str, int] = {}
        self.client = httpx.Client(event_hooks={"request": [self._count]})

    def _count(self, request: httpx.Request) -> None:
        key = host_key(str(request.url))
        self.attempts[key] = self.attempts.get(key, 0) + 1


@pytest.fixture
def counting() -> Iterator[CountingClient]:
    counter = CountingClient()
    with counter.client:
        yield counter


def test_backends_run_in_order_and_stop_at_the_first_found(
    server: ReplayServer, second_server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("POST", CHAT, Reply(200, recording("qwen_answer_empty.json")))
    serve_civitai_search(second_server)
    settings = settings_for(civitai=second_server.url, qwen=f"{server.url}/v1")
    with resolver_for(settings, home, client) as resolver:
        results = resolver.search_multiple_models([FOUND_ON_CIVITAI, FOUND_ON_CIVITAI])
    assert list(results) == [FOUND_ON_CIVITAI.key]
    result = results[FOUND_ON_CIVITAI.key]
    assert (result.status, result.backend) == (Status.FOUND, "civitai")
    assert server.count(CHAT) == 1
    # With civitai first, Qwen is never asked.
    with resolver_for(
        settings, Home(home.root / "other"), client, backend_order=["civitai", "qwen"]
    ) as resolver:
        assert resolver.search(FOUND_ON_CIVITAI).status is Status.FOUND
    assert server.count(CHAT) == 1


def test_uncertain_candidates_are_kept_when_later_backends_find_nothing(
    server: ReplayServer, second_server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("POST", CHAT, Reply(200, recording("qwen_answer_invented_url.json")))
    second_server.route("GET", SEARCH, Reply(200, {"items": []}))
    settings = settings_for(civitai=second_server.url, qwen=f"{server.url}/v1")
    with resolver_for(settings, home, client) as resolver:
        result = resolver.search(SearchRequest("mystery_model.safetensors", "checkpoints"))
    assert result.status is Status.UNCERTAIN
    assert result.backend == "qwen"
    assert len(result.candidates) == 2
    assert result.download_url is None


def test_a_failing_backend_never_stops_the_next_one(
    server: ReplayServer, second_server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("POST", CHAT, Reply(500, "model crashed"))
    serve_civitai_search(second_server)
    settings = settings_for(civitai=second_server.url, qwen=f"{server.url}/v1")
    with resolver_for(settings, home, client) as resolver:
        result = resolver.search(FOUND_ON_CIVITAI)
    assert result.status is Status.FOUND
    assert result.errors == ("qwen: server_error",)


def test_a_qwen_server_that_is_down_costs_one_quick_error_per_run(
    second_server: ReplayServer, home: Home, counting: CountingClient
) -> None:
    serve_civitai_search(second_server)
    qwen_url = refused_url()
    settings = settings_for(civitai=second_server.url, qwen=f"{qwen_url}/v1")
    requests = [SearchRequest(f"missing_{number}.safetensors", "loras") for number in range(6)]
    with resolver_for(settings, home, counting.client) as resolver:
        results = resolver.search_multiple_models([*requests, FOUND_ON_CIVITAI])
    assert counting.attempts[host_key(qwen_url)] == 1
    assert results[FOUND_ON_CIVITAI.key].status is Status.FOUND
    for request in requests:
        result = results[request.key]
        assert result.status is Status.NOT_FOUND
        assert result.errors == ("qwen: unreachable",)


def test_every_backend_failing_is_an_error_with_its_reason(
    home: Home, counting: CountingClient
) -> None:
    settings = settings_for(civitai=refused_url(), qwen=f"{refused_url()}/v1")
    with resolver_for(settings, home, counting.client) as resolver:
        result = resolver.search(SearchRequest("some_model.safetensors", None))
    assert (result.status, result.reason, result.backend) == (Status.ERROR, "unreachable", "qwen")
    assert result.errors == ("qwen: unreachable", "civitai: unreachable")


def test_a_second_run_with_the_same_missing_set_sends_no_request(
    server: ReplayServer, second_server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("POST", CHAT, Reply(200, recording("qwen_answer_invented_url.json")))
    serve_civitai_search(second_server)
    settings = settings_for(civitai=second_server.url, qwen=f"{server.url}/v1")
    requests = [
        FOUND_ON_CIVITAI,
        SearchRequest("mystery_model.safetensors", "checkpoints"),
        SearchRequest("DreamShaper_8_pruned.pt", "checkpoints"),
    ]
    first_run: dict[str, int] = {}
    stamps = []
    for _ in range(2):
        with resolver_for(settings, home, client) as resolver:
            results = resolver.search_multiple_models(requests)
        first_run = first_run or {"chat": server.count(), "civitai": second_server.count()}
        stamps.append([results[request.key].resolved_at for request in requests])
    # The cached answer keeps the time the backends gave it, so the report stays stable.
    assert stamps[0] == stamps[1] and all(stamps[0])
    assert first_run["chat"] > 0 and first_run["civitai"] > 0
    assert (server.count(), second_server.count()) == (first_run["chat"], first_run["civitai"])
    assert home.resolution_cache.is_file()
    statuses = [results[request.key].status for request in requests]
    assert statuses == [Status.FOUND, Status.UNCERTAIN, Status.UNCERTAIN]


def test_offline_asks_no_backend_but_known_sources_still_answer(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    catalogue = KnownSources()
    catalogue.add_model("known.safetensors", "https://example.invalid/known", "loras", source="w")
    settings = settings_for(civitai=server.url, qwen=f"{server.url}/v1")
    with resolver_for(settings, home, client, known_sources=catalogue, offline=True) as resolver:
        results = resolver.search_multiple_models(
            [SearchRequest("known.safetensors", "loras"), SearchRequest("other.pth", None)]
        )
    known = results[SearchRequest("known.safetensors", "loras").key]
    assert (known.status, known.backend) == (Status.FOUND, "w")
    offline = results[SearchRequest("other.pth", None).key]
    assert (offline.status, offline.reason) == (Status.NOT_FOUND, "offline")
    assert server.count() == 0


def test_offline_models_are_resolved_in_the_calling_thread_in_request_order(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    settings = settings_for(civitai=server.url, qwen=f"{server.url}/v1")
    requests = [SearchRequest(f"m{at}.pth", "loras") for at in range(6)]
    asked_from: list[str] = []
    with resolver_for(settings, home, client, offline=True) as resolver:
        resolve = resolver._resolve

        def watched(request: SearchRequest, order: Sequence[str]) -> SearchResult:
            asked_from.append(threading.current_thread().name)
            return resolve(request, order)

        resolver._resolve = watched  # type: ignore[method-assign]
        results = resolver.search_multiple_models(requests)
    assert list(results) == [request.key for request in requests]
    assert asked_from == [threading.current_thread().name] * 6


def test_known_sources_answer_before_any_backend(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    settings = settings_for(civitai=server.url, qwen=f"{server.url}/v1")
    embedded = SearchRequest(
        "a.safetensors", "loras", embedded_url="https://example.invalid/a.safetensors"
    )
    with resolver_for(settings, home, client) as resolver:
        result = resolver.search(embedded)
    assert (result.status, result.backend) == (Status.FOUND, "workflow")
    assert server.count() == 0


def test_the_resolver_asks_the_backends_its_builder_is_told_to_whatever_else_settings_hold(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    # Services is the one place deciding offline: build_resolver takes its word, never
    # a second reading of search.offline.
    server.route("GET", "/api/v1/models", Reply(200, {"items": []}))
    settings = settings_for(civitai=server.url, order=("civitai",))
    settings = settings.model_copy(
        update={"search": settings.search.model_copy(update={"offline": True})}
    )
    with resolver_for(settings, home, client, offline=False) as resolver:
        result = resolver.search(SearchRequest("x.safetensors", "loras"))
    assert (result.status, result.backend) == (Status.NOT_FOUND, "civitai")
    assert server.count() > 0


def test_no_backend_at_all_says_so(home: Home, client: httpx.Client) -> None:
    with resolver_for(settings_for(), home, client, backend_order=[]) as resolver:
        result = resolver.search(SearchRequest("x.safetensors", None))
    assert (result.status, result.reason) == (Status.NOT_FOUND, "no backend ran")


def test_the_huggingface_backend_can_be_listed(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    from .test_huggingface import serve_upscalers

    serve_upscalers(server)
    settings = settings_for(huggingface=server.url, order=("huggingface",))
    with resolver_for(settings, home, client) as resolver:
        found = resolver.search(SearchRequest("4x-UltraSharp.pth", "upscale_models"))
        gated = resolver.search(SearchRequest("secret.safetensors", None))
    assert (found.status, found.backend) == (Status.FOUND, "huggingface")
    assert (gated.status, gated.reason) == (Status.ERROR, "gated")


def test_a_qwen_server_that_times_out_is_asked_once_per_run_not_once_per_model(
    server: ReplayServer, second_server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("POST", CHAT, Reply(200, recording("qwen_answer_empty.json"), delay=LATE))
    second_server.route("GET", SEARCH, Reply(200, {"items": []}))
    settings = settings_for(civitai=second_server.url, qwen=f"{server.url}/v1")
    settings.qwen.timeout_seconds = 0.1
    requests = [SearchRequest(f"slow_{number}.safetensors", "loras") for number in range(4)]
    with resolver_for(settings, home, client) as resolver:
        results = resolver.search_multiple_models(requests)
    # One model's ask plus its single retry; every other model skips the slow server.
    assert server.count(CHAT) == 2
    assert all(result.errors == ("qwen: timeout",) for result in results.values())


def test_a_backend_asking_to_wait_beyond_the_cap_is_marked_down_and_its_error_cached_so_long(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("GET", SEARCH, Reply(429, {"error": "slow down"}, {"Retry-After": "7200"}))
    settings = settings_for(civitai=server.url, order=("civitai",))
    requests = [SearchRequest(f"limited_{number}.safetensors", "loras") for number in range(5)]
    with resolver_for(
        settings, home, client, http_options=dataclasses.replace(FAST, retry_after_cap_seconds=60.0)
    ) as resolver:
        results = resolver.search_multiple_models(requests)
    # One request in all: the first answer marks Civitai down for the rest of the run.
    assert server.count(SEARCH) == 1
    assert {(result.status, result.reason) for result in results.values()} == {
        (Status.ERROR, "rate_limited")
    }
    entries = json.loads(home.resolution_cache.read_text(encoding="utf-8"))["entries"]
    assert len(entries) == len(requests)
    for entry in entries.values():
        kept = datetime.fromisoformat(entry["expires_at"]) - datetime.fromisoformat(
            entry["stored_at"]
        )
        # The error time-to-live is 30 minutes; Civitai asked for two hours.
        assert kept >= timedelta(seconds=7200) - timedelta(seconds=5)
    # The next cycle does not ask the host that asked to be left alone.
    with resolver_for(settings, home, client) as resolver:
        again = resolver.search_multiple_models(requests)
    assert server.count(SEARCH) == 1
    assert {result.reason for result in again.values()} == {"rate_limited"}


@pytest.mark.parametrize("backend", ["civitai", "huggingface"])
def test_a_listing_backend_that_times_out_costs_one_retry_set_per_run_not_one_per_model(
    server: ReplayServer, home: Home, client: httpx.Client, backend: str
) -> None:
    path = SEARCH if backend == "civitai" else "/api/models"
    server.route("GET", path, Reply(200, {"items": []}, delay=LATE))
    settings = settings_for(**{backend: server.url}, order=(backend,))
    requests = [SearchRequest(f"hung_{number}.safetensors", "loras") for number in range(5)]
    with resolver_for(
        settings, home, client, http_options=dataclasses.replace(FAST, timeout_seconds=0.1)
    ) as resolver:
        results = resolver.search_multiple_models(requests)
    # One model's first request and its retries; every other model skips the hung service.
    assert server.count(path) == FAST.max_retries + 1
    assert {(result.status, result.reason) for result in results.values()} == {
        (Status.ERROR, "timeout")
    }


def test_a_known_source_in_doubt_lets_the_backends_settle_it_by_the_same_rules(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    catalogue = KnownSources()
    catalogue.add_model("ae.safetensors", "https://example.invalid/vae", "vae", source="w")
    checkpoint = {
        "items": [
            {
                "id": 9,
                "type": "Checkpoint",
                "name": "AE",
                "modelVersions": [
                    {"files": [{"name": "ae.safetensors", "downloadUrl": "https://c.invalid/9"}]}
                ],
            }
        ]
    }
    server.route("GET", SEARCH, Reply(200, checkpoint), query={"query": "ae"})
    server.route("GET", SEARCH, Reply(200, {"items": []}))
    settings = settings_for(civitai=server.url, order=("civitai",))
    with resolver_for(settings, home, client, known_sources=catalogue) as resolver:
        settled = resolver.search(SearchRequest("ae.safetensors", "checkpoints"))
        doubt = resolver.search(SearchRequest("ae.safetensors", "loras"))
    assert (settled.status, settled.download_url) == (Status.FOUND, "https://c.invalid/9")
    assert "https://example.invalid/vae" in [candidate.url for candidate in settled.candidates]
    # For a LoRA loader neither the catalogue's VAE nor Civitai's checkpoint will do.
    assert doubt.status is Status.UNCERTAIN
    assert {candidate.url for candidate in doubt.candidates} == {
        "https://example.invalid/vae",
        "https://c.invalid/9",
    }
