"""The backend side of one polite gateway (issue 10 rule 7): each backend's answer cached
on its own, errors never cached past their longest time-to-live, Qwen's tool calls and
proposal checks held back by the same marked-down state, a thinking model's braces, and a
proposal whose model id is gone."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from watchman.errors import BackendError
from watchman.home import Home
from watchman.remote.gateway import HttpGateway
from watchman.resolve.model import SearchRequest, Status
from watchman.resolve.qwen import QwenBackend

from .conftest import resolver_for, settings_for
from .servers import ReplayServer, Reply, recording, refused_url
from .test_qwen import CHAT, qwen_backend

SEARCH = "/api/v1/models"


def chat_answer(content: str | None, tool_calls: list[dict[str, Any]] | None = None) -> Reply:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return Reply(200, {"choices": [{"index": 0, "message": message}]})


def civitai_tool_call(query: str, number: int = 1) -> dict[str, Any]:
    return {
        "id": f"call_{number}",
        "type": "function",
        "function": {"name": "search_civitai", "arguments": json.dumps({"query": query})},
    }


def kept_for(home: Home) -> dict[str, timedelta]:
    """How long each cache entry is kept, by its key."""
    entries = json.loads(home.resolution_cache.read_text(encoding="utf-8"))["entries"]
    return {
        key: datetime.fromisoformat(entry["expires_at"])
        - datetime.fromisoformat(entry["stored_at"])
        for key, entry in entries.items()
    }


def test_an_unreachable_qwen_never_shortens_how_long_civitai_s_answer_is_kept(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("GET", SEARCH, Reply(200, {"items": []}))
    settings = settings_for(civitai=server.url, qwen=f"{refused_url()}/v1")
    request = SearchRequest("missing.safetensors", "loras")
    with resolver_for(settings, home, client) as resolver:
        result = resolver.search(request)
    assert (result.status, result.errors) == (Status.NOT_FOUND, ("qwen: unreachable",))
    kept = kept_for(home)
    assert kept[f"{request.key}@civitai"] >= timedelta(hours=23)
    assert kept[f"{request.key}@qwen"] <= timedelta(minutes=31)
    # The next cycle asks only the backend whose answer expired: Civitai's is still fresh.
    sent = server.count(SEARCH)
    with resolver_for(settings, home, client) as resolver:
        again = resolver.search(request)
    assert again.status is Status.NOT_FOUND
    assert server.count(SEARCH) == sent


def test_a_cached_found_of_a_later_backend_answers_without_asking_the_earlier_one(
    server: ReplayServer, second_server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("GET", SEARCH, Reply(200, recording("civitai_models_search.json")))
    settings = settings_for(civitai=server.url, qwen=f"{refused_url()}/v1")
    request = SearchRequest("DreamShaper_8_pruned.safetensors", "checkpoints")
    with resolver_for(settings, home, client) as resolver:
        assert resolver.search(request).status is Status.FOUND
    # Qwen now answers, but its cached error expired or not, Civitai's FOUND stands.
    second_server.route("POST", CHAT, Reply(200, recording("qwen_answer_empty.json")))
    later = settings_for(civitai=server.url, qwen=f"{second_server.url}/v1")
    with resolver_for(later, home, client) as resolver:
        assert resolver.search(request).status is Status.FOUND
    assert second_server.count() == 0


def test_an_absurd_retry_after_is_an_error_cached_no_longer_than_the_longest_error_ttl(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("GET", SEARCH, Reply(429, {"error": "go away"}, {"Retry-After": "9" * 40}))
    settings = settings_for(civitai=server.url, order=("civitai",))
    request = SearchRequest("limited.safetensors", "loras")
    with resolver_for(settings, home, client) as resolver:
        result = resolver.search(request)
    assert (result.status, result.reason) == (Status.ERROR, "rate_limited")
    longest = timedelta(hours=settings.search.cache_ttl.error_max_hours)
    assert timedelta(0) < kept_for(home)[f"{request.key}@civitai"] <= longest + timedelta(seconds=5)


def test_a_civitai_failing_with_5xx_after_retries_is_marked_down_for_the_run(
    server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route("GET", SEARCH, Reply(503, b"busy"))
    settings = settings_for(civitai=server.url, order=("civitai",))
    requests = [SearchRequest(f"m_{number}.safetensors", "loras") for number in range(4)]
    with resolver_for(settings, home, client) as resolver:
        results = resolver.search_multiple_models(requests)
    assert {(result.status, result.reason) for result in results.values()} == {
        (Status.ERROR, "server_error")
    }
    # One model's request and its retries; the others are not sent at all.
    assert server.count(SEARCH) == 3


def test_qwen_s_tool_calls_stop_reaching_civitai_once_it_asked_to_be_left_alone(
    server: ReplayServer, second_server: ReplayServer, home: Home, client: httpx.Client
) -> None:
    server.route(
        "POST",
        CHAT,
        chat_answer(None, [civitai_tool_call("first"), civitai_tool_call("second", 2)]),
        chat_answer('{"candidates": []}'),
    )
    second_server.route("GET", SEARCH, Reply(429, {"error": "later"}, {"Retry-After": "3600"}))
    settings = settings_for(civitai=second_server.url, qwen=f"{server.url}/v1")
    requests = [SearchRequest(f"tool_{number}.safetensors", "loras") for number in range(3)]
    with resolver_for(settings, home, client) as resolver:
        results = resolver.search_multiple_models(requests)
    # The first tool call met the 429 and marked Civitai down: no tool call, no proposal
    # check and no Civitai backend request reached it after that.
    assert second_server.count(SEARCH) == 1
    for result in results.values():
        assert result.status is Status.ERROR or "civitai: rate_limited" in result.errors


def test_a_thinking_block_with_braces_before_the_answer_is_skipped(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    thinking = (
        '<think>The user wants {a file}. Maybe {"candidates": [oops]} or '
        '{"source": "civitai"}... let me answer.</think>\n'
        '```json\n{"candidates": [{"source": "civitai", "query": "Add More Details"}]}\n```'
    )
    server.route("POST", CHAT, chat_answer(thinking))
    add_more_details = {
        "id": 201,
        "type": "LORA",
        "name": "Add More Details",
        "modelVersions": [recording("civitai_version_by_hash.json")],
    }
    second_server.route("GET", SEARCH, Reply(200, {"items": [add_more_details]}))
    result = qwen_backend(server.url, second_server, gateway).search(
        SearchRequest("add_detail.safetensors", "loras")
    )
    assert result.status is Status.FOUND
    assert result.download_url == "https://civitai.com/api/download/models/2001"


def test_an_unclosed_thinking_block_without_an_answer_is_a_bad_response(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("POST", CHAT, chat_answer('<think>I wonder {"candidates": []} if'))
    backend: QwenBackend = qwen_backend(server.url, second_server, gateway)
    with pytest.raises(BackendError) as raised:
        backend.search(SearchRequest("x.safetensors", "loras"))
    assert raised.value.reason == "bad_response"


def test_a_proposed_model_id_that_is_gone_still_lets_the_proposal_s_query_be_tried(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    proposal = '{"candidates": [{"source": "civitai", "model_id": 999, "query": "Add Details"}]}'
    server.route("POST", CHAT, chat_answer(proposal))
    second_server.route("GET", "/api/v1/models/999", Reply(404, {"error": "No model"}))
    add_more_details = {
        "id": 201,
        "type": "LORA",
        "name": "Add More Details",
        "modelVersions": [recording("civitai_version_by_hash.json")],
    }
    second_server.route("GET", SEARCH, Reply(200, {"items": [add_more_details]}))
    result = qwen_backend(server.url, second_server, gateway).search(
        SearchRequest("add_detail.safetensors", "loras")
    )
    assert result.status is Status.FOUND
    assert second_server.count("/api/v1/models/999") == 1
    assert second_server.requests[-1].query["query"] == ["Add Details"]


def test_a_generic_name_confirmed_only_through_a_qwen_proposal_is_never_found(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    proposal = '{"candidates": [{"source": "huggingface", "repo": "google/bert-base-uncased"}]}'
    server.route("POST", CHAT, chat_answer(proposal))
    second_server.route(
        "GET",
        "/api/models/google/bert-base-uncased/tree/main",
        Reply(200, [{"type": "file", "path": "pytorch_model.bin"}]),
    )
    result = qwen_backend(server.url, second_server, gateway).search(
        SearchRequest("pytorch_model.bin", "clip_vision")
    )
    assert result.status is Status.UNCERTAIN
    assert result.download_url is None
