"""The FOUND rules (issue 10), each shown on a catalogue and on a scripted Civitai listing:
the name, the folder, generic names, several files of one name, and hashes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from watchman.remote.gateway import HttpGateway
from watchman.resolve.civitai import CivitaiBackend
from watchman.resolve.known_sources import KnownSources
from watchman.resolve.model import SearchRequest, SearchResult, Status

from .servers import ReplayServer, Reply

SEARCH = "/api/v1/models"
SHA_A = "aa" * 32
SHA_B = "bb" * 32


def civitai_file(
    name: str,
    url: str,
    *,
    sha256: str | None = None,
    primary: bool | None = None,
    file_type: str = "Model",
    size_kb: Any = 1000.0,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "downloadUrl": url,
        "type": file_type,
        "sizeKB": size_kb,
        "hashes": {"SHA256": sha256.upper()} if sha256 else {},
    }
    if primary is not None:
        entry["primary"] = primary
    return entry


def listing(model_type: str, *files: dict[str, Any]) -> dict[str, Any]:
    return {
        "items": [
            {
                "id": 1,
                "name": "A model",
                "type": model_type,
                "modelVersions": [{"id": 11, "files": list(files)}],
            }
        ]
    }


def civitai_answering(
    server: ReplayServer, gateway: HttpGateway, answer: dict[str, Any]
) -> CivitaiBackend:
    server.route("GET", SEARCH, Reply(200, answer))
    return CivitaiBackend(gateway, server.url, max_search_terms=1)


def catalogue_of(*entries: tuple[str, str, str | None]) -> KnownSources:
    catalogue = KnownSources()
    for name, url, directory in entries:
        catalogue.add_model(name, url, directory, source="workflow other.json")
    return catalogue


def manager_catalogue(folder: Path, model_list: dict[str, Any]) -> KnownSources:
    """A catalogue read from a ComfyUI-Manager model-list.json written to ``folder``."""
    path = folder / "model-list.json"
    path.write_text(json.dumps(model_list), encoding="utf-8")
    catalogue = KnownSources()
    catalogue.add_model_list(path)
    return catalogue


def found_url(result: SearchResult | None) -> str | None:
    assert result is not None
    return result.download_url if result.status is Status.FOUND else None


# Rule 1: the name.


@pytest.mark.parametrize(
    "listed",
    [
        " x.safetensors",
        "x.safetensors ",
        "../../evil/x.safetensors/",
        "evil/x.safetensors",
        "evil\\x.safetensors",
        "x.safetensors/",
        "x.safetensor",
    ],
)
def test_a_listed_name_with_spaces_or_path_parts_never_matches(
    server: ReplayServer, gateway: HttpGateway, listed: str
) -> None:
    backend = civitai_answering(
        server, gateway, listing("LORA", civitai_file(listed, "https://c.invalid/1"))
    )
    result = backend.search(SearchRequest("x.safetensors", "loras"))
    assert result.status is not Status.FOUND


@pytest.mark.parametrize(
    ("wanted", "listed"),
    [("straße.safetensors", "strasse.safetensors"), ("ﬁne.safetensors", "fine.safetensors")],
)
def test_names_equal_only_under_unicode_folding_never_match(
    server: ReplayServer, gateway: HttpGateway, wanted: str, listed: str
) -> None:
    backend = civitai_answering(
        server, gateway, listing("LORA", civitai_file(listed, "https://c.invalid/1"))
    )
    assert backend.search(SearchRequest(wanted, "loras")).status is not Status.FOUND
    assert backend.search(SearchRequest(listed, "loras")).status is Status.FOUND
    catalogue = catalogue_of((listed, "https://c.invalid/1", "loras"))
    assert catalogue.lookup(SearchRequest(wanted, "loras")) is None


def test_an_ascii_case_variant_matches_when_it_is_the_only_file(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    backend = civitai_answering(
        server, gateway, listing("LORA", civitai_file("Foo_V2.SafeTensors", "https://c.invalid/1"))
    )
    result = backend.search(SearchRequest("foo_v2.safetensors", "loras"))
    assert found_url(result) == "https://c.invalid/1"


def test_an_exact_case_file_wins_over_a_case_variant_listed_first(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    backend = civitai_answering(
        server,
        gateway,
        listing(
            "LORA",
            civitai_file("FOO.safetensors", "https://c.invalid/upper", sha256=SHA_A),
            civitai_file("foo.safetensors", "https://c.invalid/exact", sha256=SHA_B),
        ),
    )
    result = backend.search(SearchRequest("foo.safetensors", "loras"))
    assert found_url(result) == "https://c.invalid/exact"
    catalogue = catalogue_of(
        ("FOO.safetensors", "https://c.invalid/upper", "loras"),
        ("foo.safetensors", "https://c.invalid/exact", "loras"),
    )
    assert found_url(catalogue.lookup(SearchRequest("foo.safetensors", "loras"))) == (
        "https://c.invalid/exact"
    )


# Rule 2: the folder.


def test_a_civitai_type_that_contradicts_the_loader_folder_is_uncertain_with_the_reason(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    backend = civitai_answering(
        server, gateway, listing("LORA", civitai_file("style.safetensors", "https://c.invalid/1"))
    )
    result = backend.search(SearchRequest("style.safetensors", "checkpoints"))
    assert result.status is Status.UNCERTAIN
    assert [candidate.url for candidate in result.candidates] == ["https://c.invalid/1"]
    assert "loras" in (result.candidates[0].note or "")
    assert "checkpoints" in (result.candidates[0].note or "")


def test_a_civitai_vae_file_inside_a_checkpoint_is_not_the_checkpoint(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    backend = civitai_answering(
        server,
        gateway,
        listing(
            "Checkpoint",
            civitai_file("model_vae.safetensors", "https://c.invalid/vae", file_type="VAE"),
        ),
    )
    assert backend.search(SearchRequest("model_vae.safetensors", "checkpoints")).status is (
        Status.UNCERTAIN
    )
    assert found_url(backend.search(SearchRequest("model_vae.safetensors", "vae"))) == (
        "https://c.invalid/vae"
    )


def test_a_civitai_checkpoint_may_be_loaded_as_a_diffusion_model(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    backend = civitai_answering(
        server, gateway, listing("Checkpoint", civitai_file("flux.safetensors", "https://c.i/1"))
    )
    result = backend.search(SearchRequest("flux.safetensors", "diffusion_models"))
    assert found_url(result) == "https://c.i/1"
    assert result.folder == "diffusion_models"


def test_a_catalogue_entry_of_another_folder_is_uncertain_not_found() -> None:
    catalogue = catalogue_of(("ae.safetensors", "https://c.invalid/vae", "vae"))
    result = catalogue.lookup(SearchRequest("ae.safetensors", "checkpoints"))
    assert result is not None and result.status is Status.UNCERTAIN
    assert [candidate.url for candidate in result.candidates] == ["https://c.invalid/vae"]
    assert "vae" in (result.detail or "") and "checkpoints" in (result.detail or "")


def test_a_manager_entry_in_another_subfolder_than_the_workflow_names_is_uncertain(
    tmp_path: Path,
) -> None:
    manager_list = {
        "models": [
            {
                "type": "controlnet",
                "save_path": "controlnet/SDXL",
                "filename": "canny.safetensors",
                "url": "https://c.invalid/sdxl",
            }
        ]
    }
    catalogue = manager_catalogue(tmp_path, manager_list)
    assert found_url(catalogue.lookup(SearchRequest("SDXL/canny.safetensors", "controlnet")))
    assert found_url(catalogue.lookup(SearchRequest("canny.safetensors", "controlnet")))
    other = catalogue.lookup(SearchRequest("SD15/canny.safetensors", "controlnet"))
    assert other is not None and other.status is Status.UNCERTAIN
    assert "SDXL" in (other.detail or "")


def test_an_unknown_loader_folder_accepts_any_folder_evidence() -> None:
    catalogue = catalogue_of(("ae.safetensors", "https://c.invalid/vae", "vae"))
    assert found_url(catalogue.lookup(SearchRequest("ae.safetensors", None))) == (
        "https://c.invalid/vae"
    )


# Rule 3: generic names.


@pytest.mark.parametrize(
    "name",
    [
        "model.safetensors",
        "pytorch_model.bin",
        "diffusion_pytorch_model.safetensors",
        "lora.safetensors",
        "model-00001-of-00005.safetensors",
    ],
)
def test_a_generic_name_found_by_a_civitai_name_search_is_never_found(
    server: ReplayServer, gateway: HttpGateway, name: str
) -> None:
    backend = civitai_answering(
        server, gateway, listing("LORA", civitai_file(name, "https://c.invalid/1"))
    )
    result = backend.search(SearchRequest(name, "loras"))
    assert result.status is Status.UNCERTAIN
    assert "generic name" in (result.detail or "")


def test_a_generic_name_from_a_civitai_hash_lookup_is_found(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    version = {
        "model": {"type": "LORA", "name": "x"},
        "files": [civitai_file("lora.safetensors", "https://c.invalid/1", sha256=SHA_A)],
    }
    server.route("GET", f"/api/v1/model-versions/by-hash/{SHA_A}", Reply(200, version))
    backend = CivitaiBackend(gateway, server.url)
    result = backend.search(SearchRequest("lora.safetensors", "loras", embedded_hash=SHA_A))
    assert found_url(result) == "https://c.invalid/1"


def test_a_generic_name_needs_a_catalogue_entry_of_the_same_folder_and_subfolder(
    tmp_path: Path,
) -> None:
    catalogue = manager_catalogue(
        tmp_path,
        {
            "models": [
                {
                    "type": "clip",
                    "save_path": "text_encoders/t5-base",
                    "filename": "model.safetensors",
                    "url": "https://c.invalid/t5",
                }
            ]
        },
    )
    tied = catalogue.lookup(SearchRequest("t5-base/model.safetensors", "text_encoders"))
    assert found_url(tied) == "https://c.invalid/t5"
    for request in (
        SearchRequest("model.safetensors", "text_encoders"),
        SearchRequest("model.safetensors", "clip_vision"),
        SearchRequest("other/model.safetensors", "text_encoders"),
    ):
        result = catalogue.lookup(request)
        assert result is not None and result.status is Status.UNCERTAIN, request


def test_a_generic_name_with_the_workflow_s_own_url_is_found() -> None:
    url = "https://huggingface.co/a/b/resolve/main/image_encoder/model.safetensors"
    request = SearchRequest("model.safetensors", "clip_vision", embedded_url=url)
    assert found_url(KnownSources().lookup(request)) == url


# Rule 4: several files of one name.


def test_civitai_s_primary_file_wins_over_an_earlier_listed_other_file(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    backend = civitai_answering(
        server,
        gateway,
        listing(
            "Checkpoint",
            civitai_file("dream.safetensors", "https://c.invalid/fp32", sha256=SHA_A),
            civitai_file("dream.safetensors", "https://c.invalid/fp16", sha256=SHA_B, primary=True),
        ),
    )
    result = backend.search(SearchRequest("dream.safetensors", "checkpoints"))
    assert found_url(result) == "https://c.invalid/fp16"
    assert "https://c.invalid/fp32" in [candidate.url for candidate in result.candidates]


def test_the_workflow_s_hash_wins_over_the_primary_file(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    backend = civitai_answering(
        server,
        gateway,
        listing(
            "Checkpoint",
            civitai_file("dream.safetensors", "https://c.invalid/fp32", sha256=SHA_A),
            civitai_file("dream.safetensors", "https://c.invalid/fp16", sha256=SHA_B, primary=True),
        ),
    )
    # By-hash lookup answers 404: the name search decides with the workflow's hash.
    request = SearchRequest("dream.safetensors", "checkpoints", embedded_hash=SHA_A)
    assert found_url(backend.search(request)) == "https://c.invalid/fp32"


def test_two_different_files_of_one_name_without_primary_are_uncertain_listing_both(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    backend = civitai_answering(
        server,
        gateway,
        listing(
            "Checkpoint",
            civitai_file("dream.ckpt", "https://c.invalid/a", sha256=SHA_A),
            civitai_file("dream.ckpt", "https://c.invalid/b", sha256=SHA_B),
        ),
    )
    result = backend.search(SearchRequest("dream.ckpt", "checkpoints"))
    assert result.status is Status.UNCERTAIN
    assert {candidate.url for candidate in result.candidates} == {
        "https://c.invalid/a",
        "https://c.invalid/b",
    }


def test_the_file_whose_type_names_the_loader_folder_wins(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    answer = {
        "items": [
            listing("Checkpoint", civitai_file("x.safetensors", "https://c.i/ckpt", sha256=SHA_A))[
                "items"
            ][0],
            listing("VAE", civitai_file("x.safetensors", "https://c.i/vae", sha256=SHA_B))["items"][
                0
            ],
        ]
    }
    backend = civitai_answering(server, gateway, answer)
    assert found_url(backend.search(SearchRequest("x.safetensors", "vae"))) == "https://c.i/vae"


def test_catalogue_urls_for_one_name_are_found_only_when_they_are_one_file() -> None:
    hub_page = "https://huggingface.co/a/b/blob/main/x.safetensors"
    hub_file = "https://huggingface.co/a/b/resolve/main/x.safetensors?download=true"
    same = catalogue_of(("x.safetensors", hub_page, "loras"), ("x.safetensors", hub_file, "loras"))
    assert found_url(same.lookup(SearchRequest("x.safetensors", "loras"))) == hub_page
    different = catalogue_of(
        ("x.safetensors", hub_file, "loras"),
        ("x.safetensors", "https://example.invalid/x.safetensors", "loras"),
    )
    result = different.lookup(SearchRequest("x.safetensors", "loras"))
    assert result is not None and result.status is Status.UNCERTAIN
    assert len(result.candidates) == 2


# Rule 5: hashes.


def test_a_listing_hash_that_contradicts_the_workflow_s_is_uncertain_showing_both(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    backend = civitai_answering(
        server,
        gateway,
        listing("LORA", civitai_file("style.safetensors", "https://c.invalid/1", sha256=SHA_B)),
    )
    result = backend.search(SearchRequest("style.safetensors", "loras", embedded_hash=SHA_A))
    assert result.status is Status.UNCERTAIN
    note = " ".join(candidate.note or "" for candidate in result.candidates)
    assert SHA_A in note and SHA_B in note


def test_a_catalogue_hash_that_contradicts_the_workflow_s_is_uncertain() -> None:
    catalogue = KnownSources()
    catalogue.add_model("s.safetensors", "https://c.invalid/1", "loras", SHA_B, "sha256")
    result = catalogue.lookup(SearchRequest("s.safetensors", "loras", embedded_hash=SHA_A))
    assert result is not None and result.status is Status.UNCERTAIN
    assert SHA_A in (result.detail or "") and SHA_B in (result.detail or "")


def test_a_listing_without_a_hash_does_not_contradict_the_workflow_s(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    backend = civitai_answering(
        server, gateway, listing("LORA", civitai_file("style.safetensors", "https://c.invalid/1"))
    )
    result = backend.search(SearchRequest("style.safetensors", "loras", embedded_hash=SHA_A))
    assert found_url(result) == "https://c.invalid/1"


def test_a_generic_name_from_another_workflow_s_entry_without_a_directory_is_not_found() -> None:
    catalogue = catalogue_of(("model.safetensors", "https://c.invalid/te", None))
    result = catalogue.lookup(SearchRequest("model.safetensors", "clip_vision"))
    assert result is not None and result.status is Status.UNCERTAIN
    same_folder = catalogue_of(("model.safetensors", "https://c.invalid/cv", "clip_vision"))
    assert found_url(same_folder.lookup(SearchRequest("model.safetensors", "clip_vision"))) == (
        "https://c.invalid/cv"
    )
    in_a_subfolder = same_folder.lookup(SearchRequest("sub/model.safetensors", "clip_vision"))
    assert in_a_subfolder is not None and in_a_subfolder.status is Status.UNCERTAIN


def test_catalogue_names_with_path_parts_are_never_stripped_into_a_match(
    tmp_path: Path,
) -> None:
    catalogue = manager_catalogue(
        tmp_path,
        {
            "models": [
                {
                    "type": "lora",
                    "save_path": "default",
                    "filename": "../../evil/x.safetensors",
                    "url": "https://c.invalid/evil",
                },
                {
                    "type": "lora",
                    "save_path": "default",
                    "filename": "sub/x.safetensors",
                    "url": "https://c.invalid/sub",
                },
            ]
        },
    )
    assert catalogue.lookup(SearchRequest("x.safetensors", "loras")) is None
    catalogue.add_model("../x.safetensors", "https://c.invalid/up", "loras")
    catalogue.add_model("x.safetensors/", "https://c.invalid/slash", "loras")
    assert catalogue.lookup(SearchRequest("x.safetensors", "loras")) is None


def test_a_workflow_entry_named_with_a_subfolder_claims_that_subfolder() -> None:
    catalogue = catalogue_of(("flux/x.safetensors", "https://c.invalid/flux", "loras"))
    assert found_url(catalogue.lookup(SearchRequest("flux/x.safetensors", "loras")))
    other = catalogue.lookup(SearchRequest("sdxl/x.safetensors", "loras"))
    assert other is not None and other.status is Status.UNCERTAIN


def test_doubt_in_one_civitai_answer_is_not_lifted_by_a_later_answer_listing_one_file(
    server: ReplayServer, gateway: HttpGateway
) -> None:
    both = listing(
        "Checkpoint",
        civitai_file("dream_v2.ckpt", "https://c.invalid/a", sha256=SHA_A),
        civitai_file("dream_v2.ckpt", "https://c.invalid/b", sha256=SHA_B),
    )
    one = listing("Checkpoint", civitai_file("dream_v2.ckpt", "https://c.invalid/a", sha256=SHA_A))
    server.route("GET", SEARCH, Reply(200, both), query={"query": "dream_v2"})
    server.route("GET", SEARCH, Reply(200, one))
    backend = CivitaiBackend(gateway, server.url, max_search_terms=3)
    result = backend.search(SearchRequest("dream_v2.ckpt", "checkpoints"))
    assert result.status is Status.UNCERTAIN
    assert {candidate.url for candidate in result.candidates} >= {
        "https://c.invalid/a",
        "https://c.invalid/b",
    }
    assert server.count(SEARCH) == 1
