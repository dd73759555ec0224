"""A prompt's ``embedding:name`` is present exactly when ComfyUI's tokenizer would load it.

The oracle below does on a real folder what ComfyUI's ``load_embed`` (``comfy/sd1_clip.py``)
does: every embeddings directory and each of its subdirectories, the name joined to it
(skipped when the result leaves the directory), as written, then with ``.safetensors``,
``.pt`` or ``.bin``, and again without the commas at the name's ends when that finds
nothing. The needs must call a workflow ready exactly when the oracle finds a file, on any
tree and any name Hypothesis makes up, and, from a prompt's text, exactly when it finds one
for every token ComfyUI's tokenizer reads (``tests/comfy/comfy_tokenizer_oracle.py``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.comfy.comfy_tokenizer_oracle import token_tries
from watchman.comfy.model_references import references_for_node
from watchman.comfy.workflow_model import ModelReference, NodeUse, ParsedWorkflow
from watchman.stages.inventory.models import ModelFile, ModelInventory
from watchman.stages.needs import assess_workflow


def _tokenizer_finds(name: str, directory: str) -> bool:
    """What ComfyUI's _try_get_embedding would find for ``name`` under ``directory``:
    load_embed of the name, then, when that finds nothing, of the name without the commas
    at its ends (when there were any)."""
    if _load_embed_finds(name, directory):
        return True
    stripped = name.strip(",")
    return len(stripped) < len(name) and _load_embed_finds(stripped, directory)


def _load_embed_finds(name: str, directory: str) -> bool:
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


_PART = st.sampled_from(["a", "A", "neg", "Neg", "x", "X", "easy", "Easy", "x,"])
_EXTENSION = st.sampled_from([".safetensors", ".pt", ".bin", ".ckpt", ""])
_FILES = st.lists(
    st.tuples(st.lists(_PART, min_size=0, max_size=2), _PART, _EXTENSION).map(
        lambda parts: "/".join([*parts[0], parts[1] + parts[2]])
    ),
    min_size=0,
    max_size=6,
)
_NAMES = st.tuples(
    st.sampled_from(["", "./", "../", "a/../", "neg/", "Neg/", "a/neg/", ","]),
    _PART,
    _EXTENSION,
    st.sampled_from(["", ",", ",,"]),
).map("".join)


def _installed(root: Path, files: list[str]) -> ModelInventory:
    """Writes ``files`` under ``root`` (those a disk can hold) and returns their inventory."""
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
    return ModelInventory(
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


@contextmanager
def _embeddings_folder(files: list[str]) -> Iterator[tuple[Path, ModelInventory]]:
    """A real embeddings folder holding ``files``, and its inventory."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder, "embeddings")
        root.mkdir()
        yield root, _installed(root, files)


def _prompt_workflow(references: tuple[ModelReference, ...]) -> ParsedWorkflow:
    node = NodeUse("1", "CLIPTextEncode", False, False, None, None, None)
    return ParsedWorkflow("ui", (node,), references, (), frozenset(), ())


@pytest.mark.skipif(_disk_ignores_case(), reason="this disk ignores letter case, unlike Linux's")
@settings(max_examples=300, deadline=None)
@given(files=_FILES, name=_NAMES)
# Found by this test: from the subdirectory a, ../a is a itself (inside it, so not
# skipped), and load_embed then adds .safetensors: a.safetensors beside it is loaded.
@example(files=["a.safetensors", "a/a.safetensors"], name="../a")
@example(files=["x/A.pt"], name="../x")
def test_a_prompt_embedding_is_ready_exactly_when_comfyui_would_load_it(
    files: list[str], name: str
) -> None:
    with _embeddings_folder(files) as (root, inventory):
        prompt = ModelReference(
            "1", "CLIPTextEncode", "text", name, "embeddings", False, False, None
        )
        needs = assess_workflow(_prompt_workflow((prompt,)), inventory, {"CLIPTextEncode"})
        assert (needs.status == "ready") == _tokenizer_finds(name, str(root)), (files, name)


_PROMPT_PIECES = st.sampled_from(
    [" embedding:", "embedding:", "\nembedding:", "(", ")", ":1.2", ":x", ",", " ", "\\("]
)
_PROMPTS = st.lists(st.one_of(_PROMPT_PIECES, _NAMES), max_size=10).map("".join)


@pytest.mark.skipif(_disk_ignores_case(), reason="this disk ignores letter case, unlike Linux's")
@settings(max_examples=300, deadline=None)
@given(files=_FILES, text=_PROMPTS)
def test_a_prompt_is_ready_exactly_when_comfyui_loads_every_embedding_it_names(
    files: list[str], text: str
) -> None:
    # From the text as written to the status: the reader, then the needs, against
    # ComfyUI's tokenizer step by step and load_embed on a real folder.
    with _embeddings_folder(files) as (root, inventory):
        references = tuple(
            reference
            for reference in references_for_node(
                "1", "CLIPTextEncode", [("text", text)], False, False
            )
            if reference.folder == "embeddings"  # not a text that looks like a file name
        )
        needs = assess_workflow(_prompt_workflow(references), inventory, {"CLIPTextEncode"})
        # A token followed by no word tries nothing (ComfyUI raises): never loaded.
        loads_all = all(
            any(_load_embed_finds(name, str(root)) for name in tries) for tries in token_tries(text)
        )
        assert (needs.status == "ready") == loads_all, (files, text)
