"""Qwen proposes, listings verify: a scripted OpenAI-compatible server plays the model."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from watchman.errors import BackendError
from watchman.remote.gateway import HttpGateway
from watchman.resolve.civitai import CivitaiBackend
from watchman.resolve.health import HealthBoard
from watchman.resolve.huggingface import HuggingFaceBackend
from watchman.resolve.model import SearchRequest, Status
from watchman.resolve.qwen import QwenBackend

from .servers import ReplayServer, Reply, recording, refused_url
from .test_huggingface import serve_upscalers

CHAT = "/v1/chat/completions"


def qwen_backend(
    chat_url: str, listings: ReplayServer, gateway: HttpGateway, max_tool_calls: int = 3
) -> QwenBackend:
    return QwenBackend(
        gateway,
        f"{chat_url}/v1",
        "qwen3:8b",
        civitai=CivitaiBackend(gateway, listings.url, max_search_terms=2),
        huggingface=HuggingFaceBackend(gateway, listings.url, max_repos=3),
        timeout_seconds=2.0,
        connect_timeout_seconds=0.5,
        max_tool_calls=max_tool_calls,
        health=HealthBoard(("civitai", "huggingface"), lambda: datetime.now(timezone.utc)),
    )


def script_one_civitai_tool_call(chat: ReplayServer, listings: ReplayServer) -> None:
    """Qwen first calls the Civitai search tool, then proposes nothing; the Civitai listing
    holds one LoRA, "Add More Details", whose version lists add_detail.safetensors."""
    chat.route(
        "POST",
        CHAT,
        Reply(200, recording("qwen_tool_call_civitai.json")),
        Reply(200, recording("qwen_answer_empty.json")),
    )
    add_more_details = {
        "id": 201,
        "type": "LORA",
        "name": "Add More Details",
        "modelVersions": [recording("civitai_version_by_hash.json")],
    }
    listings.route("GET", "/api/v1/models", Reply(200, {"items": [add_more_details]}))


def test_a_proposal_verified_by_the_hub_listing_is_found_by_qwen(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("POST", CHAT, Reply(200, recording("qwen_answer_repo.json")))
    serve_upscalers(second_server)
    result = qwen_backend(server.url, second_server, gateway).search(
        SearchRequest("4x-UltraSharp.pth", "upscale_models")
    )
    assert result.status is Status.FOUND
    assert result.backend == "qwen"
    assert "Hugging Face listing of acme/upscalers" in (result.detail or "")
    # The listing's URL, never the one Qwen wrote.
    assert result.download_url == (
        f"{second_server.url}/acme/upscalers/resolve/main/models/4x-UltraSharp.pth"
    )
    assert result.sha256 == "c3" * 32
    sent = server.requests[0].json()
    assert sent["model"] == "qwen3:8b"
    assert "4x-UltraSharp.pth" in sent["messages"][1]["content"]


def test_an_invented_url_is_never_found_and_never_used(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("POST", CHAT, Reply(200, recording("qwen_answer_invented_url.json")))
    result = qwen_backend(server.url, second_server, gateway).search(
        SearchRequest("mystery_model.safetensors", "checkpoints")
    )
    assert result.status is Status.UNCERTAIN
    assert result.download_url is None and result.sha256 is None
    assert len(result.candidates) == 2
    assert all(candidate.url is None for candidate in result.candidates)
    assert "unverified" in (result.candidates[0].note or "")


def test_qwen_candidates_are_never_turned_into_not_found(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("POST", CHAT, Reply(200, recording("qwen_answer_repo.json")))
    second_server.route("GET", "/api/models/acme/upscalers/tree/main", Reply(200, []))
    result = qwen_backend(server.url, second_server, gateway).search(
        SearchRequest("4x-UltraSharp.pth", None)
    )
    assert result.status is Status.UNCERTAIN
    assert result.candidates[0].note is not None
    assert "acme/upscalers" in result.candidates[0].note


def test_no_proposal_at_all_is_not_found(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("POST", CHAT, Reply(200, recording("qwen_answer_empty.json")))
    result = qwen_backend(server.url, second_server, gateway).search(
        SearchRequest("unknown.safetensors", None)
    )
    assert result.status is Status.NOT_FOUND


def test_tool_calls_run_against_the_real_listings_and_their_exact_match_is_found(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    script_one_civitai_tool_call(server, second_server)
    result = qwen_backend(server.url, second_server, gateway).search(
        SearchRequest("add_detail.safetensors", None)
    )
    assert result.status is Status.FOUND
    assert result.backend == "qwen"
    assert second_server.requests[0].query["query"] == ["Add More Details"]
    # Verified by the tool's own listing: no further chat round was needed.
    assert server.count(CHAT) == 1


def test_tool_results_go_back_to_the_model_as_tool_messages(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    script_one_civitai_tool_call(server, second_server)
    result = qwen_backend(server.url, second_server, gateway).search(
        SearchRequest("other_detail.safetensors", None)
    )
    assert result.status is Status.NOT_FOUND
    follow_up = server.requests[1].json()["messages"]
    assert follow_up[-1]["role"] == "tool" and "add_detail.safetensors" in follow_up[-1]["content"]


def test_tool_calls_are_bounded(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("POST", CHAT, Reply(200, recording("qwen_tool_call_civitai.json")))
    second_server.route("GET", "/api/v1/models", Reply(200, {"items": []}))
    with pytest.raises(BackendError) as raised:
        qwen_backend(server.url, second_server, gateway, max_tool_calls=2).search(
            SearchRequest("add_detail.safetensors", None)
        )
    # Two tool rounds, then a last ask without tools whose answer has no JSON.
    assert raised.value.reason == "bad_response"
    assert second_server.count("/api/v1/models") == 2
    assert server.count(CHAT) == 3
    assert "tools" not in server.requests[-1].json()


def test_prose_without_json_is_a_bad_response(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("POST", CHAT, Reply(200, recording("qwen_answer_prose.json")))
    with pytest.raises(BackendError) as raised:
        qwen_backend(server.url, second_server, gateway).search(
            SearchRequest("a.safetensors", None)
        )
    assert raised.value.reason == "bad_response"


def test_a_server_that_is_down_is_an_unreachable_error_without_retries(
    second_server: ReplayServer, client: httpx.Client
) -> None:
    waits: list[float] = []
    gateway = HttpGateway(client, sleep=waits.append)
    with pytest.raises(BackendError) as raised:
        qwen_backend(refused_url(), second_server, gateway).search(
            SearchRequest("a.safetensors", None)
        )
    assert raised.value.reason == "unreachable"
    assert waits == []


def test_a_gated_file_verified_through_a_proposal_keeps_auth_required(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("POST", CHAT, Reply(200, recording("qwen_answer_repo.json")))
    serve_upscalers(second_server)
    second_server.route(
        "GET", "/api/models/acme/upscalers", Reply(200, recording("hf_model_info_gated.json"))
    )
    result = qwen_backend(server.url, second_server, gateway).search(
        SearchRequest("4x-UltraSharp.pth", "upscale_models")
    )
    assert (result.status, result.backend, result.reason) == (
        Status.FOUND,
        "qwen",
        "auth_required",
    )
    assert "gated" in (result.detail or "")
