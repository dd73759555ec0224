"""The needs of embeddings named in prompt text (``embedding:name``), read as ComfyUI's
tokenizer and ``load_embed`` find them; see :mod:`watchman.stages.model_reference_needs`
for the rules.

A prompt token naming nothing is ``nameless`` (ComfyUI raises, or renders without it);
one ComfyUI finds is sound, or broken when a file it may load is; one it finds only in
another letter case, or only once a weight written outside parentheses is put inside
them, is misspelled; else the inventory says misplaced or missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from watchman.comfy.model_key import (
    ModelKey,
    climbing_embedding_paths,
    embedding_targets,
    fold_case,
    found_as_embedding,
)
from watchman.comfy.prompt_tokens import EmbeddingToken, weight_outside_parentheses
from watchman.comfy.workflow_model import ModelReference
from watchman.stages.inventory.models import ModelFile
from watchman.stages.needs_lookups import InventoryView
from watchman.stages.needs_model import ModelNeed

NAMELESS_RAISES = (
    "embedding: is followed by no name, and ComfyUI stops with an error (IndexError) when "
    "it encodes this text"
)
"""The problem of a prompt token naming nothing: ComfyUI's tokenizer raises on it."""
NAMELESS_SKIPPED = (
    "embedding: is followed by commas only, which name no embedding: ComfyUI skips it "
    "with a warning and renders without one"
)
"""The problem of a prompt token naming only commas: ComfyUI renders without it."""
BrokenLookup = Callable[[ModelFile], "str | None"]
"""Why an installed model file is broken (model_health), or None when it looks sound."""


def embedding_need(
    reference: ModelReference, key: ModelKey, inventory: InventoryView, broken: BrokenLookup | None
) -> ModelNeed | None:
    """The need of an embedding named in prompt text (see the module's docstring): None
    when ComfyUI's tokenizer finds a sound file, broken when a file it may load is broken,
    misspelled when it would find one only in another letter case or only once a weight
    written outside parentheses is put inside them, else what the inventory says
    (misplaced in another folder or subfolder, or missing)."""
    token = EmbeddingToken(reference.value)
    if token.names_nothing:
        return ModelNeed(reference, key, "nameless", (), problem=NAMELESS_RAISES)
    tries = token.tries
    near: tuple[ModelFile, ...] = ()
    for name in tries:
        hits, close = _embedding_files(name, inventory)
        if hits:
            return _embedding_damage(reference, key, hits, broken)
        near = near or close
    if not reference.value.strip(","):
        # embedding:, names no file: nothing to get, the prompt is to fix. (ComfyUI's
        # second try, the empty name, opens a file named after the folder or one of its
        # subfolders, e.g. embeddings/neg.pt beside embeddings/neg/: never the one meant.)
        return ModelNeed(reference, key, "nameless", (), problem=NAMELESS_SKIPPED)
    if tries[-1] != reference.value:
        # ComfyUI found nothing as written and nothing without the commas at its ends:
        # the need is for the name it tried last, the one the writer meant.
        reference = replace(reference, value=tries[-1], written_as=f"embedding:{reference.value}")
        key = ModelKey.of(key.folder, tries[-1])
    name = tries[-1]
    if near:
        spelling = _embedding_spelling(_first_target(name, inventory), near[0])
        return ModelNeed(reference, key, "misspelled", near, pick=spelling)
    weighted = weight_outside_parentheses(name)
    if weighted is not None:
        meant, weight = weighted
        hits, close = _embedding_files(meant, inventory)
        reference = replace(
            reference, written_as=reference.written_as or f"embedding:{reference.value}"
        )
        if hits or close:
            pick = meant if hits else _embedding_spelling(_first_target(meant, inventory), close[0])
            rewrite = f"(embedding:{pick}:{weight})"
            return ModelNeed(
                reference, key, "misspelled", hits or close, pick=pick, rewrite=rewrite
            )
        # Not installed either: the need is for the file the writer meant (the one to
        # get), and the prompt must still be rewritten once it is there.
        reference = replace(reference, value=meant)
        key = ModelKey.of(key.folder, meant)
        presence = inventory.locate(key)
        rewrite = f"(embedding:{meant}:{weight})"
        if presence.state == "present":
            return ModelNeed(reference, key, "missing", (), rewrite=rewrite)
        return ModelNeed(reference, key, presence.state, presence.locations, rewrite=rewrite)
    presence = inventory.locate(key)
    if presence.state == "present":
        # Only a folder of that name (no file the tokenizer would open): nothing to load.
        return ModelNeed(reference, key, "missing", ())
    return ModelNeed(reference, key, presence.state, presence.locations)


def _first_target(name: str, inventory: InventoryView) -> str:
    targets = embedding_targets(name, inventory.separator)
    return targets[0] if targets else name


def _embedding_files(
    name: str, inventory: InventoryView
) -> tuple[tuple[ModelFile, ...], tuple[ModelFile, ...]]:
    """The installed embeddings ComfyUI's ``load_embed`` finds for ``name``, and those it
    would find only in another letter case (empty when the disk ignores case, on Windows
    or a root in ``inventory.case_blind_roots``: then the first are all of them)."""
    targets = embedding_targets(name, inventory.separator)
    if not targets:
        return _climbing_embedding_files(name, inventory)
    candidates = inventory.named("embeddings", *(t.rpartition("/")[2] for t in targets))
    folded_targets = tuple(fold_case(target) for target in targets)
    near = tuple(
        f for f in candidates if found_as_embedding(folded_targets, fold_case(f.relative_path))
    )
    if inventory.separator == "\\":
        return near, ()  # a Windows disk ignores letter case
    hits = tuple(
        f
        for f in near
        if f.root in inventory.case_blind_roots or found_as_embedding(targets, f.relative_path)
    )
    return hits, (() if hits else near)


def _climbing_embedding_files(
    name: str, inventory: InventoryView
) -> tuple[tuple[ModelFile, ...], tuple[ModelFile, ...]]:
    """:func:`_embedding_files` for a name that climbs (``../a``): tried from each
    directory of each root, it finds a file only where the climb comes back into that
    directory (``model_key.climbing_embedding_paths``). Rare: every file is looked at."""
    files = inventory.folder_files("embeddings")
    directories: dict[str, set[str]] = {}
    for model in files:
        parts = model.relative_path.split("/")[:-1]
        known = directories.setdefault(model.root, {""})
        known.update("/".join(parts[: depth + 1]) for depth in range(len(parts)))
    paths = {
        root: climbing_embedding_paths(name, inventory.separator, found)
        for root, found in directories.items()
    }
    hits = tuple(model for model in files if model.relative_path in paths[model.root])
    if hits:
        return hits, ()
    folded = {root: {fold_case(path) for path in found} for root, found in paths.items()}
    near = tuple(m for m in files if fold_case(m.relative_path) in folded[m.root])
    if inventory.separator == "\\":
        return near, ()  # a Windows disk ignores letter case
    blind = tuple(m for m in near if m.root in inventory.case_blind_roots)
    return (blind, ()) if blind else ((), near)


def _embedding_damage(
    reference: ModelReference,
    key: ModelKey,
    hits: tuple[ModelFile, ...],
    broken: BrokenLookup | None,
) -> ModelNeed | None:
    """None when every embedding file ComfyUI may load (``hits``) is sound, else a broken
    need naming the first that is not."""
    # ComfyUI searches its directories in no set order: any of the hits may be loaded.
    problems = [(f, broken(f)) for f in hits] if broken is not None else []
    damaged = next(((f, problem) for f, problem in problems if problem is not None), None)
    if damaged is None:
        return None
    return ModelNeed(reference, key, "broken", (damaged[0],), problem=damaged[1])


def _embedding_spelling(name: str, model: ModelFile) -> str:
    """How the prompt must write ``name`` (normalised, ``/`` separators) to find ``model``
    (matched in another case): the file's own spelling of as many path parts as the name
    has, without the extension when the name has none."""
    parts = model.relative_path.split("/")
    written = "/".join(parts[-len(name.split("/")) :])
    stem, dot, _ = written.rpartition(".")
    if dot and fold_case(written) != fold_case(name) and fold_case(stem) == fold_case(name):
        return stem
    return written
