"""Hugging Face: repository search, recursive paged trees with LFS hashes, gated repos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watchman.errors import BackendError
from watchman.remote.gateway import HttpGateway
from watchman.remote.origins import host_key
from watchman.resolve.huggingface import HuggingFaceBackend, parse_resolve_url
from watchman.resolve.model import SearchRequest, Status

from .servers import ReplayServer, Reply, recording

TREE = "/api/models/acme/upscalers/tree/main"


def hub(server: ReplayServer, gateway: HttpGateway) -> HuggingFaceBackend:
    return HuggingFaceBackend(gateway, server.url, max_repos=3, max_search_terms=2)


def serve_upscalers(server: ReplayServer) -> None:
    server.route("GET", "/api/models", Reply(200, recording("hf_models_search.json")))
    next_page = f'<{server.url}{TREE}?recursive=true&cursor=page2>; rel="next"'
    server.route(
        "GET",
        TREE,
        Reply(200, recording("hf_tree_upscalers_page2.json")),
        query={"cursor": "page2"},
    )
    server.route(
        "GET", TREE, Reply(200, recording("hf_tree_upscalers_page1.json"), {"Link": next_page})
    )
    server.route(
        "GET",
        "/api/models/acme/gated-models/tree/main",
        Reply(401, recording("hf_gated_401.json"), {"X-Error-Code": "GatedRepo"}),
    )


def test_an_exact_file_name_in_a_listing_is_found_with_resolve_url_size_and_sha256(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    serve_upscalers(server)
    result = hub(server, gateway).search(SearchRequest("4x-UltraSharp.pth", "upscale_models"))
    assert result.status is Status.FOUND
    assert result.backend == "huggingface"
    assert (
        result.download_url == f"{server.url}/acme/upscalers/resolve/main/models/4x-UltraSharp.pth"
    )
    assert (result.size, result.sha256) == (66961958, "c3" * 32)
    assert result.folder == "upscale_models"
    assert result.reason is None
    trees = [seen for seen in server.requests if seen.path == TREE]
    assert trees[0].query == {"recursive": ["true"]}


def test_the_next_page_of_a_tree_is_followed(server: ReplayServer, gateway: HttpGateway) -> None:
    serve_upscalers(server)
    result = hub(server, gateway).search(SearchRequest("realesrgan_X4PLUS.pth", None))
    assert result.status is Status.FOUND
    assert result.download_url is not None
    assert result.download_url.endswith("/resolve/main/models/deep/RealESRGAN_x4plus.pth")
    assert server.count(TREE) == 2


def test_a_different_extension_in_a_listing_is_only_a_candidate(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    serve_upscalers(server)
    result = hub(server, gateway).search(SearchRequest("4x-UltraSharp.safetensors", None))
    assert result.status is Status.UNCERTAIN
    assert [candidate.file_name for candidate in result.candidates] == ["4x-UltraSharp.pth"]
    assert result.download_url is None


def test_a_gated_repository_without_the_file_elsewhere_is_an_error_gated(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    serve_upscalers(server)
    with pytest.raises(BackendError) as raised:
        hub(server, gateway).search(SearchRequest("secret_model.safetensors", None))
    assert raised.value.reason == "gated"
    assert "acme/gated-models" in str(raised.value)


def test_nothing_listed_anywhere_is_not_found(server: ReplayServer, gateway: HttpGateway) -> None:
    server.route("GET", "/api/models", Reply(200, []))
    result = hub(server, gateway).search(SearchRequest("nothing_here.safetensors", None))
    assert result.status is Status.NOT_FOUND
    assert server.count("/api/models") == 2


def test_resolve_urls_are_parsed_only_on_the_configured_hub() -> None:
    base = "https://huggingface.co"
    assert parse_resolve_url(f"{base}/a/b/resolve/main/x/y.pth?download=true", base) == (
        "a/b",
        "x/y.pth",
    )
    assert parse_resolve_url("https://elsewhere.example/a/b/resolve/main/y.pth", base) is None
    assert parse_resolve_url(f"{base}/a/b", base) is None


def serve_bert(server: ReplayServer, corpus_api: Path) -> None:
    tree = json.loads(
        (corpus_api / "huggingface" / "tree_bert-base-uncased_dd4bc8b2.json").read_text()
    )
    server.route("GET", "/api/models", Reply(200, [{"id": "google/bert-base-uncased"}]))
    server.route("GET", "/api/models/google/bert-base-uncased/tree/main", Reply(200, tree))


def test_a_generic_name_found_by_searching_the_recorded_bert_tree_is_uncertain(
    corpus_api: Path, server: ReplayServer, gateway: HttpGateway
) -> None:
    serve_bert(server, corpus_api)
    result = hub(server, gateway).search(SearchRequest("pytorch_model.bin", "clip_vision"))
    assert result.status is Status.UNCERTAIN
    assert result.download_url is None
    assert [candidate.file_name for candidate in result.candidates] == ["pytorch_model.bin"]
    assert "generic name" in (result.detail or "")


def test_a_generic_name_with_the_workflow_s_sha256_in_the_recorded_tree_is_found(
    corpus_api: Path, server: ReplayServer, gateway: HttpGateway
) -> None:
    serve_bert(server, corpus_api)
    sha256 = "a7a17d6d844b5de815ccab5f42cad6d24496db3850a2a43d8258221018ce87d2"
    result = hub(server, gateway).search(
        SearchRequest("TF_MODEL.h5", None, embedded_hash=sha256.upper())
    )
    assert result.status is Status.FOUND
    assert (result.size, result.sha256) == (536063208, sha256)
    near = hub(server, gateway).search(SearchRequest("tf_model.safetensors", None))
    assert near.status is Status.UNCERTAIN


# Rule 6: the Hub's own answers are checked as hostile input.

UPSCALE_FILE = {
    "type": "file",
    "path": "4x-Foo.pth",
    "lfs": {"oid": "e5" * 32, "size": 1000},
}


def test_a_next_page_on_another_host_is_not_followed(
    server: ReplayServer, second_server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("GET", "/api/models", Reply(200, [{"id": "acme/upscalers"}]))
    elsewhere = f'<{second_server.url}{TREE}?cursor=2>; rel="next"'
    server.route("GET", TREE, Reply(200, [], {"Link": elsewhere}))
    second_server.route("GET", TREE, Reply(200, [UPSCALE_FILE]))
    result = hub(server, gateway).search(SearchRequest("4x-Foo.pth", "upscale_models"))
    assert result.status is Status.NOT_FOUND
    assert second_server.count() == 0


@pytest.mark.parametrize(
    "failures",
    [
        [Reply(404, {"error": "gone"})],
        [Reply(200, b"<html>not json</html>")],
        [Reply(200, {"error": "an object, not a list"})],
        # A 5xx that a retry cures is no reason to stop.
        [Reply(503, b"busy"), Reply(200, b"[")],
    ],
)
def test_a_failing_candidate_repository_is_skipped_and_the_next_one_answers(
    server: ReplayServer, gateway: HttpGateway, failures: list[Reply]
) -> None:
    server.route(
        "GET", "/api/models", Reply(200, [{"id": "acme/broken"}, {"id": "acme/upscalers"}])
    )
    server.route("GET", "/api/models/acme/broken/tree/main", *failures)
    server.route("GET", TREE, Reply(200, [UPSCALE_FILE]))
    result = hub(server, gateway).search(SearchRequest("4x-Foo.pth", "upscale_models"))
    assert result.status is Status.FOUND
    assert result.download_url == f"{server.url}/acme/upscalers/resolve/main/4x-Foo.pth"


def test_every_candidate_repository_answering_5xx_after_retries_is_an_error_never_an_answer(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("GET", "/api/models", Reply(200, [{"id": "acme/broken"}]))
    server.route("GET", "/api/models/acme/broken/tree/main", Reply(503, b"down"))
    with pytest.raises(BackendError) as raised:
        hub(server, gateway).search(SearchRequest("4x-Foo.pth", "upscale_models"))
    assert raised.value.reason == "server_error"


def test_a_repository_answering_5xx_for_good_is_skipped_and_the_next_one_is_found(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route(
        "GET", "/api/models", Reply(200, [{"id": "acme/broken"}, {"id": "acme/upscalers"}])
    )
    server.route("GET", "/api/models/acme/broken/tree/main", Reply(500, b"broken repo"))
    server.route("GET", TREE, Reply(200, [UPSCALE_FILE]))
    result = hub(server, gateway).search(SearchRequest("4x-Foo.pth", "upscale_models"))
    assert result.status is Status.FOUND, (result.reason, result.detail)
    assert result.download_url == f"{server.url}/acme/upscalers/resolve/main/4x-Foo.pth"
    # One repository's broken listing says nothing of the Hub: later calls still go out.
    assert not gateway.hosts.is_down(host_key(server.url))


def test_a_recorded_hostile_search_answer_yields_only_valid_repository_ids(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("GET", "/api/models", Reply(200, recording("hf_models_search_hostile.json")))
    assert hub(server, gateway).search_repos("anything") == ["acme/upscalers"]


@pytest.mark.parametrize(
    "repo_id",
    ["../..", "acme/..", "../acme", "acme/x/y", "acme", "-acme/x", "acme/x--y", "a b/c", "acme/"],
)
def test_search_results_that_are_not_repository_ids_are_never_asked_for(
    server: ReplayServer, gateway: HttpGateway, repo_id: str
) -> None:
    server.route("GET", "/api/models", Reply(200, [{"id": repo_id}, {"id": "acme/upscalers"}]))
    server.route("GET", TREE, Reply(200, [UPSCALE_FILE]))
    result = hub(server, gateway).search(SearchRequest("4x-Foo.pth", "upscale_models"))
    assert result.status is Status.FOUND
    asked = {seen.path for seen in server.requests}
    assert asked <= {"/api/models", TREE, "/api/models/acme/upscalers"}


def test_tree_entries_with_dot_dot_paths_or_absurd_sizes_are_read_safely(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("GET", "/api/models", Reply(200, [{"id": "acme/upscalers"}]))
    entries = [
        {"type": "file", "path": "../4x-Foo.pth"},
        {"type": "file", "path": "a//4x-Foo.pth"},
        {"type": "file", "path": "4x-Foo.pth", "size": 10**30, "lfs": {"oid": 5, "size": "x"}},
        {"type": "file", "path": ["not", "a", "path"]},
    ]
    server.route("GET", TREE, Reply(200, entries))
    result = hub(server, gateway).search(SearchRequest("4x-Foo.pth", "upscale_models"))
    assert result.status is Status.FOUND
    assert (result.size, result.sha256) == (None, None)
    assert result.download_url == f"{server.url}/acme/upscalers/resolve/main/4x-Foo.pth"


@pytest.mark.parametrize("token", [False, True])
def test_a_gated_repository_s_file_is_found_with_auth_required_and_the_token_state(
    server: ReplayServer, gateway: HttpGateway, token: bool
) -> None:
    server.route("GET", "/api/models", Reply(200, [{"id": "acme/upscalers"}]))
    server.route("GET", TREE, Reply(200, [UPSCALE_FILE]))
    server.route(
        "GET", "/api/models/acme/upscalers", Reply(200, recording("hf_model_info_gated.json"))
    )
    backend = HuggingFaceBackend(gateway, server.url, max_repos=3, token_configured=token)
    result = backend.search(SearchRequest("4x-Foo.pth", "upscale_models"))
    assert result.status is Status.FOUND
    assert result.reason == "auth_required"
    assert "gated (manual)" in (result.detail or "")
    assert ("a token is configured" in (result.detail or "")) is token
    assert ("no HF_TOKEN is configured" in (result.detail or "")) is not token


def test_an_ungated_repository_s_file_is_a_plain_found(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("GET", "/api/models", Reply(200, [{"id": "acme/upscalers"}]))
    server.route("GET", TREE, Reply(200, [UPSCALE_FILE]))
    server.route("GET", "/api/models/acme/upscalers", Reply(200, {"gated": False}))
    result = hub(server, gateway).search(SearchRequest("4x-Foo.pth", "upscale_models"))
    assert (result.status, result.reason) == (Status.FOUND, None)


def test_a_hub_path_folder_that_contradicts_the_loader_is_uncertain(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("GET", "/api/models", Reply(200, [{"id": "acme/flux"}]))
    server.route(
        "GET",
        "/api/models/acme/flux/tree/main",
        Reply(200, [{"type": "file", "path": "text_encoder/flux-te.safetensors"}]),
    )
    result = hub(server, gateway).search(SearchRequest("flux-te.safetensors", "clip_vision"))
    assert result.status is Status.UNCERTAIN
    assert "text_encoders" in (result.detail or "")


def test_two_repositories_with_different_files_of_one_name_are_uncertain(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    server.route("GET", "/api/models", Reply(200, [{"id": "acme/a"}, {"id": "acme/b"}]))
    for repo, sha in (("a", "a1"), ("b", "b1")):
        server.route(
            "GET",
            f"/api/models/acme/{repo}/tree/main",
            Reply(200, [{"type": "file", "path": "x.pth", "lfs": {"oid": sha * 32}}]),
        )
    result = hub(server, gateway).search(SearchRequest("x.pth", "upscale_models"))
    assert result.status is Status.UNCERTAIN
    assert len(result.candidates) == 2


def test_a_repository_answering_retry_after_beyond_the_cap_pauses_the_hub_and_is_an_error(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    # A Retry-After speaks of the client, not of one repository: the Hub asked this machine
    # to wait, so no other repository is asked either, and the answer is an error to retry
    # later (never NOT_FOUND, which would be cached as a fact).
    server.route("GET", "/api/models", Reply(200, [{"id": "acme/busy"}, {"id": "acme/upscalers"}]))
    server.route(
        "GET", "/api/models/acme/busy/tree/main", Reply(503, b"busy", {"Retry-After": "3600"})
    )
    server.route("GET", TREE, Reply(200, [UPSCALE_FILE]))
    with pytest.raises(BackendError) as raised:
        hub(server, gateway).search(SearchRequest("4x-Foo.pth", "upscale_models"))
    assert raised.value.reason == "rate_limited"
    assert server.count(TREE) == 0
