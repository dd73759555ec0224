"""A prompt's ``embedding:name`` is present exactly when ComfyUI's tokenizer would load it.

The oracle below does on a real folder what ComfyUI's ``load_embed`` (``comfy/sd1_clip.py``)
does: every embeddings directory and each of its subdirectories, the name joined to it
(skipped when the result leaves the directory), as written, then with ``.safetensors``,
``.pt`` or ``.bin``. The needs must call a workflow ready exactly when the oracle finds a
file, on any tree and any name Hypothesis makes up.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchman.comfy.workflow_model import ModelReference, NodeUse, ParsedWorkflow
from watchman.stages.inventory.models import ModelFile, ModelInventory
from watchman.stages.needs import assess_workflow


def _tokenizer_finds(name: str, directory: str) -> bool:
    """What ComfyUI's load_embed would find for ``name`` under ``directory``."""
    directories = {directory} | {root for root, _, _ in os.walk(directory, followlinks=True)}
    for searched in directories:
        path = os.path.abspath(os.path.join(searched, name))
        base = os.path.abspath(searched)
        try:
            if os.path.commonpath((base, path)) != base:
                continue
        except ValueError:
            continue
        if os.path.isfile(path):
            return True
        if any(os.path.isfile(path + extension) for extension in (".safetensors", ".pt", ".bin")):
            return True
    return False


def _disk_ignores_case() -> bool:
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "Case").touch()
        return Path(folder, "case").exists()


_PART = st.sampled_from(["a", "A", "neg", "Neg", "x", "X", "easy", "Easy"])
_EXTENSION = st.sampled_from([".safetensors", ".pt", ".bin", ".ckpt", ""])
_FILES = st.lists(
    st.tuples(st.lists(_PART, min_size=0, max_size=2), _PART, _EXTENSION).map(
        lambda parts: "/".join([*parts[0], parts[1] + parts[2]])
    ),
    min_size=0,
    max_size=6,
)
_NAMES = st.tuples(
    st.sampled_from(["", "./", "../", "a/../", "neg/", "Neg/", "a/neg/"]), _PART, _EXTENSION
).map("".join)


@pytest.mark.skipif(_disk_ignores_case(), reason="this disk ignores letter case, unlike Linux's")
@settings(max_examples=300, deadline=None)
@given(files=_FILES, name=_NAMES)
def test_a_prompt_embedding_is_ready_exactly_when_comfyui_would_load_it(
    files: list[str], name: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder, "embeddings")
        root.mkdir()
        kept: list[str] = []
        for relative in files:
            target = root / relative
            if any(parent.is_file() for parent in target.parents) or target.is_dir():
                continue  # a file where a folder must be: not a tree a disk can hold
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"x")
            kept.append(relative)
        folders = {
            Path(current).relative_to(root).as_posix().lower()
            for current, _, _ in os.walk(root)
            if Path(current) != root
        }
        inventory = ModelInventory(
            roots={"embeddings": (str(root),)},
            files={
                "embeddings": tuple(
                    ModelFile("embeddings", relative, str(root), 1, 0.0)
                    for relative in sorted(set(kept))
                )
            },
            separator="/",
            directories={"embeddings": frozenset(folders)},
        )
        prompt = ModelReference(
            "1", "CLIPTextEncode", "text", name, "embeddings", False, False, None
        )
        parsed = ParsedWorkflow(
            "ui",
            (NodeUse("1", "CLIPTextEncode", False, False, None, None, None),),
            (prompt,),
            (),
            frozenset(),
            (),
        )
        needs = assess_workflow(parsed, inventory, {"CLIPTextEncode"})
        assert (needs.status == "ready") == _tokenizer_finds(name, str(root)), (kept, name)
