"""Known sources against real data: every ComfyUI-Manager model-list entry resolved the way
the Manager installs it, and the coverage of the shared workflow corpus.

Both read ``../shared/corpus`` in place and skip, saying why, when it is absent; the rules
themselves are covered without it in ``test_rules.py``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.cycle_reader import read_as_the_cycle_does
from watchman.comfy.folders import is_model_file_name
from watchman.errors import WorkflowError
from watchman.resolve.evidence import contradiction, hub_claim, manager_claim
from watchman.resolve.known_sources import MANAGER_SOURCE, KnownSources
from watchman.resolve.model import SearchRequest, SearchResult, Status
from watchman.resolve.names import ascii_lower, file_name_of, is_generic_name
from watchman.resolve.urls import same_download

from .servers import CORPUS

MODEL_LIST = CORPUS / "comfyui" / "model-list.json"
WORKFLOWS = CORPUS / "workflows"
# Known-source FOUND on the corpus: 54 of 104 distinct (file, folder) references with the
# workflow reader of 2026-11-30 09:30, 55 of 116 with that of 09:45, each time exactly as
# many as the old bare-name rule found on the same references. Issue 10 measured 59 of
# 111 with an older reader that listed other references; the reader changes under other
# issues, so the floor is today's, and every reference the catalogue names but does not
# FOUND must be UNCERTAIN with its candidates and a reason (below).
COVERAGE_FLOOR = 54


def manager_entries() -> list[dict[str, Any]]:
    if not MODEL_LIST.is_file():
        pytest.skip(f"../shared/corpus is absent: {MODEL_LIST} is ComfyUI-Manager's model list")
    document = json.loads(MODEL_LIST.read_text(encoding="utf-8"))
    return [
        entry
        for entry in document["models"]
        if isinstance(entry, dict) and str(entry.get("url", "")).startswith("http")
    ]


def installed_as(entry: dict[str, Any]) -> SearchRequest:
    """The request a workflow makes for the file where the Manager installs it."""
    claim = manager_claim(entry.get("type"), entry.get("save_path"))
    folder = claim.folder
    value = f"{claim.subfolder}/{entry['filename']}" if claim.subfolder else entry["filename"]
    return SearchRequest(value, folder)


def test_every_manager_entry_resolves_to_its_own_url_by_folder_save_path_and_name() -> None:
    entries = manager_entries()
    catalogue = KnownSources()
    catalogue.add_model_list(MODEL_LIST)
    checked = 0
    for entry in entries:
        request = installed_as(entry)
        if request.folder is None:
            continue  # an unknown type with save_path "default": no folder to ask for
        result = catalogue.lookup(request)
        assert result is not None, entry["filename"]
        assert result.status is Status.FOUND, (request, result.detail)
        assert result.download_url is not None
        assert same_download(result.download_url, entry["url"]), (request, result.download_url)
        checked += 1
    assert checked > 500


def test_a_manager_name_asked_without_its_subfolder_is_found_only_when_surely_one_file() -> None:
    entries = manager_entries()
    catalogue = KnownSources()
    catalogue.add_model_list(MODEL_LIST)
    by_folder_and_name: dict[tuple[str, str], list[SearchRequest]] = defaultdict(list)
    urls: dict[tuple[str, str], list[str]] = defaultdict(list)
    for entry in entries:
        request = installed_as(entry)
        if request.folder is not None:
            by_folder_and_name[(request.folder, entry["filename"])].append(request)
            urls[(request.folder, entry["filename"])].append(entry["url"])
    uncertain = 0
    for (folder, name), requests in by_folder_and_name.items():
        result = catalogue.lookup(SearchRequest(name, folder))
        assert result is not None
        one_file = all(same_download(url, urls[(folder, name)][0]) for url in urls[(folder, name)])
        # A generic name is tied to its entry only by the entry's own subfolder.
        tied = not is_generic_name(name) or any(not request.subfolder for request in requests)
        if one_file and tied:
            assert result.status is Status.FOUND, (folder, name)
        else:
            uncertain += 1
            assert result.status is Status.UNCERTAIN, (folder, name, result.download_url)
            assert {candidate.url for candidate in result.candidates} >= set(urls[(folder, name)])
    # diffusion_pytorch_model.safetensors in controlnet, pytorch_lora_weights in loras ...
    assert uncertain >= 3


def test_the_issue_s_wrong_found_cases_from_the_manager_list_are_gone() -> None:
    manager_entries()
    catalogue = KnownSources()
    catalogue.add_model_list(MODEL_LIST)
    instantid = catalogue.lookup(
        SearchRequest("instantid/diffusion_pytorch_model.safetensors", "controlnet")
    )
    assert instantid is not None and instantid.download_url is not None
    assert "InstantX/InstantID" in instantid.download_url
    kolors = catalogue.lookup(
        SearchRequest("kolors/diffusion_pytorch_model.safetensors", "diffusion_models")
    )
    assert kolors is not None and kolors.download_url is not None
    assert "Kwai-Kolors/Kolors/resolve/main/unet/" in kolors.download_url
    for request in (
        SearchRequest("model.safetensors", "clip_vision"),
        SearchRequest("ae.safetensors", "checkpoints"),
    ):
        result = catalogue.lookup(request)
        assert result is None or result.status is not Status.FOUND, request


def corpus_catalogue_and_references() -> tuple[KnownSources, dict[tuple[str, str | None], Any]]:
    if not WORKFLOWS.is_dir() or not MODEL_LIST.is_file():
        pytest.skip(f"../shared/corpus is absent: {WORKFLOWS} holds the real workflows")
    catalogue = KnownSources()
    references: dict[tuple[str, str | None], Any] = {}
    for path in sorted(WORKFLOWS.iterdir()):
        try:
            parsed = read_as_the_cycle_does(path)
        except (WorkflowError, OSError):
            continue
        for model in parsed.embedded_models:
            if model.url:
                catalogue.add_model(
                    model.name,
                    model.url,
                    model.directory,
                    model.hash,
                    model.hash_type,
                    source=f"workflow {path.name}",
                )
        for reference in parsed.model_refs:
            key = (ascii_lower(file_name_of(reference.value)), reference.folder)
            references.setdefault(key, reference)
    catalogue.add_model_list(MODEL_LIST)
    return catalogue, references


def wrong_url(request: SearchRequest, result: SearchResult, own_url: str | None) -> str | None:
    """Say why a FOUND URL is not the requested file, by evidence the lookup did not use:
    the URL's own file name, and the folder its Hub path implies."""
    url = result.download_url or ""
    if own_url and not same_download(url, own_url):
        return f"the workflow itself names {own_url}"
    path = unquote(urlsplit(url).path)
    last = path.rsplit("/", 1)[-1]
    # The Manager saves a download under its own filename; anyone else names the file.
    renamed = result.backend == MANAGER_SOURCE
    if (
        is_model_file_name(last)
        and not renamed
        and ascii_lower(last) != ascii_lower(request.file_name)
    ):
        return f"the URL names {last}"
    parts = path.split("/")
    if "resolve" in parts:
        repo = "/".join(parts[1:3])
        hub_path = "/".join(parts[parts.index("resolve") + 2 :])
        conflict = contradiction(hub_claim(repo, hub_path), request.folder, "")
        if conflict:
            return conflict
    return None


def test_known_source_coverage_of_the_workflow_corpus_keeps_its_floor_with_no_wrong_url() -> None:
    catalogue, references = corpus_catalogue_and_references()
    found = 0
    wrong: list[str] = []
    for reference in references.values():
        embedded = reference.embedded
        request = SearchRequest(
            reference.value,
            reference.folder,
            embedded_url=embedded.url if embedded else None,
            embedded_hash=embedded.hash if embedded else None,
            embedded_hash_type=embedded.hash_type if embedded else None,
        )
        result = catalogue.lookup(request)
        if result is None or result.status is not Status.FOUND:
            # What the old bare-name rule would have called FOUND is never lost silently.
            if result is not None:
                assert result.status is Status.UNCERTAIN and result.candidates, request
                assert result.detail, request
            continue
        found += 1
        why = wrong_url(request, result, request.source_url)
        if why:
            wrong.append(f"{reference.value} ({reference.folder}): {result.download_url}: {why}")
    assert wrong == []
    assert found >= COVERAGE_FLOOR, f"{found} of {len(references)} references FOUND"
