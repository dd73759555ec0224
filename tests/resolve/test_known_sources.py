"""Known sources: embedded URLs, the same name in other workflows, installed template
packages and ComfyUI-Manager's model list; exact file names only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from watchman.resolve.known_sources import KnownSources
from watchman.resolve.model import SearchRequest, Status

from .servers import CORPUS

SHA = "ab" * 32


def test_a_url_embedded_in_the_requesting_workflow_is_found_with_its_hash() -> None:
    request = SearchRequest(
        "vae\\ae.safetensors",
        "vae",
        embedded_url="https://huggingface.co/x/y/resolve/main/ae.safetensors",
        embedded_hash=SHA.upper(),
        embedded_hash_type="SHA256",
    )
    result = KnownSources().lookup(request)
    assert result is not None
    assert result.status is Status.FOUND
    assert (result.backend, result.download_url) == ("workflow", request.embedded_url)
    assert (result.sha256, result.subfolder) == (SHA, "vae")


def test_the_same_file_name_embedded_in_another_workflow_is_found_with_its_source() -> None:
    catalogue = KnownSources()
    catalogue.add_model(
        "Flux_Turbo.safetensors",
        "https://example.invalid/flux_turbo",
        "loras",
        source="workflow:b.json",
    )
    result = catalogue.lookup(SearchRequest("FLUX_turbo.safetensors", "loras"))
    assert result is not None and result.status is Status.FOUND
    assert result.backend == "workflow:b.json"
    assert catalogue.lookup(SearchRequest("Flux_Turbo.ckpt", "loras")) is None
    assert catalogue.lookup(SearchRequest("Flux_Turbo_v2.safetensors", "loras")) is None


def test_entries_without_a_web_url_are_ignored() -> None:
    catalogue = KnownSources()
    assert catalogue.add_model("a.safetensors", "file:///etc/passwd", "loras") is False
    assert catalogue.add_model("a.safetensors", None, "loras") is False
    assert catalogue.add_model("", "https://example.invalid/a", "loras") is False
    assert len(catalogue) == 0


def test_an_entry_of_the_requested_folder_is_preferred_and_the_others_kept() -> None:
    catalogue = KnownSources()
    catalogue.add_model("ae.safetensors", "https://example.invalid/other", "checkpoints")
    catalogue.add_model("ae.safetensors", "https://example.invalid/vae", "vae")
    result = catalogue.lookup(SearchRequest("ae.safetensors", "vae"))
    assert result is not None
    assert result.download_url == "https://example.invalid/vae"
    assert [candidate.url for candidate in result.candidates] == ["https://example.invalid/other"]


def write_fake_comfyui(root: Path) -> None:
    site = root / "venv" / "lib" / "python3.12" / "site-packages"
    templates = site / "comfyui_workflow_templates_media_image" / "templates"
    templates.mkdir(parents=True)
    workflow = {
        "nodes": [],
        "definitions": {
            "subgraphs": [
                {
                    "nodes": [
                        {
                            "type": "UNETLoader",
                            "properties": {
                                "models": [
                                    {
                                        "name": "template_unet.safetensors",
                                        "url": "https://example.invalid/template_unet.safetensors",
                                        "directory": "unet",
                                        "hash": SHA,
                                        "hash_type": "sha256",
                                    }
                                ]
                            },
                        }
                    ]
                }
            ]
        },
        "models": [{"name": "top_level.safetensors", "url": "https://example.invalid/top"}],
    }
    (templates / "flux_template.json").write_text(json.dumps(workflow), encoding="utf-8")
    (templates / "broken.json").write_text("{", encoding="utf-8")
    (site / "comfyui_workflow_templates_media_image-0.3.1.dist-info").mkdir()
    manager = root / "custom_nodes" / "ComfyUI-Manager"
    manager.mkdir(parents=True)
    model_list = {
        "models": [
            {
                "name": "4x-UltraSharp",
                "type": "upscale",
                "save_path": "default",
                "filename": "4x-UltraSharp.pth",
                "url": "https://example.invalid/4x-UltraSharp.pth",
            },
            {
                "name": "canny",
                "type": "controlnet",
                "save_path": "controlnet/SDXL",
                "filename": "canny_sdxl.safetensors",
                "url": "https://example.invalid/canny_sdxl.safetensors",
            },
            "not a model",
        ]
    }
    (manager / "model-list.json").write_text(json.dumps(model_list), encoding="utf-8")


def test_template_packages_and_the_manager_model_list_beside_comfyui_are_read(
    tmp_path: Path,
) -> None:
    write_fake_comfyui(tmp_path / "ComfyUI")
    catalogue = KnownSources.from_comfyui(tmp_path / "ComfyUI")
    unet = catalogue.lookup(SearchRequest("template_unet.safetensors", None))
    assert unet is not None and unet.status is Status.FOUND
    assert unet.backend == "template:comfyui_workflow_templates_media_image"
    assert (unet.folder, unet.sha256) == ("diffusion_models", SHA)
    assert catalogue.lookup(SearchRequest("top_level.safetensors", None)) is not None
    upscaler = catalogue.lookup(SearchRequest("4x-UltraSharp.pth", None))
    assert upscaler is not None and upscaler.folder == "upscale_models"
    assert upscaler.backend == "comfyui-manager model-list.json"
    canny = catalogue.lookup(SearchRequest("canny_sdxl.safetensors", None))
    assert canny is not None and canny.folder == "controlnet"


def test_with_a_base_directory_the_catalogues_of_the_code_folder_still_count(
    tmp_path: Path,
) -> None:
    # The desktop app ships ComfyUI-Manager and its venv beside the code; the person's
    # folder holds the rest. Catalogues are not installed packs: both are read.
    write_fake_comfyui(tmp_path / "app" / "ComfyUI")
    (tmp_path / "files").mkdir()
    catalogue = KnownSources.from_comfyui(tmp_path / "app" / "ComfyUI", tmp_path / "files")
    assert catalogue.lookup(SearchRequest("4x-UltraSharp.pth", None)) is not None
    assert catalogue.lookup(SearchRequest("template_unet.safetensors", None)) is not None


def test_a_comfyui_without_catalogues_gives_an_empty_one(tmp_path: Path) -> None:
    assert len(KnownSources.from_comfyui(tmp_path)) == 0


def test_the_recorded_manager_model_list_reads_with_folders(tmp_path: Path) -> None:
    model_list = CORPUS / "comfyui" / "model-list.json"
    if not model_list.is_file():
        pytest.skip(f"../shared/corpus is absent: {model_list} is ComfyUI-Manager's model list")
    catalogue = KnownSources()
    assert catalogue.add_model_list(model_list) > 400
    taef1 = catalogue.lookup(SearchRequest("taef1_decoder.pth", None))
    assert taef1 is not None and taef1.folder == "vae_approx"
    assert taef1.download_url == "https://github.com/madebyollin/taesd/raw/main/taef1_decoder.pth"


def add_three_sources(catalogue: KnownSources, sha: str | None = None) -> None:
    catalogue.add_model(
        "ae.safetensors",
        "https://example.invalid/manager",
        "vae",
        sha,
        source="comfyui-manager model-list.json",
    )
    catalogue.add_model(
        "ae.safetensors", "https://example.invalid/template", "vae", sha, source="template:pkg"
    )
    catalogue.add_model(
        "ae.safetensors", "https://example.invalid/mine", "vae", sha, source="workflow mine.json"
    )


def test_three_catalogue_urls_for_one_name_are_uncertain_unless_one_file() -> None:
    catalogue = KnownSources()
    add_three_sources(catalogue)
    result = catalogue.lookup(SearchRequest("ae.safetensors", "vae"))
    assert result is not None and result.status is Status.UNCERTAIN
    assert result.download_url is None
    # Listed the user's own first, then templates, then the Manager's list.
    assert [candidate.url for candidate in result.candidates] == [
        "https://example.invalid/mine",
        "https://example.invalid/template",
        "https://example.invalid/manager",
    ]


def test_three_catalogue_urls_with_one_sha256_are_one_file_and_the_user_s_wins() -> None:
    catalogue = KnownSources()
    add_three_sources(catalogue, SHA)
    result = catalogue.lookup(SearchRequest("ae.safetensors", "vae"))
    assert result is not None and result.status is Status.FOUND
    assert result.download_url == "https://example.invalid/mine"
    assert [candidate.url for candidate in result.candidates] == [
        "https://example.invalid/template",
        "https://example.invalid/manager",
    ]


def test_a_comfyui_catalogue_merged_by_the_caller_remembers_its_root(tmp_path: Path) -> None:
    write_fake_comfyui(tmp_path / "ComfyUI")
    merged = KnownSources()
    merged.merge(KnownSources.from_comfyui(tmp_path / "ComfyUI"))
    assert (tmp_path / "ComfyUI").resolve() in merged.comfyui_roots


def test_a_model_value_that_is_a_hub_url_is_a_known_source_in_the_loader_s_folder() -> None:
    value = "https://huggingface.co/acme/flux/blob/main/split/flux-lora.safetensors"
    request = SearchRequest(value, "loras")
    assert (request.file_name, request.subfolder) == ("flux-lora.safetensors", "")
    catalogue = KnownSources()
    catalogue.add_model("flux-lora.safetensors", "https://elsewhere.invalid/other", "loras")
    result = catalogue.lookup(request)
    assert result is not None and result.status is Status.FOUND
    assert result.download_url == (
        "https://huggingface.co/acme/flux/resolve/main/split/flux-lora.safetensors"
    )
    assert (result.folder, result.subfolder, result.backend) == ("loras", "", "workflow")


def test_a_model_value_that_is_a_civitai_download_url_with_a_file_name_is_a_known_source() -> None:
    value = "https://civitai.com/api/download/models/1234/detail.safetensors"
    result = KnownSources().lookup(SearchRequest(value, "loras"))
    assert result is not None and result.status is Status.FOUND
    assert result.download_url == value


@pytest.mark.parametrize(
    "page",
    [
        "https://civitai.com/images/4242",
        "https://civitai.com/models/101?modelVersionId=1001",
        "https://huggingface.co/acme/flux",
        "https://huggingface.co/acme/flux/tree/main/split",
    ],
)
def test_an_embedded_url_that_is_a_page_not_a_file_is_never_found(page: str) -> None:
    request = SearchRequest("flux-lora.safetensors", "loras", embedded_url=page)
    assert request.source_url is None
    assert KnownSources().lookup(request) is None


def test_an_embedded_hub_page_link_to_a_file_is_found_as_its_download_link() -> None:
    page = "https://huggingface.co/acme/flux/blob/main/flux-lora.safetensors"
    result = KnownSources().lookup(SearchRequest("flux-lora.safetensors", "loras", page))
    assert result is not None and result.status is Status.FOUND
    assert result.download_url == page.replace("/blob/", "/resolve/")


def test_an_embedding_named_without_extension_gets_its_listed_file_as_a_candidate() -> None:
    catalogue = KnownSources()
    catalogue.add_model(
        "EasyNegative.safetensors", "https://example.invalid/en", "embeddings", source="w"
    )
    result = catalogue.lookup(SearchRequest("easynegative", "embeddings"))
    assert result is not None and result.status is Status.UNCERTAIN
    assert [candidate.url for candidate in result.candidates] == ["https://example.invalid/en"]
    assert "EasyNegative.safetensors" in (result.detail or "")
    assert catalogue.lookup(SearchRequest("easynegative", "loras")) is None


def test_thousands_of_same_named_entries_are_kept_once_each_and_uncertain() -> None:
    # A stranger's workflow embedding one name at 20,000 URLs: each is catalogued once
    # (a scan per entry took minutes) and the name is never FOUND by catalogue alone.
    catalogue = KnownSources()
    for repeat in range(2):
        added = [
            catalogue.add_model("x.safetensors", f"https://a.invalid/{index}/x", "loras")
            for index in range(20_000)
        ]
        assert all(added) if repeat == 0 else not any(added)
    assert len(catalogue) == 20_000
    result = catalogue.lookup(SearchRequest("x.safetensors", "loras"))
    assert result is not None and result.status is Status.UNCERTAIN
    assert len(result.candidates) == 20_000
