"""Tokens and API keys never leave their Authorization header: not in DEBUG logs, the
resolution cache, the results, or the text of any error, whether the services answer 401,
500, malformed JSON or success. Settings come from the environment as a user would set them,
including ``COMFYWATCHMAN_HUGGINGFACE__BASE_URL`` pointing at a local server."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from watchman.config_loading import load_settings
from watchman.errors import BackendError
from watchman.home import Home
from watchman.resolve import SearchRequest, Status

from .conftest import resolver_for
from .servers import ReplayServer, Reply, Seen, recording
from .test_huggingface import serve_upscalers

CIVITAI_SECRET = "civitai-secret-7f3a9c1e"
HF_SECRET = "hf-secret-2b8d4e6a"
QWEN_SECRET = "qwen-secret-5c1f0d9b"
SECRETS = (CIVITAI_SECRET, HF_SECRET, QWEN_SECRET)
CHAT = "/v1/chat/completions"
SEARCH = "/api/v1/models"


@pytest.fixture
def qwen_server() -> Iterator[ReplayServer]:
    with ReplayServer() as replay:
        yield replay


def civitai_answer(seen: Seen) -> Reply:
    term = (seen.query.get("query") or [""])[0].lower()
    if "dreamshaper" in term:
        return Reply(200, recording("civitai_models_search.json"))
    if "unauthorized" in term:
        return Reply(401, {"error": "Unauthorized"})
    if "broken" in term:
        return Reply(500, "Internal Server Error")
    if "garbled" in term:
        return Reply(200, b'{"items": [{"name": ')
    return Reply(200, {"items": []})


REQUESTS = [
    SearchRequest("DreamShaper_8_pruned.safetensors", "checkpoints"),
    SearchRequest("4x-UltraSharp.pth", "upscale_models"),
    SearchRequest("secret.safetensors", None),
    SearchRequest("unauthorized_model.safetensors", "loras"),
    SearchRequest("broken_model.safetensors", "loras"),
    SearchRequest("garbled_model.safetensors", "loras"),
]


def test_no_secret_reaches_logs_cache_results_or_errors(
    server: ReplayServer,
    second_server: ReplayServer,
    qwen_server: ReplayServer,
    home: Home,
    client: httpx.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    server.route("GET", SEARCH, handler=civitai_answer)
    serve_upscalers(second_server)
    qwen_server.route(
        "POST",
        CHAT,
        Reply(401, {"error": {"message": "Incorrect API key provided"}}),
        Reply(500, "model crashed"),
        Reply(200, b'{"choices": [{"message": '),
        Reply(200, recording("qwen_answer_empty.json")),
    )
    settings = load_settings(
        environ={
            "CIVITAI_API_TOKEN": CIVITAI_SECRET,
            "HF_TOKEN": HF_SECRET,
            "COMFYWATCHMAN_QWEN__API_KEY": QWEN_SECRET,
            "COMFYWATCHMAN_CIVITAI__BASE_URL": server.url,
            "COMFYWATCHMAN_HUGGINGFACE__BASE_URL": second_server.url,
            "COMFYWATCHMAN_QWEN__BASE_URL": f"{qwen_server.url}/v1",
            "COMFYWATCHMAN_SEARCH__BACKEND_ORDER": '["qwen", "civitai", "huggingface"]',
        }
    )
    assert settings.huggingface.base_url == second_server.url
    errors: list[str] = []
    with caplog.at_level(logging.DEBUG):
        with resolver_for(settings, home, client) as resolver:
            results = resolver.search_multiple_models(REQUESTS)
            # Errors raised straight from each backend, as a caller would see them.
            for name, request in (
                ("civitai", REQUESTS[3]),
                ("civitai", REQUESTS[4]),
                ("civitai", REQUESTS[5]),
                ("huggingface", REQUESTS[2]),
            ):
                with pytest.raises(BackendError) as raised:
                    resolver.backends[name].search(request)
                errors.append(repr(raised.value))
                errors.append("".join(traceback.format_exception(raised.value)))
    # The secrets were really in play: each service got its own, and only its own.
    assert server.requests[0].headers["authorization"] == f"Bearer {CIVITAI_SECRET}"
    assert second_server.requests[0].headers["authorization"] == f"Bearer {HF_SECRET}"
    assert qwen_server.requests[0].headers["authorization"] == f"Bearer {QWEN_SECRET}"
    statuses = {request.file_name: results[request.key].status for request in REQUESTS}
    assert statuses["DreamShaper_8_pruned.safetensors"] is Status.FOUND
    assert statuses["4x-UltraSharp.pth"] is Status.FOUND
    # Which model ends as ERROR depends on which worker meets a failing backend first;
    # the direct calls above are what prove each error path ran.
    logged = caplog.text + " ".join(str(record.__dict__) for record in caplog.records)
    cache_text = home.resolution_cache.read_text(encoding="utf-8")
    results_text = json.dumps([result.to_json() for result in results.values()])
    assert caplog.records and errors and cache_text
    for secret in SECRETS:
        assert secret not in logged
        assert secret not in cache_text
        assert secret not in results_text
        assert all(secret not in text for text in errors)
