"""Folder evidence: which folder types are one place for ComfyUI, and when a source's
claim contradicts the loader's folder."""

from __future__ import annotations

import pytest

from watchman.resolve.evidence import FolderClaim, contradiction, same_folder


@pytest.mark.parametrize(
    ("loader_folder", "claimed"),
    [
        ("unet_gguf", "diffusion_models"),
        ("clip_gguf", "text_encoders"),
        ("vae_gguf", "vae"),
        ("encoder_gguf", "audio_encoders"),
        ("model_gguf", "diffusion_models"),  # re-lists unet_gguf's files
        ("unet", "diffusion_models"),  # a legacy name
        ("clip", "text_encoders"),
        ("t2i_adapter", "controlnet"),
    ],
)
def test_folder_types_over_the_same_directories_are_one_folder(
    loader_folder: str, claimed: str
) -> None:
    assert same_folder(loader_folder, claimed)
    assert same_folder(claimed, loader_folder)
    assert (
        contradiction(FolderClaim(frozenset({claimed}), origin="Civitai"), loader_folder, "")
        is None
    )


@pytest.mark.parametrize(
    ("loader_folder", "claimed"),
    [("vae_gguf", "loras"), ("encoder_gguf", "vae"), ("unet_gguf", "text_encoders")],
)
def test_a_claim_for_another_folder_is_a_contradiction_with_a_reason(
    loader_folder: str, claimed: str
) -> None:
    reason = contradiction(FolderClaim(frozenset({claimed}), origin="Civitai"), loader_folder, "")
    assert reason == f"Civitai puts it in {claimed}, the loader reads {loader_folder}"
