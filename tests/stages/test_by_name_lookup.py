"""Nodes that look LoRAs up by name find the same files through the inventory's name index
as by testing every file of the folder, on any folder and any value."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.model_key import fold_case, found_by_name
from watchman.stages.inventory.models import ModelFile, ModelInventory
from watchman.stages.model_reference_needs import _by_name_candidates

ROOT = "/comfy/models/loras"
_PART = st.sampled_from(["a", "A", "style", "Style", "x.y", "v1.5", "..", "b\\c"])
_EXTENSION = st.sampled_from([".safetensors", ".SafeTensors", ".pt", ".ckpt", ".bin", ".pth"])
_FILES = st.lists(
    st.tuples(st.lists(_PART, max_size=2), _PART, _EXTENSION).map(
        lambda parts: "/".join([*parts[0], parts[1] + parts[2]])
    ),
    min_size=64,  # the size from which the index is used
    max_size=70,
    unique=True,
)
_VALUES = st.tuples(
    st.sampled_from(["", "a/", "A\\", "sub/"]),
    _PART,
    st.sampled_from(["", ".safetensors", ".PT", ".zip"]),
).map("".join)


@settings(max_examples=200, deadline=None)
@given(files=_FILES, value=_VALUES, separator=st.sampled_from(["/", "\\"]))
def test_the_index_finds_what_testing_every_file_finds(
    files: list[str], value: str, separator: str
) -> None:
    if separator == "\\":
        # On Windows a backslash divides paths: no file name holds one.
        files = [path.replace("\\", "_") for path in files]
    models = tuple(ModelFile("loras", path, ROOT, 1, 0.0) for path in sorted(set(files)))
    inventory = ModelInventory(
        roots={"loras": (ROOT,)}, files={"loras": models}, separator=separator
    )
    candidates = _by_name_candidates(value, "loras", inventory)
    for wanted, path_of in (
        (value, lambda model: model.relative_path),
        (fold_case(value), lambda model: fold_case(model.relative_path)),
    ):
        every = [m for m in models if found_by_name(wanted, path_of(m), separator)]
        indexed = [m for m in candidates if found_by_name(wanted, path_of(m), separator)]
        assert indexed == every
