"""The move commands name files relative to the ComfyUI folder exactly as pathlib would,
though each model root is worked out once, not once per file."""

from __future__ import annotations

from pathlib import PurePath

from hypothesis import given
from hypothesis import strategies as st

from watchman.reporting.action import relative_to_root
from watchman.reporting.model_advice import _Relative
from watchman.stages.inventory.models import ModelFile

COMFY = PurePath("/comfy")
ROOTS = st.sampled_from(["/comfy/models/loras", "/comfy", "/comfy/", "/elsewhere/loras", "/", "/c"])
PARTS = st.sampled_from(["a", "B c", ".", "..", "", ".x", "a\\b", "c:d", "é", "comfy"])
RELATIVES = st.lists(PARTS, min_size=1, max_size=4).map("/".join)


@given(ROOTS, RELATIVES)
def test_a_model_file_is_named_as_pathlib_names_it(root: str, relative: str) -> None:
    found = ModelFile("loras", relative, root, 1, 0.0)
    assert _Relative(COMFY).model_file(found) == relative_to_root(found.full_path, COMFY)


@given(st.sampled_from(["loras", "check points"]), st.sampled_from(["", "SD15", "a/b", "../x"]))
def test_a_target_folder_is_named_as_pathlib_names_it(folder: str, subfolder: str) -> None:
    target = COMFY / "models" / folder
    if subfolder:
        target = target / subfolder
    assert _Relative(COMFY).model_folder(folder, subfolder) == relative_to_root(target, COMFY)


def test_a_file_under_the_comfyui_folder_is_named_from_there() -> None:
    found = ModelFile("loras", "SD15/x.safetensors", "/comfy/models/checkpoints", 1, 0.0)
    where = _Relative(COMFY)
    assert where.model_file(found) == "models/checkpoints/SD15/x.safetensors"
    outside = ModelFile("loras", "x.safetensors", "/mnt/models", 1, 0.0)
    assert where.model_file(outside) == "/mnt/models/x.safetensors"
