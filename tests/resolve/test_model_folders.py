"""A request for a model folder asks no source and is never FOUND: a known repository is
UNCERTAIN with the command that fetches it, anything else NOT_FOUND."""

from __future__ import annotations

from datetime import datetime, timezone

from watchman.resolve import KnownSources, Resolver, SearchRequest, SearchResult, Status
from watchman.resolve.model import result_for
from watchman.resolve.model_folders import folder_result, folder_source


class FindsEverything:
    """A backend whose listing would claim any name: it must never be asked for a folder."""

    name = "civitai"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def search(self, request: SearchRequest) -> SearchResult:
        self.asked.append(request.value)
        return result_for(request, Status.FOUND, self.name, download_url="https://x.invalid/f")


def _resolver(backend: FindsEverything, known: KnownSources | None = None) -> Resolver:
    return Resolver(
        known_sources=known or KnownSources(),
        backends={"civitai": backend},
        backend_order=["civitai"],
        now=lambda: datetime(2026, 12, 1, tzinfo=timezone.utc),
    )


def test_a_folder_request_asks_no_backend_and_a_file_request_still_does() -> None:
    backend = FindsEverything()
    with _resolver(backend) as resolver:
        folder = resolver.search(SearchRequest("Florence-2-large", "llm", folder_entry=True))
        assert backend.asked == []
        file = resolver.search(SearchRequest("x.safetensors", "loras"))
    assert backend.asked == ["x.safetensors"] and file.status is Status.FOUND
    assert folder.status is Status.UNCERTAIN and folder.download_url is None


def test_a_florence2_folder_is_likely_the_repository_the_pack_downloads_it_from() -> None:
    result = folder_result(SearchRequest("Florence-2-large-ft", "llm", folder_entry=True))
    assert result.status is Status.UNCERTAIN
    assert result.reason is not None and "microsoft/Florence-2-large-ft" in result.reason
    [candidate] = result.candidates
    assert candidate.url is None
    assert candidate.note is not None and candidate.note.endswith(
        "huggingface-cli download microsoft/Florence-2-large-ft "
        "--local-dir models/LLM/Florence-2-large-ft"
    )


def test_a_part_of_a_repository_is_fetched_into_the_folders_directory() -> None:
    source = folder_source("ace_step", "music_vocoder")
    assert source is not None
    assert source.command("ace_step", "music_vocoder") == (
        "huggingface-cli download ACE-Step/ACE-Step-v1-3.5B --include 'music_vocoder/*' "
        "--local-dir models/TTS/ACE-Step-v1-3.5B"
    )


def test_a_hub_cache_name_suggests_its_repository_and_other_names_nothing() -> None:
    source = folder_source("llm", "models--Qwen--Qwen2.5-VL-3B-Instruct")
    assert source is not None and source.repo == "Qwen/Qwen2.5-VL-3B-Instruct"
    assert folder_source("llm", "models--a--b--c") is None
    assert folder_source("llm", "my-own-finetune") is None
    assert folder_source(None, "Florence-2-large") is None
    # The same name in another folder type is not that pack's download.
    assert folder_source("checkpoints", "Florence-2-large") is None
    unknown = folder_result(SearchRequest("my-own-finetune", "llm", folder_entry=True))
    assert unknown.status is Status.NOT_FOUND and unknown.reason == "model folder"
    assert unknown.detail is not None and "models/LLM/my-own-finetune" in unknown.detail
